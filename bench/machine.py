"""A description of the machine the numbers were taken on."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1 << 20)
    except OSError:
        pass
    return 0.0


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return ""
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def describe(
    *, pg_version: str = "", pg_settings: dict[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    cores = os.cpu_count() or 0
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": cores,
        "memory_gib": round(_memory_gib(), 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "postgresql_settings": pg_settings or {},
        "wrk": _version(["wrk", "--version"]),
        "hostname": platform.node(),
    }
    text = (
        f"{info['cpu']}, {cores} cores, {info['memory_gib']} GiB RAM, {info['os']}, "
        f"Python {info['python']}, SQLite {info['sqlite']}"
        + (f", {pg_version.split(' on ')[0]}" if pg_version else "")
    )
    return text, info
