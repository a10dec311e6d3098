"""Benchmark 4 (and 7 on PostgreSQL): masked batch export of the pool to CSV against
``sqlite-utils rows --csv`` and a raw Python csv export (SQLite) or raw ``COPY … TO``
(PostgreSQL), with the peak RSS of each process. Every contender runs ``ROUNDS`` times, in
turn (``measure.in_turn``)."""

from __future__ import annotations

from collections.abc import Callable

from bench import data, governed
from bench.config import ROOT, Config
from bench.measure import ContenderFailed, Measured, in_turn, measured
from bench.platform_setup import BenchPlatform
from bench.results import Report, Row
from bench.suite_ingest import pool_table

RSS_LIMIT_MB = 200.0
ROUNDS = 3  # runs of each contender, taken in turn (``measure.in_turn``)


def run(cfg: Config, bp: BenchPlatform, report: Report) -> None:
    n = data.valid_rows(cfg.sizes.rows)
    label = "SQLite" if bp.backend == "sqlite" else "PostgreSQL"
    table = pool_table(bp)
    codes = ",".join(data.ITEM_CODES)
    out_dir = cfg.run_dir / f"export-{bp.backend}"
    out_dir.mkdir(parents=True, exist_ok=True)
    details: dict[str, object] = {}
    report.details[f"export_{bp.backend}"] = details
    py = str(cfg.python)

    def note(who: str, m: Measured) -> float:
        details[who] = m.details()
        return n / m.seconds

    runs: dict[str, Callable[[int], Measured]] = {}
    why = ""
    target = governed.export_command(cfg, bp, table)
    if isinstance(target, str):
        why = target
    else:
        runs["govshare"] = lambda _r: measured(target, cwd=ROOT)
    su = cfg.peer("sqlite-utils") if bp.backend == "sqlite" else None
    if su is not None:
        cols = [a for c in data.ITEM_CODES for a in ("-c", c)]
        runs["sqlite-utils"] = lambda _r: measured(
            [str(su), "rows", str(bp.sqlite_path), table, *cols, "--csv"],
            stdout_path=out_dir / "sqlite-utils.csv",
        )
    if bp.backend == "sqlite":
        raw_cmd = [
            *(py, "-m", "bench.worker", "export-raw-sqlite", "--db", str(bp.sqlite_path)),
            *("--table", table, "--codes", codes, "--out", str(out_dir / "raw.csv")),
        ]
        baseline = "raw Python csv export"
    else:
        raw_cmd = [
            *(py, "-m", "bench.worker", "export-raw-copy", "--url", bp.url),
            *("--table", table, "--codes", codes, "--out", str(out_dir / "raw.csv")),
        ]
        baseline = "raw COPY … TO STDOUT (csv)"
    runs["raw"] = lambda _r: measured(raw_cmd, cwd=ROOT)
    measures = in_turn(runs, ROUNDS)
    gov = measures.get("govshare")
    if isinstance(gov, str):
        why, gov = gov, None
    gov_rate = note("govshare", gov) if gov else None
    name = f"masked CSV export of {n:,} rows ({label})"

    if bp.backend == "sqlite":
        su_rate: float | None = None
        su_why = "sqlite-utils is not installed (run bench/run, or --no-peers was given)"
        su_m = measures.get("sqlite-utils")
        if isinstance(su_m, str):
            raise ContenderFailed(su_m)
        if su_m is not None:
            su_rate = note("sqlite-utils", su_m)
        report.add(
            Row(
                name,
                "rows/s",
                gov_rate,
                "sqlite-utils rows --csv",
                su_rate,
                1.0,
                why_missing=why or su_why,
            )
        )
    raw = measures["raw"]
    if isinstance(raw, str):
        raise ContenderFailed(raw)
    raw_rate = note("raw", raw)
    if int(raw.result.get("rows", n)) != n:
        raise RuntimeError(f"the raw export wrote {raw.result.get('rows')} rows, expected {n}")
    report.add(Row(name, "rows/s", gov_rate, baseline, raw_rate, 0.5, why_missing=why))
    report.add(
        Row(
            f"masked CSV export peak RSS ({label})",
            "MB",
            gov.peak_rss_mb if gov else None,
            "limit 200 MB",
            RSS_LIMIT_MB,
            1.0,
            higher_is_better=False,
            why_missing=why,
        )
    )
