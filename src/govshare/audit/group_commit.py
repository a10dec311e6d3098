"""Group commit for the audit chain: many requests, one transaction per flush.

The hot paths (every data-service call writes an audit entry, NX-33, SZ-16.4) must not
serialise each request on a commit of its own. A ``GroupCommitWriter`` owns one writer
thread per database per process:

- ``submit(PendingEntry)`` queues an entry and returns a ``Future`` at once;
  ``append(PendingEntry)`` also waits until it is durable and returns the ``AuditEntry``
  (with its ``seq`` and ``hash``). On an event loop, ``submit_async`` returns an asyncio
  future instead: a flush settles all of one loop's futures with one
  ``call_soon_threadsafe`` (one wake-up of the loop per flush, where wrapping each
  ``Future`` cost a wake-up and two callbacks per entry).
- ``submit`` does the per-entry work in the caller's thread (masking the details, their
  canonical JSON, the column values), so that the writer thread, which every waiter
  queues behind, only links and inserts.
- The writer thread takes everything queued (up to ``max_batch``) and, on its own
  connection, opens ONE transaction, takes the chain's append lock (``BEGIN IMMEDIATE``
  on SQLite, the advisory lock on PostgreSQL, exactly as ``audit.services.record``),
  reads the head, links the entries in queue order (one version 2 hash each,
  ``audit.model``), inserts them with one driver executemany, runs the flush hooks (for
  example the delivery call statistics) in the same transaction, commits, and only then
  resolves the futures. While one flush commits, new entries pile up and form the next
  batch: the batch size grows with load.
- The writer links the batch to the head it wrote last. On PostgreSQL, where each
  statement is a round trip, it sends lock, head read and insert in one pipeline; on
  SQLite ``BEGIN IMMEDIATE`` holds the lock and the head is not read at all (a statement,
  and a hand-over of the interpreter, fewer per flush): an entry linked to a head that is
  not the last fails on the unique ``seq`` and the chain's link check. If another writer
  appended in between (the insert fails, or on PostgreSQL the head read differs), the flush
  is rolled back and redone from the real head, and the writer reads the head first for
  its next ``GUESS_BACKOFF`` flushes.
- Gathering: the callers a flush releases come back with their next entries a little
  later (threads within microseconds; a server's event loop one entry per request it
  handles, every few hundred microseconds), too late for the next batch, which would
  then go out with one or two entries and cost a whole commit of its own (on a busy
  server that made the writer thread cost almost as much CPU as the requests). So while
  callers keep coming, the writer waits for more, a few of the recent gaps between
  arrivals at a time, in all at most ``max_gather`` seconds (the idea of PostgreSQL's
  ``commit_delay`` / ``commit_siblings``; ``_gather``). A lone caller (recent batches
  of one) never waits. The window is 1 ms: on a server with 16 connections a longer one
  left the event loop idle while the batch it had filled committed (3 ms: the loop busy
  68 % of the time; 1 ms: 83 %, and 10-15 % more calls).
- A failed flush fails every future of that batch (the callers see the exception); the
  chain is untouched because the transaction rolled back.
- Several processes may each run a writer: every flush reads the head under the lock, so
  the chain never forks and ``govshare audit verify`` keeps passing.
- On SQLite the writer's connection checkpoints the WAL itself, after a flush has
  released its waiters (at most every ``CHECKPOINT_SECONDS``), instead of SQLite's
  automatic checkpoint inside the commit of whichever flush took the WAL past 1,000
  pages, which every caller of that flush waited for.

The thread starts on first use and ends after ``idle_seconds`` without work, returning its
connection (it starts again on the next submit), so short-lived platforms in tests and CLI
commands leave no thread behind. ``writer_for(db)`` gives the process-wide writer of a
``Database``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Union

import orjson
from sqlalchemy import Connection

from govshare.audit.model import HASH_VERSION, AuditAction, AuditEntry, time_text
from govshare.audit.services import (
    Fields,
    entry_fields,
    insert_rows,
    lock_and_head,
    lock_head_insert,
    occurred_param,
)
from govshare.kernel.actor import Actor
from govshare.kernel.clock import utcnow
from govshare.storage.engine import Database, Transaction, is_sqlite


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class PendingEntry:
    """What a caller wants recorded; the writer gives it its place in the chain.

    ``payload`` is opaque to the audit package: flush hooks read it (the delivery package
    puts its per-call statistics there). The entry's time is its flush's time, taken under
    the append lock, so that time never runs backwards along the chain.
    """

    actor: Actor
    action: AuditAction
    object_type: str
    object_id: str
    details: dict[str, Any] | None = None
    purpose: str | None = None
    case_no: str | None = None
    payload: Any = None


# A flush hook runs inside the flush transaction after the entries are inserted.
FlushHook = Callable[[Transaction, Sequence[tuple[PendingEntry, AuditEntry]]], None]

# Who waits for an entry: a thread (``Future``) or a coroutine (an asyncio future).
Waiter = Union["Future[AuditEntry]", "asyncio.Future[Any]"]
# What settles, on the event loop, the futures of the entries of one flush submitted with
# it (``submit_then``): (future, durable entry, the submitter's context) for each.
Then = Callable[[list[tuple["asyncio.Future[Any]", AuditEntry, Any]]], None]
# float: when it came; then: its settle hook or None; Any: the hook's context
_Queued = tuple[PendingEntry, Fields, Waiter, float, Then | None, Any]

RECENT_BATCHES = 4  # how many recent batch sizes say how many entries to gather
GUESS_BACKOFF = 16  # flushes that read the head first after a wrong guess
GAP_FACTOR = 3  # gathering waits up to this many recent gaps between arrivals ...
MIN_GAP = 0.0005  # ... and at least this long (seconds)
GAP_WEIGHT = 0.2  # the weight of the newest gap in the running mean
BURST_RATIO = 8  # arrivals closer than a flush / this come in bursts
CHECKPOINT_SECONDS = 0.1  # how often the writer checkpoints the WAL under load (SQLite)
SQLITE_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default, for every other connection


def prepare(entry: PendingEntry) -> Fields:
    """The column values of ``entry`` (details masked, as canonical JSON)."""
    return entry_fields(
        entry.actor,
        entry.action,
        entry.object_type,
        entry.object_id,
        details=entry.details,
        purpose=entry.purpose,
        case_no=entry.case_no,
    )


class GroupCommitWriter:
    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = 1000,
        idle_seconds: float = 5.0,
        max_gather: float = 0.001,
    ) -> None:
        self._db = weakref.ref(db)  # weak: the writer lives as long as its Database
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self.max_gather = max_gather
        self._queue: queue.SimpleQueue[_Queued] = queue.SimpleQueue()
        self._hooks: list[FlushHook] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._recent: deque[int] = deque(maxlen=RECENT_BATCHES)
        self._gap = 0.0  # running mean of the gaps between the arrivals of one batch
        self._last_flush_seconds = 0.0  # what the last flush cost besides gathering
        self._head: tuple[int, str] | None = None  # (seq, hash) this writer last wrote
        self._no_guess = 0
        self._checkpointed = 0.0  # when the writer last checkpointed the WAL (SQLite)
        self.flushes = 0  # how many transactions were committed (for tests and metrics)
        self.entries = 0

    def add_hook(self, hook: FlushHook) -> None:
        """Run ``hook`` in every flush transaction (idempotent per hook)."""
        with self._lock:
            if hook not in self._hooks:
                self._hooks.append(hook)

    def submit(self, entry: PendingEntry) -> Future[AuditEntry]:
        future: Future[AuditEntry] = Future()
        self._enqueue(entry, future)
        return future

    def submit_async(self, entry: PendingEntry) -> asyncio.Future[AuditEntry]:
        """``submit`` for a coroutine on the running event loop: await the result."""
        future: asyncio.Future[AuditEntry] = asyncio.get_running_loop().create_future()
        self._enqueue(entry, future)
        return future

    def submit_then(self, entry: PendingEntry, then: Then, context: Any) -> asyncio.Future[Any]:
        """``submit_async``, but the future is settled by ``then``: once the entry is
        durable, ``then`` is called on the loop with (future, entry, ``context``) for
        every entry of the flush submitted with it, in queue order, and sets their
        results (the delivery guard signs their receipts together there, so that a call
        wakes up once, with its receipt). A failed flush, or a ``then`` that raises,
        fails the futures as ``submit_async`` would."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._enqueue(entry, future, then, context)
        return future

    def _enqueue(
        self, entry: PendingEntry, future: Waiter, then: Then | None = None, context: Any = None
    ) -> None:
        try:
            fields = prepare(entry)
        except Exception as exc:  # a bad entry fails alone, before it reaches a batch
            future.set_exception(exc)
            return
        self._queue.put((entry, fields, future, time.monotonic(), then, context))
        thread = self._thread  # the usual case, without the lock: the writer is running
        if thread is None or not thread.is_alive():
            self._ensure_thread()

    def append(self, entry: PendingEntry, *, timeout: float | None = 60.0) -> AuditEntry:
        """Queue ``entry`` and wait until it is committed."""
        return self.submit(entry).result(timeout=timeout)

    # The writer thread ---------------------------------------------------------------
    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(
                target=self._run, name="govshare-audit-writer", daemon=True
            )
            self._thread.start()

    def _drain(self, batch: list[_Queued]) -> None:
        get = self._queue.get_nowait
        while len(batch) < self.max_batch:
            try:
                batch.append(get())
            except queue.Empty:
                return

    def _gather(self, batch: list[_Queued]) -> float:
        """While callers keep coming (this batch or a recent one held more than one
        entry), wait for more. Two kinds of callers, told apart by the usual gap between
        the arrivals of one batch against what a flush costs:

        - a burst (threads that each wait for their entry come back together): wait for as
          many as the recent batches held, at most a quarter of a flush;
        - a trickle (an event loop hands over an entry every few hundred microseconds):
          sleep a few gaps at a time (at least ``MIN_GAP``) and take what came, until a
          sleep brings nothing or ``max_gather`` has passed, so that the batch grows as
          far as that window allows. Sleeping, not waiting on the queue, spares the event
          loop a hand-over of the interpreter at every entry it submits.

        A lone caller never waits. Returns the seconds waited."""
        if len(batch) <= 1 and max(self._recent, default=1) <= 1:
            return 0.0
        for before, after in itertools.pairwise(batch):
            self._note_gap(after[3] - before[3])
        bursty = self._gap < self._last_flush_seconds / BURST_RATIO
        want = max(self._recent, default=1) if bursty else self.max_batch
        if len(batch) >= want:
            return 0.0
        started = time.monotonic()
        limit = min(self.max_gather, self._last_flush_seconds / 4) if bursty else self.max_gather
        deadline = started + limit
        get = self._queue.get
        while len(batch) < want:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if bursty:
                try:
                    item = get(timeout=remaining)
                except queue.Empty:
                    break
                self._note_gap(item[3] - batch[-1][3])
                batch.append(item)
                self._drain(batch)
                continue
            # a trickle: sleep through a few gaps and take what came, rather than wake on
            # every entry (each wake-up takes the interpreter from the event loop)
            time.sleep(min(remaining, max(GAP_FACTOR * self._gap, MIN_GAP)))
            had = len(batch)
            self._drain(batch)
            if len(batch) == had:
                break  # the callers have stopped coming
            for earlier, later in itertools.pairwise(batch[had - 1 :]):
                self._note_gap(later[3] - earlier[3])
        return time.monotonic() - started

    def _note_gap(self, gap: float) -> None:
        self._gap += (max(gap, 0.0) - self._gap) * GAP_WEIGHT

    def _run(self) -> None:
        conn: Connection | None = None  # the writer's own connection, while it has work
        try:
            while True:
                try:
                    first = self._queue.get(timeout=self.idle_seconds)
                except queue.Empty:
                    with self._lock:
                        # re-check under the lock: a submit may have raced with the timeout
                        if self._queue.empty():
                            self._thread = None
                            return
                    continue
                batch = [first]
                conn = self._flush(conn, batch)
                self._recent.append(len(batch))
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    self._checkpoint(conn, now=True)
                    _restore_checkpoints(conn)
                with contextlib.suppress(Exception):
                    conn.close()

    def _flush(self, conn: Connection | None, batch: list[_Queued]) -> Connection | None:
        """One flush: take the rest of the batch from the queue, link, insert, run the
        hooks, commit, resolve. Returns the connection to keep (None after a failure: the
        next flush takes a fresh one)."""
        started = time.perf_counter()
        self._drain(batch)
        gathered = self._gather(batch)
        live = [q for q in batch if _claim(q[2])]
        if not live:
            return conn
        try:
            db = self._db()
            if db is None:
                raise RuntimeError("the database of this audit writer was closed")
            if conn is None:
                conn = _own_checkpoints(db.engine.connect())
            done = self._optimistic(conn, live) if self._can_guess() else None
            if done is None:
                tx = Transaction(conn)
                with conn.begin():
                    head = lock_and_head(tx)
                    rows, done = _link(tx, head, live)
                    insert_rows(tx, rows)
                    self._run_hooks(tx, done)
                self._after_commit(tx)
        except BaseException as exc:  # every waiter learns of the failure
            self._head = None
            _settle([(q[2], exc, None, None) for q in live])
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            if not isinstance(exc, Exception):
                raise
            return None
        last = done[-1][1]
        self._head = (last.seq, last.hash)
        self.flushes += 1
        self.entries += len(done)
        _settle([(q[2], entry, q[4], q[5]) for (_, entry), q in zip(done, live, strict=True)])
        self._last_flush_seconds = time.perf_counter() - started - gathered
        self._checkpoint(conn)
        return conn

    def _checkpoint(self, conn: Connection, *, now: bool = False) -> None:
        """On SQLite, copy the WAL into the database (a passive checkpoint) after the
        waiters were released, at most every ``CHECKPOINT_SECONDS`` (``now``: at once)."""
        if conn.dialect.name != "sqlite":
            return
        moment = time.monotonic()
        if not now and moment - self._checkpointed < CHECKPOINT_SECONDS:
            return
        self._checkpointed = moment
        # the entries are committed: a checkpoint that fails is made good by the next one
        with contextlib.suppress(Exception):
            _passive_checkpoint(conn)

    def _can_guess(self) -> bool:
        """Whether to link the batch to the head this writer last wrote without reading
        the head first (it knows one; and not for a while after the guess went wrong, as
        it does while other processes append too)."""
        if self._head is None:
            return False
        if self._no_guess:
            self._no_guess -= 1
            return False
        return True

    def _optimistic(
        self, conn: Connection, live: list[_Queued]
    ) -> list[tuple[PendingEntry, AuditEntry]] | None:
        """Lock, head read and insert in one round trip, the batch linked to the head this
        writer last wrote; None when that was not the head any more (rolled back)."""
        assert self._head is not None
        tx = Transaction(conn)
        try:
            with conn.begin():
                rows, done = _link(tx, self._head, live)
                try:
                    if is_sqlite(conn):  # BEGIN IMMEDIATE holds the write lock
                        insert_rows(tx, rows)
                        ok = True
                    else:
                        ok = lock_head_insert(tx, self._head, rows)
                except Exception as exc:  # the insert met the real head's successors
                    raise _StaleHead from exc
                if not ok:
                    raise _StaleHead
                self._run_hooks(tx, done)
        except _StaleHead:
            self._head = None
            self._no_guess = GUESS_BACKOFF
            return None
        self._after_commit(tx)
        return done

    def _run_hooks(self, tx: Transaction, done: list[tuple[PendingEntry, AuditEntry]]) -> None:
        for hook in list(self._hooks):
            hook(tx, done)

    @staticmethod
    def _after_commit(tx: Transaction) -> None:
        for fn in tx._after_commit:
            fn()


def _claim(waiter: Waiter) -> bool:
    """Whether the entry is still wanted: a thread's future is marked running unless it
    was cancelled; a coroutine's future was not cancelled (its loop settles it later)."""
    if isinstance(waiter, Future):
        return waiter.set_running_or_notify_cancel()
    return not waiter.cancelled()


def _settle(outcomes: list[tuple[Waiter, AuditEntry | BaseException, Then | None, Any]]) -> None:
    """Resolve a flush's waiters: threads' futures here, each event loop's futures in one
    callback on that loop."""
    loops: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, Then | None, Any]]] = {}
    for waiter, outcome, then, context in outcomes:
        if isinstance(waiter, Future):
            if isinstance(outcome, BaseException):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)
        else:
            loops.setdefault(waiter.get_loop(), []).append((waiter, outcome, then, context))
    for loop, pairs in loops.items():
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            loop.call_soon_threadsafe(_settle_on_loop, pairs)


def _settle_on_loop(pairs: list[tuple[Any, Any, Then | None, Any]]) -> None:
    hooked: dict[Then, list[tuple[asyncio.Future[Any], AuditEntry, Any]]] = {}
    for waiter, outcome, then, context in pairs:
        if waiter.done():  # cancelled meanwhile
            continue
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        elif then is None:
            waiter.set_result(outcome)
        else:
            hooked.setdefault(then, []).append((waiter, outcome, context))
    for then, group in hooked.items():
        try:
            then(group)
        except Exception as exc:  # the hook failed: its callers learn of it
            for waiter, _, _ in group:
                if not waiter.done():
                    waiter.set_exception(exc)


def _passive_checkpoint(conn: Connection) -> None:
    driver: Any = conn.connection.driver_connection
    driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _own_checkpoints(conn: Connection) -> Connection:
    """The writer's connection checkpoints the WAL itself, after each flush's waiters are
    released (``GroupCommitWriter._checkpoint``), not inside its commits: SQLite's
    automatic checkpoint ran in the commit of every flush that took the WAL past
    ``SQLITE_AUTOCHECKPOINT_PAGES``, and every caller of that flush waited for it."""
    if conn.dialect.name == "sqlite":
        driver: Any = conn.connection.driver_connection
        driver.execute("PRAGMA wal_autocheckpoint=0")
    return conn


def _restore_checkpoints(conn: Connection) -> None:
    """Back to SQLite's automatic checkpoints before the connection returns to the pool."""
    if conn.dialect.name == "sqlite" and not conn.invalidated:
        driver: Any = conn.connection.driver_connection
        driver.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")


class _StaleHead(Exception):
    """The head this writer last wrote is not the chain's head any more."""


def _link(
    tx: Transaction, head: tuple[int, str], live: list[_Queued]
) -> tuple[list[tuple[Any, ...]], list[tuple[PendingEntry, AuditEntry]]]:
    """The batch's rows (``audit.services.insert_rows`` order) and entries, linked in queue
    order after ``head``; they share the flush's time."""
    sha256, dumps, version = hashlib.sha256, orjson.dumps, HASH_VERSION
    seq, prev = head
    now = utcnow()
    text = time_text(now)
    occurred = occurred_param(tx, now)
    rows: list[tuple[Any, ...]] = []
    done: list[tuple[PendingEntry, AuditEntry]] = []
    for pending, fields, *_ in live:
        seq += 1
        digest = sha256(dumps((version, seq, text, *fields, prev))).hexdigest()
        rows.append((seq, occurred, *fields, prev, digest, version))
        done.append((pending, AuditEntry(seq, now, *fields, prev, digest, version)))
        prev = digest
    return rows, done


_writers: weakref.WeakKeyDictionary[Database, GroupCommitWriter] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def writer_for(db: Database) -> GroupCommitWriter:
    """The process-wide group-commit writer of ``db`` (created on first use)."""
    with _writers_lock:
        writer = _writers.get(db)
        if writer is None:
            writer = _writers[db] = GroupCommitWriter(db)
        return writer
