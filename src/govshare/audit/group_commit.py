"""Group commit for the audit chain: many requests, one transaction per flush.

The hot paths (every data-service call writes an audit entry, NX-33, SZ-16.4) must not
serialise each request on a commit of its own. A ``GroupCommitWriter`` owns one writer
thread per database per process:

- ``submit(PendingEntry)`` queues an entry and returns a ``Future`` at once;
  ``append(PendingEntry)`` also waits until it is durable and returns the ``AuditEntry``
  (with its ``seq`` and ``hash``).
- The writer thread takes everything queued (up to ``max_batch``), opens ONE transaction,
  takes the chain's append lock (``BEGIN IMMEDIATE`` on SQLite, the advisory lock on
  PostgreSQL, exactly as ``audit.services.record``), reads the head, links the entries in
  queue order, inserts them with one executemany, runs the flush hooks (for example the
  delivery call statistics) in the same transaction, commits, and only then resolves the
  futures. While one flush commits, new entries pile up and form the next batch: the
  batch size grows with load, with no timer and no added latency when idle.
- A failed flush fails every future of that batch (the callers see the exception); the
  chain is untouched because the transaction rolled back.
- Several processes may each run a writer: every flush reads the head under the lock, so
  the chain never forks and ``govshare audit verify`` keeps passing.

The thread starts on first use and ends after ``idle_seconds`` without work (it starts
again on the next submit), so short-lived platforms in tests and CLI commands leave no
thread behind. ``writer_for(db)`` gives the process-wide writer of a ``Database``.
"""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from govshare.audit.model import AuditAction, AuditEntry
from govshare.audit.services import AUDIT_LOCK_KEY, chain_entry, chain_head, entry_row
from govshare.audit.tables import audit_entry
from govshare.kernel.actor import Actor
from govshare.kernel.clock import utcnow
from govshare.storage.engine import Database, Transaction


@dataclass(frozen=True)
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


class GroupCommitWriter:
    def __init__(self, db: Database, *, max_batch: int = 1000, idle_seconds: float = 5.0) -> None:
        self._db = weakref.ref(db)  # weak: the writer lives as long as its Database
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self._queue: queue.SimpleQueue[tuple[PendingEntry, Future[AuditEntry]]] = (
            queue.SimpleQueue()
        )
        self._hooks: list[FlushHook] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.flushes = 0  # how many transactions were committed (for tests and metrics)
        self.entries = 0

    def add_hook(self, hook: FlushHook) -> None:
        """Run ``hook`` in every flush transaction (idempotent per hook)."""
        with self._lock:
            if hook not in self._hooks:
                self._hooks.append(hook)

    def submit(self, entry: PendingEntry) -> Future[AuditEntry]:
        future: Future[AuditEntry] = Future()
        self._queue.put((entry, future))
        self._ensure_thread()
        return future

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

    def _run(self) -> None:
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
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._flush(batch)

    def _flush(self, batch: list[tuple[PendingEntry, Future[AuditEntry]]]) -> None:
        live = [(e, f) for e, f in batch if f.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            db = self._db()
            if db is None:
                raise RuntimeError("the database of this audit writer was closed")
            with db.transaction() as tx:
                tx.serialize(AUDIT_LOCK_KEY)
                seq, prev = chain_head(tx)
                now = utcnow()
                done: list[tuple[PendingEntry, AuditEntry]] = []
                for pending, _ in live:
                    entry = chain_entry(
                        seq,
                        prev,
                        pending.actor,
                        pending.action,
                        pending.object_type,
                        pending.object_id,
                        details=pending.details,
                        purpose=pending.purpose,
                        case_no=pending.case_no,
                        occurred_at=now,
                    )
                    done.append((pending, entry))
                    seq, prev = entry.seq, entry.hash
                tx.conn.execute(insert(audit_entry), [entry_row(e) for _, e in done])
                for hook in list(self._hooks):
                    hook(tx, done)
        except BaseException as exc:  # every waiter learns of the failure
            for _, future in live:
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.flushes += 1
        self.entries += len(done)
        for (_, entry), (_, future) in zip(done, live, strict=True):
            future.set_result(entry)


_writers: weakref.WeakKeyDictionary[Database, GroupCommitWriter] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def writer_for(db: Database) -> GroupCommitWriter:
    """The process-wide group-commit writer of ``db`` (created on first use)."""
    with _writers_lock:
        writer = _writers.get(db)
        if writer is None:
            writer = _writers[db] = GroupCommitWriter(db)
        return writer
