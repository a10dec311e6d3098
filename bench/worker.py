"""Contenders that run as a process of their own, so that each starts cold and its peak RSS
is its own (``python -m bench.worker KIND ...``; prints one JSON line).

- ``ingest-govshare``: the real upload path, ``aggregation.ingest.ingest_file`` (encoding
  detection, header mapping, every cell validated, 身份证 check characters, quarantine,
  one atomic batch, lineage, audit), acting as the provider's cataloguer.
- ``ingest-raw-sqlite``: ``executemany`` of the CSV's rows, unvalidated, into an empty copy
  of the pool table (same DDL, same indexes, same pragmas, the load's page cache included)
  in one transaction.
- ``ingest-raw-copy``: PostgreSQL ``COPY … FROM STDIN (FORMAT csv)`` of the file into an empty
  copy of the pool table.
- ``export-raw-sqlite``: the pool's columns through ``csv.writer`` from a sqlite3 cursor.
- ``export-raw-copy``: PostgreSQL ``COPY (SELECT …) TO STDOUT (FORMAT csv)`` into a file.
- ``export-govshare``: the real batch exchange, ``delivery.export``: the client system's
  request (authorised, audited, receipted) and the job run inline (re-authorised, the pool
  streamed with a server-side cursor, every row masked by the grant's plan, CSV written,
  SHA-256, signed manifest, audited and receipted).
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.measure import vm_hwm_kib

SYSTEM_COLUMNS = ("_seq", "_batch_id", "_updated_batch_id", "_loaded_at", "_deleted")


def ingest_govshare(args: argparse.Namespace) -> dict[str, object]:
    from govshare.aggregation.ingest import ingest_file
    from govshare.identity import queries as identity_queries
    from govshare.storage.engine import Database

    db = Database(args.url)
    with db.read() as conn:
        user = identity_queries.user_by_username(conn, args.user)
        actor = identity_queries.actor_for_user(conn, user.id) if user else None
    assert actor is not None
    result = ingest_file(db, args.resource_id, Path(args.csv), actor=actor)
    db.dispose()
    b = result.batch
    return {
        "rows_total": b.rows_total,
        "rows_loaded": b.rows_loaded,
        "rows_rejected": b.rows_rejected,
        "batch_id": b.id,
    }


def ingest_raw_sqlite(args: argparse.Namespace) -> dict[str, object]:
    src = sqlite3.connect(args.ddl_from)
    ddl = [
        str(r[0]).replace(args.table, "raw_load")
        for r in src.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
            "ORDER BY type DESC",
            (args.table,),
        )
    ]
    src.close()
    conn = sqlite3.connect(args.db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    if args.cache_kib:  # the page cache govshare's load runs with: the same pragmas
        conn.execute(f"PRAGMA cache_size=-{int(args.cache_kib)}")
    for stmt in ddl:
        conn.execute(stmt)
    codes = args.codes.split(",")
    cols = [*codes, *SYSTEM_COLUMNS]
    sql = f"INSERT INTO raw_load ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"  # noqa: S608
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    n = 0
    with Path(args.csv).open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)

        def rows() -> object:
            nonlocal n
            for r in reader:
                n += 1
                yield (*r, n, "raw", "raw", now, 0)

        conn.execute("BEGIN")
        conn.executemany(sql, rows())  # type: ignore[arg-type]
        conn.execute("COMMIT")
    conn.close()
    return {"rows_loaded": n}


def ingest_raw_copy(args: argparse.Namespace) -> dict[str, object]:
    import psycopg

    codes = args.codes.split(",")
    with psycopg.connect(args.url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS raw_copy")
        conn.execute(
            f"CREATE TABLE raw_copy (LIKE {args.table} INCLUDING DEFAULTS INCLUDING INDEXES)"
        )
        for col, default in zip(
            SYSTEM_COLUMNS, ("0", "'raw'", "'raw'", "now()", "false"), strict=True
        ):
            conn.execute(f"ALTER TABLE raw_copy ALTER COLUMN {col} SET DEFAULT {default}")
        with conn.transaction(), conn.cursor() as cur:
            sql = f"COPY raw_copy ({', '.join(codes)}) FROM STDIN (FORMAT csv, HEADER true)"
            with cur.copy(sql) as copy, Path(args.csv).open("rb") as fh:
                while block := fh.read(1 << 20):
                    copy.write(block)
        n = conn.execute("SELECT count(*) FROM raw_copy").fetchone()
    return {"rows_loaded": int(n[0]) if n else 0}


def export_raw_sqlite(args: argparse.Namespace) -> dict[str, object]:
    codes = args.codes.split(",")
    conn = sqlite3.connect(args.db)
    cur = conn.execute(
        f"SELECT {', '.join(codes)} FROM {args.table} WHERE _deleted = 0 ORDER BY _row_id"  # noqa: S608
    )
    n = 0
    with Path(args.out).open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(codes)
        while batch := cur.fetchmany(5000):
            w.writerows(batch)
            n += len(batch)
    conn.close()
    return {"rows": n}


def export_raw_copy(args: argparse.Namespace) -> dict[str, object]:
    import psycopg

    codes = ", ".join(args.codes.split(","))
    sql = (
        f"COPY (SELECT {codes} FROM {args.table} WHERE NOT _deleted ORDER BY _row_id) "  # noqa: S608
        "TO STDOUT (FORMAT csv, HEADER true)"
    )
    size = lines = 0
    with (
        psycopg.connect(args.url.replace("+psycopg", "")) as conn,
        conn.cursor() as cur,
        cur.copy(sql) as copy,
        Path(args.out).open("wb") as fh,
    ):
        for block in copy:
            fh.write(block)
            size += len(block)
            lines += bytes(block).count(b"\n")
    return {"rows": lines - 1, "bytes": size}


def export_govshare(args: argparse.Namespace) -> dict[str, object]:
    from govshare.config import Settings
    from govshare.delivery.export import request_export, run_export
    from govshare.delivery.model import CallHeaders
    from govshare.identity import queries as identity_queries
    from govshare.platform import Platform

    platform = Platform.open(
        Settings(var_dir=Path(args.var_dir), database_url=args.url, checkpoint_interval_seconds=0)
    )
    with platform.db.read() as conn:
        actor = identity_queries.client_actor(conn, args.client_id)
    assert actor is not None
    requested = request_export(
        platform,
        args.grant_id,
        fmt="csv",
        encoding=None,
        items=None,
        call=CallHeaders("administrative_basis", "周人社", "RS-2026-000123"),
        actor=actor,
        enqueue=lambda _job_id: None,
    )
    job = run_export(platform, requested.job.id)
    platform.close()
    if job.state.value != "done":
        raise RuntimeError(f"the export job ended {job.state.value}: {job.error_code} {job.error}")
    return {"rows": job.rows, "bytes": job.size, "format": job.format.value}


KINDS = {
    "ingest-govshare": ingest_govshare,
    "ingest-raw-sqlite": ingest_raw_sqlite,
    "ingest-raw-copy": ingest_raw_copy,
    "export-raw-sqlite": export_raw_sqlite,
    "export-raw-copy": export_raw_copy,
    "export-govshare": export_govshare,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.worker")
    p.add_argument("kind", choices=sorted(KINDS))
    for opt in (
        *("url", "db", "ddl-from", "table", "codes", "csv", "out"),
        *("resource-id", "user", "var-dir", "grant-id", "client-id", "cache-kib"),
    ):
        p.add_argument(f"--{opt}")
    args = p.parse_args(argv)
    started = time.perf_counter()
    out = KINDS[args.kind](args)
    out["seconds_inside"] = time.perf_counter() - started
    out["vm_hwm_kib"] = vm_hwm_kib()
    sys.stdout.write("BENCH_RESULT " + json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
