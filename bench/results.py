"""One row per comparison, the printed table and the JSON files.

``bench/results/latest.json`` has exactly the shape of issue 7::

    {"machine": str, "when": ISO time,
     "benchmarks": [{"name", "unit", "value", "baseline", "baseline_value",
                     "ratio", "target_ratio", "met"}]}

``ratio`` is stated so that above 1 is better: value / baseline for throughput,
baseline / value for times and latencies. A figure the issue asks to be reported without a
target has ``target_ratio`` 0 (``met`` is then true). A contender that could not run has
``value`` and ``ratio`` null and ``met`` false, never a made-up number; the timestamped file
says why in ``notes``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROW_KEYS = (
    "name",
    "unit",
    "value",
    "baseline",
    "baseline_value",
    "ratio",
    "target_ratio",
    "met",
)


@dataclass
class Row:
    name: str
    unit: str
    value: float | None
    baseline: str
    baseline_value: float | None
    target_ratio: float  # 0: reported without a target
    higher_is_better: bool = True
    why_missing: str = ""

    @property
    def ratio(self) -> float | None:
        v, b = self.value, self.baseline_value
        if v is None or b is None or v <= 0 or b <= 0:
            return None
        return v / b if self.higher_is_better else b / v

    @property
    def met(self) -> bool:
        ratio = self.ratio
        if self.target_ratio == 0:
            return ratio is not None
        return ratio is not None and ratio >= self.target_ratio

    def as_json(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "name": self.name,
            "unit": self.unit,
            "value": _num(self.value),
            "baseline": self.baseline,
            "baseline_value": _num(self.baseline_value),
            "ratio": None if ratio is None else round(ratio, 3),
            "target_ratio": self.target_ratio,
            "met": self.met,
        }


def _num(v: float | None) -> float | None:
    if v is None or math.isnan(v):
        return None
    return round(float(v), 3)


@dataclass
class Report:
    machine: str
    machine_info: dict[str, Any]
    config: dict[str, Any]
    when: datetime = field(default_factory=lambda: datetime.now(UTC))
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    on_row: Callable[[Row], None] | None = None

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        if self.on_row is not None:
            self.on_row(row)
        if (row.value is None or row.baseline_value is None) and row.why_missing:
            note = f"{row.name}: not available ({row.why_missing})"
            if note not in self.notes:
                self.notes.append(note)
        return row

    def latest(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "when": self.when.isoformat(timespec="seconds"),
            "benchmarks": [r.as_json() for r in self.rows],
        }

    def full(self) -> dict[str, Any]:
        return {
            **self.latest(),
            "machine_info": self.machine_info,
            "config": self.config,
            "notes": self.notes,
            "details": self.details,
        }

    def write(self, results_dir: Path, *, latest: bool = True) -> Path:
        results_dir.mkdir(parents=True, exist_ok=True)
        stamp = self.when.strftime("%Y%m%dT%H%M%SZ")
        path = results_dir / f"{stamp}.json"
        path.write_text(json.dumps(self.full(), ensure_ascii=False, indent=2) + "\n", "utf-8")
        if latest:
            data = self.latest()
            check_shape(data)
            (results_dir / "latest.json").write_text(
                json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8"
            )
        return path


def check_shape(data: Any) -> None:
    """Raise ValueError unless ``data`` has exactly the shape of latest.json."""
    if not isinstance(data, dict) or set(data) != {"machine", "when", "benchmarks"}:
        raise ValueError("latest.json must have exactly machine, when and benchmarks")
    if not isinstance(data["machine"], str) or not data["machine"]:
        raise ValueError("machine must be a non-empty string")
    datetime.fromisoformat(data["when"])
    if not isinstance(data["benchmarks"], list):
        raise ValueError("benchmarks must be a list")
    for row in data["benchmarks"]:
        if not isinstance(row, dict) or tuple(row) != ROW_KEYS:
            raise ValueError(f"a benchmark row must have exactly the keys {ROW_KEYS}: {row}")
        for key in ("name", "unit", "baseline"):
            if not isinstance(row[key], str) or not row[key]:
                raise ValueError(f"{key} must be a non-empty string: {row}")
        for key in ("value", "baseline_value", "ratio"):
            if row[key] is not None and not isinstance(row[key], int | float):
                raise ValueError(f"{key} must be a number (or null when not available): {row}")
        if not isinstance(row["target_ratio"], int | float) or isinstance(
            row["target_ratio"], bool
        ):
            raise ValueError(f"target_ratio must be a number: {row}")
        if not isinstance(row["met"], bool):
            raise ValueError(f"met must be a boolean: {row}")
        if row["value"] is None and (row["ratio"] is not None or row["met"]):
            raise ValueError(f"a row without a value has no ratio and is not met: {row}")


def _fmt(v: float | None) -> str:
    if v is None:
        return "n/a"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.1f}"
    return f"{v:.3g}"


def table(rows: list[Row]) -> str:
    """A Markdown table (printed, and pasted into docs/performance.md)."""
    out = [
        "| benchmark | value | unit | baseline | baseline value | ratio | target | met |",
        "|---|---:|---|---|---:|---:|---:|:---:|",
    ]
    for r in rows:
        ratio = r.ratio
        target = f"≥ {r.target_ratio:g}" if r.target_ratio else "—"
        if ratio is None:
            met = "n/a"
        elif not r.target_ratio:
            met = "—"
        else:
            met = "yes" if r.met else "**no**"
        out.append(
            f"| {r.name} | {_fmt(r.value)} | {r.unit} | {r.baseline} | "
            f"{_fmt(r.baseline_value)} | {'n/a' if ratio is None else f'{ratio:.2f}'} | "
            f"{target} | {met} |"
        )
    return "\n".join(out)
