"""Export memory stays bounded (issue 6, done-when): 1,000,000 pool rows exported, masked,
in a separate process whose peak resident set size (VmHWM) stays under 200 MB.

The pool is filled with one INSERT … SELECT over a generated series (a recursive CTE on
SQLite, generate_series on PostgreSQL), not through a million service calls; the export
itself runs exactly as the job queue runs it (``delivery.export.run_export``). The test
measures memory, never time."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from sqlalchemy import text

from govshare.delivery import export
from govshare.delivery.export import JobState
from govshare.delivery.queries import pool_for_version
from tests.integration.catalog.conftest import City
from tests.integration.delivery.conftest import HEADERS, ROWS
from tests.integration.delivery.files_support import files_delivery

ROWS_TO_ADD = 1_000_000
LIMIT_BYTES = 200 * 1024 * 1024

_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path

    def peak_kib():
        # VmHWM: the peak RSS of this process image (ru_maxrss would carry the parent's
        # peak across fork and exec on Linux)
        status = Path("/proc/self/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    from govshare.config import Settings
    from govshare.delivery.export import run_export
    from govshare.platform import Platform

    args = json.loads(sys.argv[1])
    platform = Platform.open(Settings(**args["settings"]))
    before = peak_kib()
    job = run_export(platform, args["job_id"])
    peak = peak_kib()
    platform.close()
    print(json.dumps({"state": job.state.value, "rows": job.rows, "error": job.error,
                      "before_kib": before, "peak_kib": peak}))
    """
)


def _fill(d: Any, n: int) -> None:
    with d.platform.db.read() as conn:
        pool = pool_for_version(conn, d.resource_id, 1)
    assert pool is not None
    cols = "_seq, _batch_id, _updated_batch_id, _loaded_at, _deleted, " + (
        "name, id_card, birth_date, mobile, address, email, income"
    )
    with d.platform.db.transaction() as tx:
        if tx.conn.dialect.name == "postgresql":
            sql = f"""
                INSERT INTO {pool.table_name} ({cols})
                SELECT 1000 + i, 'bulk', 'bulk', now(), false,
                       '张' || i, '3213021990' || lpad(i::text, 8, '0'), DATE '1990-03-07',
                       '138' || lpad(i::text, 8, '0'), '江苏省宿迁市宿城区幸福街道' || i || '号',
                       'u' || i || '@example.cn', i
                FROM generate_series(1, :n) AS i"""
        else:
            sql = f"""
                INSERT INTO {pool.table_name} ({cols})
                WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n)
                SELECT 1000 + i, 'bulk', 'bulk', '2026-01-01 00:00:00.000000', 0,
                       '张' || i, '3213021990' || printf('%08d', i), '1990-03-07',
                       '138' || printf('%08d', i), '江苏省宿迁市宿城区幸福街道' || i || '号',
                       'u' || i || '@example.cn', CAST(i AS TEXT)
                FROM s"""
        tx.conn.execute(text(sql), {"n": n})


@pytest.mark.req("SQ-18")
def test_a_million_rows_export_under_200_mb(demo_platform: Any) -> None:
    d = files_delivery(City(demo_platform))
    _fill(d, ROWS_TO_ADD)
    queued: list[str] = []
    done = export.request_export(
        d.platform,
        d.grant_id,
        fmt="csv",
        encoding=None,
        items=None,
        call=HEADERS,
        actor=d.client,
        enqueue=queued.append,
    )
    s = d.platform.settings
    args = {
        "job_id": done.job.id,
        "settings": {
            "environment": "test",
            "var_dir": str(s.var_dir),
            "database_url": s.database_url,
            "secret_key": s.secret_key,
        },
    }
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["state"] == JobState.DONE.value, report
    assert report["rows"] == ROWS_TO_ADD + len(ROWS)
    peak = report["peak_kib"] * 1024
    print(
        f"\nexport of {report['rows']:,} rows: peak RSS {peak / 2**20:.1f} MiB "
        f"(after start-up {report['before_kib'] / 1024:.1f} MiB)"
    )
    assert peak < LIMIT_BYTES
    job = export.job_for(d.platform, done.job.id, actor=d.client)
    assert job.filename and job.size and job.size > 50 * ROWS_TO_ADD  # the file really is big
    with (s.exports_dir / job.filename).open("rb") as f:
        head = f.read(200).decode("utf-8", errors="ignore")
    assert head.startswith("name,id_card") and "幸福街道" not in head
