"""Benchmark 3 (and 7 on PostgreSQL): ingest of the population CSV with full validation,
against ``sqlite-utils insert --csv`` and raw executemany (SQLite) or raw COPY (PostgreSQL).
On SQLite every contender runs ``ROUNDS`` times, in turn (``measure.in_turn``); on
PostgreSQL each runs once (a second govshare load would need a second copy of the bench
database, which PostgreSQL makes only from a database nobody is connected to)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from bench import data
from bench.config import ROOT, Config
from bench.measure import ContenderFailed, Measured, in_turn, measured
from bench.platform_setup import BenchPlatform, pg_admin
from bench.results import Report, Row
from govshare.aggregation.loading import SQLITE_LOAD_CACHE_KIB
from govshare.aggregation.pools import active_pool

CODES = ",".join(data.ITEM_CODES)  # the raw loads' columns


def pool_table(bp: BenchPlatform) -> str:
    with bp.platform.db.read() as conn:
        pool = active_pool(conn, bp.resource_id)
    if pool is None:
        raise RuntimeError("the bench resource has no pool: the govshare ingest did not run")
    return pool.table_name


def _checkpoint(cfg: Config, bp: BenchPlatform) -> None:
    """Start every PostgreSQL contender from the same state: nothing dirty to flush."""
    if bp.backend == "postgresql" and cfg.pg_admin_url:
        with pg_admin(cfg.pg_admin_url) as conn:
            conn.execute("CHECKPOINT")


def run(cfg: Config, bp: BenchPlatform, report: Report) -> None:
    n = cfg.sizes.rows
    csv_path = cfg.csv_path
    label = "SQLite" if bp.backend == "sqlite" else "PostgreSQL"
    name = f"ingest {n:,}-row CSV, full validation ({label})"
    details: dict[str, object] = {}
    report.details[f"ingest_{bp.backend}"] = details
    py = str(cfg.python)

    def ingest(url: str) -> Measured:
        m = measured(
            [
                *(py, "-m", "bench.worker", "ingest-govshare", "--url", url),
                *("--resource-id", bp.resource_id, "--user", bp.loader_username),
                *("--csv", str(csv_path)),
            ],
            env={
                "GOVSHARE_DATABASE_URL": url,
                "GOVSHARE_VAR_DIR": str(bp.settings.var_dir),
                "GOVSHARE_LOG_LEVEL": "WARNING",
            },
            cwd=ROOT,
        )
        loaded, rejected = int(m.result["rows_loaded"]), int(m.result["rows_rejected"])
        if loaded != data.valid_rows(n) or rejected != n - data.valid_rows(n):
            raise RuntimeError(
                f"govshare ingest loaded {loaded} rows, expected {data.valid_rows(n)}"
            )
        return m

    if bp.backend == "sqlite":
        _sqlite(cfg, bp, report, name, details, ingest)
        return
    _checkpoint(cfg, bp)
    gov = ingest(bp.url)
    gov_rate = n / gov.seconds
    details["govshare"] = gov.details()
    table = pool_table(bp)
    _checkpoint(cfg, bp)
    try:
        raw = measured(
            [
                py,
                "-m",
                "bench.worker",
                "ingest-raw-copy",
                "--url",
                bp.url,
                "--table",
                table,
                "--codes",
                CODES,
                "--csv",
                str(csv_path),
            ],
            cwd=ROOT,
        )
    except ContenderFailed as exc:
        report.add(
            Row(
                name, "rows/s", gov_rate, "raw COPY, no validation", None, 0.4, why_missing=str(exc)
            )
        )
        return
    details["raw_copy"] = raw.details()
    report.add(Row(name, "rows/s", gov_rate, "raw COPY, no validation", n / raw.seconds, 0.4))


ROUNDS = 2  # SQLite: runs of each contender, taken in turn (``measure.in_turn``)


def _sqlite(
    cfg: Config,
    bp: BenchPlatform,
    report: Report,
    name: str,
    details: dict[str, object],
    ingest: Callable[[str], Measured],
) -> None:
    """On SQLite every contender runs ``ROUNDS`` times, in turn. govshare's first run loads
    the bench database (which the lookup and export benchmarks then read; the raw load
    takes its pool's DDL from it), each later one a copy of the bench database taken
    before any load (SQLite's backup API)."""
    n = cfg.sizes.rows
    py = str(cfg.python)
    work = cfg.run_dir / "ingest-sqlite"
    work.mkdir(parents=True, exist_ok=True)
    spare = work / "govshare-before-load.db"
    _remove_db(spare)
    with closing(sqlite3.connect(bp.sqlite_path)) as src, closing(sqlite3.connect(spare)) as dst:
        src.backup(dst)

    def govshare(r: int) -> Measured:
        if r == 0:
            return ingest(bp.url)
        copy = spare.with_name(f"govshare-round-{r}.db")
        _remove_db(copy)
        shutil.copyfile(spare, copy)
        try:
            return ingest(f"sqlite:///{copy}")
        finally:
            _remove_db(copy)

    def sqlite_utils(_r: int) -> Measured:
        target = work / "sqlite-utils-ingest.db"
        _remove_db(target)
        return measured([str(su), "insert", str(target), "people", str(cfg.csv_path), "--csv"])

    def raw(_r: int) -> Measured:
        table = pool_table(bp)
        raw_db = work / "raw-executemany.db"
        _remove_db(raw_db)
        return measured(
            [
                *(py, "-m", "bench.worker", "ingest-raw-sqlite", "--db", str(raw_db)),
                *("--ddl-from", str(bp.sqlite_path), "--table", table, "--codes", CODES),
                *("--csv", str(cfg.csv_path), "--cache-kib", str(SQLITE_LOAD_CACHE_KIB)),
            ],
            cwd=ROOT,
        )

    runs: dict[str, Callable[[int], Measured]] = {"govshare": govshare}
    su = cfg.peer("sqlite-utils")
    if su is not None:
        runs["sqlite-utils"] = sqlite_utils
    runs["raw"] = raw  # after govshare's first run: its DDL is the pool's, made by the load
    try:
        measures = in_turn(runs, ROUNDS)
    finally:
        _remove_db(spare)
    for who, m in measures.items():
        if isinstance(m, str):
            raise ContenderFailed(f"{who}: {m}")
    gov, raw_m = measures["govshare"], measures["raw"]
    assert isinstance(gov, Measured) and isinstance(raw_m, Measured)
    gov_rate = n / gov.seconds
    details["govshare"] = gov.details()
    su_m = measures.get("sqlite-utils")
    su_rate = None
    if isinstance(su_m, Measured):
        su_rate = n / su_m.seconds
        details["sqlite-utils"] = su_m.details()
    why = "sqlite-utils is not installed (run bench/run, or --no-peers was given)"
    report.add(
        Row(name, "rows/s", gov_rate, "sqlite-utils insert --csv", su_rate, 5.0, why_missing=why)
    )
    details["raw_executemany"] = raw_m.details()
    report.add(
        Row(name, "rows/s", gov_rate, "raw executemany, no validation", n / raw_m.seconds, 0.4)
    )


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        (path.parent / (path.name + suffix)).unlink(missing_ok=True)
