"""All or nothing under a killed process: a child process loads a large CSV, is killed with
SIGKILL in the middle of the load, and the platform is restarted. No batch, no pool row, no
quarantined row and no audit entry of the killed load exist; the audit chain verifies; and
the same file then loads completely (it is not taken for a duplicate). On SQLite (WAL
recovery) and on PostgreSQL (the server aborts the dead client's transaction)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from govshare.aggregation import ingest
from govshare.aggregation.ingest import CHUNK, file_sha256
from govshare.aggregation.pools import active_pool
from govshare.aggregation.tables import data_pool, ingest_batch, quarantine_row
from govshare.audit.tables import audit_entry
from govshare.audit.verify import verify_chain
from govshare.platform import Platform
from govshare.storage.engine import Database
from tests.integration.aggregation.conftest import id_card, write_csv
from tests.integration.catalog.conftest import City

ROOT = Path(__file__).resolve().parents[3]
ROWS = 50_000
BAD_EVERY = 1_000  # every 1000th row fails validation (quarantined in the same transaction)
KILL_AFTER = 5 * CHUNK  # rows already written into the open transaction when killed

CHILD = r"""
import sys
from pathlib import Path

from govshare.aggregation.ingest import ingest_file
from govshare.identity import queries
from govshare.storage.engine import Database

url, resource_id, csv_path, progress_path = sys.argv[1:5]
db = Database(url)
with db.read() as conn:
    user = queries.user_by_username(conn, "ga_catalog")
    actor = queries.actor_for_user(conn, user.id)
done = 0
with open(progress_path, "a") as out:

    def progress(n):
        global done
        done += n
        out.write(f"{done}\n")
        out.flush()

    ingest_file(db, resource_id, Path(csv_path), actor=actor, progress=progress)
print("finished")
"""


def _rows(count: int) -> Iterator[str]:
    yield "姓名,公民身份号码,性别,出生日期,手机号码,月收入"
    first = date(1940, 1, 1)
    for i in range(count):
        born = first + timedelta(days=i % 20_000)
        seq = (i // 20_000) * 2 + 1
        sex = "1" if i % BAD_EVERY else "7"  # 7: not in the code list
        yield (
            f"王{'伟芳娜敏静丽强磊军洋'[i % 10]},{id_card('321311', f'{born:%Y%m%d}', seq)},"
            f"{sex},{born:%Y-%m-%d},139{i:08d},{4000 + i % 5000}"
        )


def _counts(db: Database, resource_id: str) -> dict[str, int]:
    with db.read() as conn:
        pool = active_pool(conn, resource_id)
        assert pool is not None
        batches = [
            r.id
            for r in conn.execute(
                select(ingest_batch.c.id).where(ingest_batch.c.resource_id == resource_id)
            )
        ]
        t = pool.table()
        meta = conn.execute(select(data_pool).where(data_pool.c.id == pool.id)).one()
        return {
            "batches": len(batches),
            "pool_rows": int(conn.execute(select(func.count()).select_from(t)).scalar_one()),
            "foreign_rows": int(
                conn.execute(
                    select(func.count()).select_from(t).where(t.c._batch_id.not_in(batches))
                ).scalar_one()
            ),
            "row_count": int(meta.row_count),
            "last_seq": int(meta.last_seq),
            "quarantined": int(
                conn.execute(select(func.count()).select_from(quarantine_row)).scalar_one()
            ),
            "audit": int(conn.execute(select(func.count()).select_from(audit_entry)).scalar_one()),
        }


def _kill_mid_load(url: str, resource_id: str, path: Path, tmp_path: Path) -> int:
    """Start the child, wait until KILL_AFTER rows sit in its open transaction, SIGKILL it;
    returns the rows it had written."""
    progress = tmp_path / "progress.txt"
    progress.write_text("")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, resource_id, str(path), str(progress)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        written = 0
        while written < KILL_AFTER:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the child never got going"
            lines = progress.read_text().split()
            written = int(lines[-1]) if lines else 0
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL and b"finished" not in out
    assert written < ROWS  # killed mid-load, long before the commit
    return written


@pytest.mark.req("NX-29", "SQ-25")
def test_a_load_killed_mid_batch_leaves_nothing_and_reloads_whole(
    demo_platform: Platform, city: City, population: str, tmp_path: Path
) -> None:
    actor = city.actor("ga_catalog")
    # a committed load before, so the pool exists and holds rows the crash must not touch
    first = write_csv(
        tmp_path / "first.csv",
        [
            ["姓名", "公民身份号码", "性别"],
            ["李明", id_card("321302", "19800101", 11), "1"],
            ["周芳", id_card("321302", "19800102", 12), "2"],
        ],
    )
    assert ingest.ingest_file(city.db, population, first, actor=actor).batch.rows_loaded == 2
    before = _counts(city.db, population)
    path = tmp_path / "big.csv"
    path.write_text("\r\n".join(_rows(ROWS)) + "\r\n", encoding="utf-8")

    written = _kill_mid_load(city.db.url, population, path, tmp_path)
    assert written >= KILL_AFTER

    # restart: a fresh platform on the same database (SQLite recovers its WAL on open)
    demo_platform.close()
    restarted = Platform.open(demo_platform.settings)
    try:
        db = restarted.db
        assert _counts(db, population) == before  # no batch, row, quarantine or audit entry
        with db.read() as conn:
            assert (
                conn.execute(
                    select(func.count())
                    .select_from(ingest_batch)
                    .where(ingest_batch.c.file_sha256 == file_sha256(path))
                ).scalar_one()
                == 0
            )
        report = verify_chain(db, restarted.keys)
        assert report.ok, report.summary()

        # the same file again: not a duplicate of anything, and it loads whole
        again = ingest.ingest_file(db, population, path, actor=actor)
        b = again.batch
        bad = ROWS // BAD_EVERY
        assert not again.duplicate
        assert (b.rows_total, b.rows_loaded, b.rows_rejected) == (ROWS, ROWS - bad, bad)
        after = _counts(db, population)
        assert after["batches"] == before["batches"] + 1
        assert after["pool_rows"] == after["row_count"] == before["pool_rows"] + ROWS - bad
        assert after["quarantined"] == before["quarantined"] + bad
        assert after["last_seq"] == before["last_seq"] + ROWS - bad
        assert after["foreign_rows"] == 0
        assert verify_chain(db, restarted.keys).ok
    finally:
        restarted.close()
