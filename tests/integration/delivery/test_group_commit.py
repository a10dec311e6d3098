"""Audit group commit on both databases: many concurrent writers share flushes, each waits
until its entry is durable, the chain stays linked in order, and a failed flush fails only
its own batch."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from govshare.audit import group_commit as gc
from govshare.audit import services as audit
from govshare.audit.group_commit import GroupCommitWriter, PendingEntry, writer_for
from govshare.audit.model import AuditAction, AuditEntry
from govshare.audit.services import SQLITE_ROWS_PER_INSERT
from govshare.audit.tables import audit_entry
from govshare.audit.verify import verify_chain
from govshare.kernel.actor import Actor
from govshare.platform import Platform
from govshare.storage.engine import Database, Transaction

WRITERS = 16
PER_WRITER = 25


def pending(name: str, i: int) -> PendingEntry:
    return PendingEntry(
        actor=Actor.system(name),
        action=AuditAction.QUERY,
        object_type="delivery_call",
        object_id=f"{name}-{i}",
        details={"i": i, "id_card": "321302199003071011"},
        purpose="administrative_basis",
        case_no=f"C-{i}",
    )


def count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_entry)).scalar_one())


@pytest.mark.req("NX-33", "HB-27")
def test_concurrent_writers_share_flushes_and_keep_the_chain(platform: Platform) -> None:
    db = platform.db
    before = count(db)
    writer = writer_for(db)
    start = threading.Barrier(WRITERS + 1)

    def work(n: int) -> list[AuditEntry]:
        start.wait()
        out = [writer.append(pending(f"w{n}", i)) for i in range(PER_WRITER)]
        if n % 4 == 0:  # ordinary one-transaction appends interleave with the writer
            with db.transaction() as tx:
                audit.record(tx, Actor.system(f"r{n}"), AuditAction.UPDATE, "x", str(n))
        return out

    with ThreadPoolExecutor(WRITERS + 1) as pool:
        futures = [pool.submit(work, n) for n in range(WRITERS)]
        start.wait()
        got = [e for f in futures for e in f.result()]
    seqs = sorted(e.seq for e in got)
    assert len(set(seqs)) == WRITERS * PER_WRITER  # every waiter got its own durable entry
    assert count(db) == before + WRITERS * PER_WRITER + WRITERS // 4
    for n in range(WRITERS):  # one writer's entries keep its order
        mine = [e.seq for e in got if e.actor_id == f"w{n}"]
        assert mine == sorted(mine)
    assert all("199003071011" not in e.details for e in got)  # details masked
    report = verify_chain(db, platform.keys)
    assert report.ok, report.problems
    assert writer.entries == WRITERS * PER_WRITER and writer.flushes <= writer.entries


def held_writer(
    platform: Platform, fail: str | None = None
) -> tuple[GroupCommitWriter, threading.Event, threading.Event]:
    """A writer whose flush of the entry "first-0" waits inside its transaction (``inside``
    set) until ``release`` is set, and whose flush of the entry ``fail`` raises."""
    writer = GroupCommitWriter(platform.db)
    inside, release = threading.Event(), threading.Event()

    def hold(tx: Transaction, done: Sequence[tuple[PendingEntry, AuditEntry]]) -> None:
        if done[0][0].object_id == "first-0":
            inside.set()
            assert release.wait(30)
        if any(p.object_id == fail for p, _ in done):
            raise RuntimeError("statistics table unavailable")

    writer.add_hook(hold)
    return writer, inside, release


@pytest.mark.req("NX-33")
def test_a_writer_links_to_the_head_it_wrote_and_redoes_a_flush_another_writer_overtook(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After its first flush a writer links each batch to the head it wrote last, without
    reading the head first (on SQLite BEGIN IMMEDIATE holds the lock; on PostgreSQL the
    head is read in the insert's round trip). When another writer appended meanwhile, the
    flush fails on the chain's link check, is rolled back and redone from the real head."""
    reads: list[Any] = []
    real = gc.lock_and_head

    def counted(tx: Transaction) -> tuple[int, str]:
        reads.append(tx)
        return real(tx)

    monkeypatch.setattr(gc, "lock_and_head", counted)
    writer = GroupCommitWriter(platform.db)
    alone = [writer.append(pending("solo", i)) for i in range(5)]
    assert len(reads) == 1  # the first flush only
    assert [e.seq for e in alone] == list(range(alone[0].seq, alone[0].seq + 5))
    with platform.db.transaction() as tx:  # another writer appends in between
        other = audit.record(tx, Actor.system("other"), AuditAction.UPDATE, "x", "1")
    after = writer.append(pending("after", 0))
    assert len(reads) == 2  # the guess failed: the head was read and the flush redone
    assert after.seq == other.seq + 1 and after.prev_hash == other.hash
    # then it reads the head first for a while, and guesses again
    later = [writer.append(pending("later", i)) for i in range(gc.GUESS_BACKOFF + 3)]
    assert len(reads) == 2 + gc.GUESS_BACKOFF
    assert [e.seq for e in later] == list(range(after.seq + 1, after.seq + 1 + len(later)))
    assert verify_chain(platform.db, platform.keys).ok


@pytest.mark.req("NX-33")
def test_entries_queued_during_a_flush_share_the_next_one(platform: Platform) -> None:
    """Deterministic: the first flush is held inside its transaction while 450 more entries
    queue; they must all go out in one further flush (on SQLite as three multi-row
    INSERTs, ``SQLITE_ROWS_PER_INSERT``), each future resolved, the chain intact."""
    writer, inside, release = held_writer(platform)
    first = writer.submit(pending("first", 0))
    assert inside.wait(30)
    queued: list[Future[AuditEntry]] = [writer.submit(pending("q", i)) for i in range(450)]
    assert not any(f.done() for f in queued) and not first.done()
    release.set()
    entries = [f.result(30) for f in [first, *queued]]
    assert [e.seq for e in entries] == list(range(entries[0].seq, entries[0].seq + 451))
    assert 2 * SQLITE_ROWS_PER_INSERT < 450
    assert writer.flushes == 2
    assert verify_chain(platform.db, platform.keys).ok


@pytest.mark.req("NX-33")
def test_a_failed_flush_fails_its_batch_and_leaves_the_chain_intact(platform: Platform) -> None:
    writer, _, _ = held_writer(platform, fail="bad-0")
    before = count(platform.db)
    with platform.db.read() as conn:
        head = int(conn.execute(select(func.coalesce(func.max(audit_entry.c.seq), 0))).scalar_one())
    with pytest.raises(RuntimeError):
        writer.append(pending("bad", 0))
    assert count(platform.db) == before  # rolled back with the hook
    good = writer.append(pending("good", 0))
    assert good.seq == head + 1  # the failed batch took no sequence number
    assert count(platform.db) == before + 1
    assert verify_chain(platform.db, platform.keys).ok


@pytest.mark.req("NX-33")
def test_two_processes_worth_of_writers_never_fork_the_chain(platform: Platform) -> None:
    """Two writers on two engines (as two server processes would have) on one database."""
    other = Database(platform.db.url)
    try:
        writers = [GroupCommitWriter(platform.db), GroupCommitWriter(other)]

        def work(n: int) -> None:
            for i in range(30):
                writers[n % 2].append(pending(f"p{n}", i))

        with ThreadPoolExecutor(6) as pool:
            list(pool.map(work, range(6)))
        report = verify_chain(platform.db, platform.keys)
        assert report.ok, report.problems
        assert report.entries >= 180
    finally:
        other.dispose()


@pytest.mark.req("NX-33")
def test_coroutines_are_settled_once_per_flush_and_failures_reach_them(
    platform: Platform,
) -> None:
    """``submit_async``: the first flush is held while 30 coroutines' entries queue; the
    next flush settles all 30 with one call into their event loop; a coroutine cancelled
    before its flush is skipped, and a failed flush fails the coroutines of its batch."""
    writer, inside, release = held_writer(platform, fail="bad-0")

    async def run() -> tuple[list[AuditEntry], int, BaseException | None]:
        loop = asyncio.get_running_loop()
        calls = 0
        threadsafe = loop.call_soon_threadsafe

        def counted(callback: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += getattr(callback, "__name__", "") == "_settle_on_loop"
            return threadsafe(callback, *args, **kwargs)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        first = writer.submit(pending("first", 0))
        assert await asyncio.to_thread(inside.wait, 30)
        waiting = [writer.submit_async(pending("q", i)) for i in range(30)]
        cancelled = writer.submit_async(pending("gone", 0))
        cancelled.cancel()
        release.set()
        entries = await asyncio.gather(*waiting)
        await asyncio.to_thread(first.result, 30)
        settled = calls
        failed: BaseException | None = None
        try:
            await writer.submit_async(pending("bad", 0))
        except RuntimeError as exc:
            failed = exc
        return list(entries), settled, failed

    entries, settled, failed = asyncio.run(run())
    assert [e.seq for e in entries] == list(range(entries[0].seq, entries[0].seq + 30))
    assert writer.flushes == 2 and settled == 1  # one wake-up of the loop for 30 entries
    assert isinstance(failed, RuntimeError)
    with platform.db.read() as conn:
        ids = set(conn.execute(select(audit_entry.c.object_id)).scalars())
    assert "gone-0" not in ids and "bad-0" not in ids and "q-29" in ids
    assert verify_chain(platform.db, platform.keys).ok


@pytest.mark.req("NX-33")
def test_a_settle_hook_gets_its_flush_in_order_and_its_failures_reach_the_callers(
    platform: Platform,
) -> None:
    """``submit_then``: the entries of one flush submitted with the same hook come to it in
    one call, on the loop, in queue order with their contexts, and the hook sets their
    results (plain ``submit_async`` entries of the flush are settled as usual); a hook that
    raises fails its callers, and a failed flush never calls it."""
    writer, inside, release = held_writer(platform, fail="bad-0")
    calls: list[list[tuple[int, str]]] = []

    def hook(flushed: list[tuple[asyncio.Future[Any], AuditEntry, Any]]) -> None:
        asyncio.get_running_loop()  # on the loop
        calls.append([(entry.seq, context) for _, entry, context in flushed])
        for future, entry, context in flushed:
            future.set_result((context, entry.object_id))

    def broken(_flushed: list[tuple[asyncio.Future[Any], AuditEntry, Any]]) -> None:
        raise ValueError("the hook failed")

    async def run() -> tuple[list[Any], AuditEntry, BaseException, BaseException]:
        first = writer.submit(pending("first", 0))
        assert await asyncio.to_thread(inside.wait, 30)
        hooked = [writer.submit_then(pending("h", i), hook, f"ctx-{i}") for i in range(5)]
        plain = writer.submit_async(pending("plain", 0))
        release.set()
        results = await asyncio.gather(*hooked)
        await asyncio.to_thread(first.result, 30)
        with pytest.raises(ValueError) as hook_failed:
            await writer.submit_then(pending("x", 0), broken, None)
        with pytest.raises(RuntimeError) as flush_failed:
            await writer.submit_then(pending("bad", 0), hook, "never")
        return list(results), await plain, hook_failed.value, flush_failed.value

    results, plain, hook_failed, flush_failed = asyncio.run(run())
    assert results == [(f"ctx-{i}", f"h-{i}") for i in range(5)]
    assert len(calls) == 1 and [c for _, c in calls[0]] == [f"ctx-{i}" for i in range(5)]
    seqs = [seq for seq, _ in calls[0]]
    assert seqs == list(range(seqs[0], seqs[0] + 5)) and plain.seq == seqs[-1] + 1
    assert str(hook_failed) == "the hook failed"  # its entry is durable all the same
    assert isinstance(flush_failed, RuntimeError)
    assert all("never" not in c for call in calls for _, c in call)
    assert verify_chain(platform.db, platform.keys).ok


@pytest.mark.req("NX-33")
def test_the_sqlite_writer_checkpoints_after_its_flushes_and_survives_a_failed_one(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the writer's own connection checkpoints the WAL after a flush has released
    its waiters (SQLite's automatic checkpoint is off there, back on in the pool); a
    checkpoint that fails does not stop the writer."""
    db = platform.db
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL has no WAL file of the platform's to checkpoint")
    monkeypatch.setattr(gc, "CHECKPOINT_SECONDS", 0.0)
    writer = GroupCommitWriter(db, idle_seconds=0.2)
    done: list[str] = []
    real = gc._passive_checkpoint

    def counting(conn: Any) -> None:
        done.append("checkpoint")
        real(conn)

    monkeypatch.setattr(gc, "_passive_checkpoint", counting)
    for i in range(3):
        writer.append(pending("ckpt", i))
    # the waiter is released before the flush's checkpoint: wait for the third one
    deadline = time.monotonic() + 5
    while len(done) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(done) >= 3  # after every flush, with the interval at 0
    with db.engine.connect() as conn:  # outside a transaction, on the driver itself
        driver: Any = conn.connection.driver_connection
        for _ in range(50):  # until the writer's own checkpoint has finished
            busy, log, copied = driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if not busy:
                break
            time.sleep(0.01)
        assert busy == 0 and log == copied  # nothing left behind in the WAL

    def failing(conn: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(gc, "_passive_checkpoint", failing)
    running = writer._thread
    entries = [writer.append(pending("after", i)) for i in range(3)]
    assert [e.seq for e in entries] == [entries[0].seq + i for i in range(3)]
    # the same thread goes on (one that died would strand what was queued meanwhile)
    assert running is not None and writer._thread is running and running.is_alive()
    assert verify_chain(db, platform.keys).ok
    thread = writer._thread
    if thread is not None:
        thread.join(timeout=5)  # it idles out and returns its connection to the pool
    with db.engine.connect() as conn:
        driver = conn.connection.driver_connection
        (pages,) = driver.execute("PRAGMA wal_autocheckpoint").fetchone()
        assert pages == gc.SQLITE_AUTOCHECKPOINT_PAGES
