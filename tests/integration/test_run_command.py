"""The README's first command really serves the platform (embedded SQLite, demo city)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx2 as httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.req("SQ-11", "NX-35")
def test_bin_run_serves_the_demo_city(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVSHARE_")}
    env.update(GOVSHARE_VAR_DIR=str(tmp_path / "var"), PORT=str(port))
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / "bin" / "run")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 180
            while True:
                assert proc.poll() is None, log.read_text(errors="replace")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.5)
            page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
            assert "登录" in page.text
            printed = log.read_text(errors="replace")
            assert "admin" in printed and "Demo-Pass-2026" in printed  # the demo logins
            assert (tmp_path / "var" / "govshare.db").exists()  # embedded SQLite by default
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
