"""What a run measures and where it keeps its files."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SEED = 20260707  # every generated value derives from it


@dataclass(frozen=True)
class Sizes:
    rows: int  # population rows in the CSV (ingest, lookup, export)
    entries: int  # generated catalog entries (search)
    queries: int  # Chinese search queries
    keys: int  # distinct keys the HTTP load generator cycles through
    connections: int  # load generator connections (wrk -c), one thread (wrk -t1)
    duration: float  # seconds measured per HTTP contender
    warmup: float  # seconds of load before that, not measured
    search_passes: int  # measured passes over the queries (after a short warm-up)
    audit_entries: int  # chain length the verification benchmark reads
    audit_seconds: float  # how long the concurrent writers append
    writers: int  # concurrent audit writers


FULL = Sizes(
    rows=1_000_000,
    entries=100_000,
    queries=200,
    keys=20_000,
    connections=16,
    duration=20.0,
    warmup=5.0,
    search_passes=1,
    audit_entries=200_000,
    audit_seconds=10.0,
    writers=16,
)
# The CI smoke run: the same code paths on tiny data, a few seconds per suite.
QUICK = Sizes(
    rows=10_000,
    entries=500,
    queries=20,
    keys=4_000,  # verification allows 10 calls per subject and day (guard)
    connections=16,
    duration=1.0,
    warmup=0.3,
    search_passes=1,
    audit_entries=2_000,
    audit_seconds=1.0,
    writers=16,
)

SUITES = ("ingest", "lookup", "export", "search", "audit")
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Config:
    sizes: Sizes
    work_dir: Path
    results_dir: Path
    python: Path = field(default_factory=lambda: Path(sys.executable))
    peers_bin: Path | None = None  # bench/.venv-peers/bin, None: peers are not measured
    loadgen: str = "wrk"  # wrk | python
    pg_admin_url: str | None = None  # a PostgreSQL to create the bench database in
    suites: tuple[str, ...] = SUITES
    backends: tuple[str, ...] = BACKENDS
    quick: bool = False
    write_latest: bool = True

    @property
    def csv_path(self) -> Path:
        return self.work_dir / f"population-{self.sizes.rows}-{SEED}.csv"

    @property
    def run_dir(self) -> Path:
        """What one run writes besides the shared, cached data files: its databases, logs
        and outputs (per process, so that two runs on one machine never collide; removed
        at the end of the run)."""
        return self.work_dir / f"run-{os.getpid()}"

    @property
    def pg_database(self) -> str:
        return f"govshare_bench_{os.getpid()}"

    def var_dir(self, backend: str) -> Path:
        return self.run_dir / f"var-{backend}"

    def peer(self, name: str) -> Path | None:
        if self.peers_bin is None:
            return None
        path = self.peers_bin / name
        return path if path.exists() else None

    def with_sizes(self, **changes: Any) -> Config:
        return replace(self, sizes=replace(self.sizes, **changes))


def wrk_path() -> str | None:
    return shutil.which("wrk")
