"""Separate OS processes appending to one audit chain at the same time never fork it."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from govshare.audit.keys import load_or_create_keys
from govshare.audit.model import GENESIS_HASH, AuditEntry
from govshare.audit.tables import audit_checkpoint, audit_entry
from govshare.audit.verify import verify_chain
from govshare.storage.engine import Database

PER_PROCESS = 150

# Each worker opens its own Database, says it is ready, waits for the common start
# signal, then appends its entries one transaction each (optionally signing checkpoints).
WORKER = r"""
import sys, time
from pathlib import Path

from govshare.audit import services
from govshare.audit.keys import load_or_create_keys
from govshare.audit.model import AuditAction
from govshare.kernel.actor import Actor
from govshare.storage.engine import Database

url, name, n, every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
run_dir = Path(sys.argv[5])
db = Database(url)
keys = load_or_create_keys(run_dir / "keys")
actor = Actor.system(name)
with db.read() as conn:
    conn.exec_driver_sql("SELECT 1")  # connect before the start signal
(run_dir / f"ready-{name}").touch()
deadline = time.monotonic() + 60
while not (run_dir / "go").exists():
    if time.monotonic() > deadline:
        sys.exit("no start signal")
    time.sleep(0.002)
for i in range(n):
    with db.transaction() as tx:
        services.record(tx, actor, AuditAction.QUERY, "dataset", f"{name}-{i}", details={"i": i})
    time.sleep(0.002)  # let the other process in between our transactions (SQLite backs off)
    if every and (i + 1) % every == 0:
        services.create_checkpoint(db, keys, actor=actor)
db.dispose()
"""


def run_writers(database_url: str, run_dir: Path, workers: dict[str, int]) -> None:
    """Start one process per ``name -> checkpoint_every``; release them together; wait."""
    load_or_create_keys(run_dir / "keys")  # create once, before the workers read it
    procs = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                database_url,
                name,
                str(PER_PROCESS),
                str(every),
                str(run_dir),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, every in workers.items()
    }
    try:
        deadline = time.monotonic() + 60
        while not all((run_dir / f"ready-{name}").exists() for name in workers):
            dead = {n: p.poll() for n, p in procs.items() if p.poll() is not None}
            assert not dead, {n: procs[n].communicate() for n in dead}
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.01)
        (run_dir / "go").touch()
        for name, p in procs.items():
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, f"{name} failed:\n{out}\n{err}"
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()


def read_chain(database_url: str) -> tuple[list[AuditEntry], int]:
    db = Database(database_url)
    try:
        with db.read() as conn:
            rows = conn.execute(select(audit_entry).order_by(audit_entry.c.seq)).all()
            checkpoints = len(conn.execute(select(audit_checkpoint)).all())
    finally:
        db.dispose()
    return [AuditEntry(**r._mapping) for r in rows], checkpoints


def assert_linear(entries: list[AuditEntry]) -> None:
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_hash == GENESIS_HASH
    for prev, cur in itertools.pairwise(entries):
        assert cur.prev_hash == prev.hash  # exactly one successor per entry: no fork
    assert len({e.prev_hash for e in entries}) == len(entries)


@pytest.mark.req("HB-27", "SQ-25")
def test_two_processes_appending_concurrently_keep_one_chain(
    database_url: str, tmp_path: Path
) -> None:
    run_writers(database_url, tmp_path, {"writer-a": 0, "writer-b": 0})

    entries, _ = read_chain(database_url)
    assert len(entries) == 2 * PER_PROCESS
    assert_linear(entries)
    switches = sum(1 for a, b in itertools.pairwise(entries) if a.actor_id != b.actor_id)
    assert switches > 10, "the two writers did not actually interleave"
    for name in ("writer-a", "writer-b"):
        mine = [e.object_id for e in entries if e.actor_id == name]
        assert mine == [f"{name}-{i}" for i in range(PER_PROCESS)]  # each in its own order

    db = Database(database_url)
    try:
        report = verify_chain(db, load_or_create_keys(tmp_path / "keys"))
    finally:
        db.dispose()
    assert report.ok, report.problems
    assert report.entries == 2 * PER_PROCESS
    assert report.head_hash == entries[-1].hash


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_checkpoints_signed_while_another_process_appends_all_verify(
    database_url: str, tmp_path: Path
) -> None:
    run_writers(database_url, tmp_path, {"writer-a": 0, "signer-b": 25})

    entries, checkpoints = read_chain(database_url)
    assert checkpoints == PER_PROCESS // 25
    assert len(entries) == 2 * PER_PROCESS + checkpoints  # each checkpoint is itself logged
    assert_linear(entries)

    db = Database(database_url)
    try:
        report = verify_chain(db, load_or_create_keys(tmp_path / "keys"))
    finally:
        db.dispose()
    assert report.ok, report.problems
    assert report.checkpoints == checkpoints
