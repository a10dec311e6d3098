"""Benchmark 3 (and 7 on PostgreSQL): ingest of the population CSV with full validation,
against ``sqlite-utils insert --csv`` and raw executemany (SQLite) or raw COPY (PostgreSQL)."""

from __future__ import annotations

from bench import data
from bench.config import ROOT, Config
from bench.measure import ContenderFailed, measured
from bench.platform_setup import BenchPlatform, pg_admin
from bench.results import Report, Row
from govshare.aggregation.loading import SQLITE_LOAD_CACHE_KIB
from govshare.aggregation.pools import active_pool


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
    env = {
        "GOVSHARE_DATABASE_URL": bp.url,
        "GOVSHARE_VAR_DIR": str(bp.settings.var_dir),
        "GOVSHARE_LOG_LEVEL": "WARNING",
    }
    _checkpoint(cfg, bp)
    gov = measured(
        [
            py,
            "-m",
            "bench.worker",
            "ingest-govshare",
            "--url",
            bp.url,
            "--resource-id",
            bp.resource_id,
            "--user",
            bp.loader_username,
            "--csv",
            str(csv_path),
        ],
        env=env,
        cwd=ROOT,
    )
    loaded = int(gov.result["rows_loaded"])
    if loaded != data.valid_rows(n) or int(gov.result["rows_rejected"]) != n - data.valid_rows(n):
        raise RuntimeError(f"govshare ingest loaded {loaded} rows, expected {data.valid_rows(n)}")
    gov_rate = n / gov.seconds
    details["govshare"] = {"seconds": gov.seconds, "peak_rss_mb": gov.peak_rss_mb, **gov.result}
    table = pool_table(bp)
    codes = ",".join(data.ITEM_CODES)

    if bp.backend == "sqlite":
        su = cfg.peer("sqlite-utils")
        su_rate: float | None = None
        why = "sqlite-utils is not installed (run bench/run, or --no-peers was given)"
        if su is not None:
            target = cfg.run_dir / "sqlite-utils-ingest.db"
            target.unlink(missing_ok=True)
            m = measured([str(su), "insert", str(target), "people", str(csv_path), "--csv"])
            su_rate = n / m.seconds
            details["sqlite-utils"] = {"seconds": m.seconds, "peak_rss_mb": m.peak_rss_mb}
        report.add(
            Row(
                name, "rows/s", gov_rate, "sqlite-utils insert --csv", su_rate, 5.0, why_missing=why
            )
        )
        raw_db = cfg.run_dir / "raw-executemany.db"
        for suffix in ("", "-wal", "-shm"):
            (raw_db.parent / (raw_db.name + suffix)).unlink(missing_ok=True)
        raw = measured(
            [
                py,
                "-m",
                "bench.worker",
                "ingest-raw-sqlite",
                "--db",
                str(raw_db),
                "--ddl-from",
                str(bp.sqlite_path),
                "--table",
                table,
                "--codes",
                codes,
                "--csv",
                str(csv_path),
                "--cache-kib",
                str(SQLITE_LOAD_CACHE_KIB),
            ],
            cwd=ROOT,
        )
        details["raw_executemany"] = {"seconds": raw.seconds, "peak_rss_mb": raw.peak_rss_mb}
        report.add(
            Row(name, "rows/s", gov_rate, "raw executemany, no validation", n / raw.seconds, 0.4)
        )
        return
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
                codes,
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
    details["raw_copy"] = {"seconds": raw.seconds, "peak_rss_mb": raw.peak_rss_mb}
    report.add(Row(name, "rows/s", gov_rate, "raw COPY, no validation", n / raw.seconds, 0.4))
