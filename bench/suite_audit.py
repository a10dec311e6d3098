"""Benchmark 6: the audit chain. Appends from concurrent writers (threads of one process,
each waiting until its entry is committed) and the verification of the whole chain
(``audit.verify.verify_chain``: every hash recomputed, every link and checkpoint checked).

Appends are measured two ways: through the group-commit writer (``audit.group_commit``,
the hot path of the data services: many waiting writers share one flush) and through
``audit.services.record`` with one transaction per entry (the ordinary service path).
Durable: on PostgreSQL every commit waits for the WAL flush (``synchronous_commit`` is
recorded with the machine); on SQLite the platform runs WAL with ``synchronous=NORMAL``,
which survives a process crash but not a power cut, so the row that claims durability is
measured with ``synchronous=FULL`` (an fsync per commit), and NORMAL is reported beside it.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from bench.config import Config
from bench.platform_setup import BenchPlatform
from bench.results import Report, Row
from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.audit.verify import verify_chain
from govshare.kernel.actor import Actor
from govshare.storage.engine import Database

VERIFY_TARGET = 300_000.0
APPEND_TARGET = 5_000.0
ACTOR = Actor.system("bench")


def _details(n: int) -> dict[str, Any]:
    return {"grant": "bench", "rows": 1, "key": f"32130219900101{n % 10000:04d}"}


def concurrent(writers: int, seconds: float, append: Callable[[int], None]) -> tuple[int, float]:
    """Entries committed per second by ``writers`` threads calling ``append`` in a loop."""
    counts = [0] * writers
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop(w: int) -> None:
        try:
            n = 0
            while not stop.is_set():
                append(w * 10_000_000 + n)
                n += 1
                counts[w] += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(w,)) for w in range(writers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"an audit writer failed: {errors[0]!r}")
    return sum(counts), elapsed


def _record(db: Database) -> Callable[[int], None]:
    def append(n: int) -> None:
        with db.transaction() as tx:
            audit.record(tx, ACTOR, AuditAction.QUERY, "bench_call", str(n), details=_details(n))

    return append


def _group_commit(db: Database) -> Callable[[int], None] | str:
    try:
        gc = importlib.import_module("govshare.audit.group_commit")
        writer = gc.writer_for(db)
        pending = gc.PendingEntry
    except (ImportError, AttributeError) as exc:
        return f"govshare.audit.group_commit is not available: {exc}"

    def append(n: int) -> None:
        writer.append(
            pending(
                actor=ACTOR,
                action=AuditAction.QUERY,
                object_type="bench_call",
                object_id=str(n),
                details=_details(n),
            )
        )

    return append


def _flushes(db: Database) -> int | None:
    """How many transactions the group-commit writer of ``db`` has committed so far."""
    try:
        gc = importlib.import_module("govshare.audit.group_commit")
        return int(gc.writer_for(db).flushes)
    except (ImportError, AttributeError):
        return None


def fill(db: Database, have: int, wanted: int) -> None:
    """Grow the chain to ``wanted`` entries: through the group-commit writer (queued in
    thousands, so that each flush links many) when it exists, else 2,000 entries per
    transaction through ``audit.services.record``. Not timed."""
    n = have
    gc: Any = None
    writer: Any = None
    try:
        gc = importlib.import_module("govshare.audit.group_commit")
        writer = gc.writer_for(db)
    except (ImportError, AttributeError):
        writer = None
    while n < wanted:
        size = min(5000, wanted - n)
        if writer is not None:
            futures = [
                writer.submit(
                    gc.PendingEntry(
                        actor=ACTOR,
                        action=AuditAction.QUERY,
                        object_type="bench_call",
                        object_id=str(n + i),
                        details=_details(n + i),
                    )
                )
                for i in range(size)
            ]
            for f in futures:
                f.result(timeout=600)
        else:
            with db.transaction() as tx:
                for i in range(size):
                    audit.record(
                        tx,
                        ACTOR,
                        AuditAction.QUERY,
                        "bench_call",
                        str(n + i),
                        details=_details(n + i),
                    )
        n += size


def sqlite_full(url: str) -> Database:
    """A second engine on the same file with an fsync per commit."""
    db = Database(url)

    @event.listens_for(db.engine, "connect")
    def _full(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA synchronous=FULL")

    return db


def run(cfg: Config, bp: BenchPlatform, report: Report) -> None:
    label = "SQLite" if bp.backend == "sqlite" else "PostgreSQL"
    s = cfg.sizes
    details: dict[str, object] = {}
    report.details[f"audit_{bp.backend}"] = details
    durable_db = sqlite_full(bp.url) if bp.backend == "sqlite" else bp.platform.db
    durability = "synchronous=FULL" if bp.backend == "sqlite" else "synchronous_commit=on"
    try:
        results: dict[str, float | str] = {}
        for path, make in (("group commit", _group_commit), ("one transaction per entry", _record)):
            append = make(durable_db)
            if isinstance(append, str):
                results[path] = append
                continue
            flushes = _flushes(durable_db)
            count, elapsed = concurrent(s.writers, s.audit_seconds, append)
            results[path] = count / elapsed
            row: dict[str, object] = {"entries": count, "seconds": elapsed}
            if path == "group commit" and flushes is not None:
                # commits (fsyncs) the entries shared: the batching the writer achieved
                row["flushes"] = (_flushes(durable_db) or 0) - flushes
            details[f"append {path}, {durability}"] = row
        if bp.backend == "sqlite":  # the platform's own setting, for comparison
            count, elapsed = concurrent(s.writers, s.audit_seconds, _record(bp.platform.db))
            details["append one transaction per entry, synchronous=NORMAL"] = {
                "entries": count,
                "seconds": elapsed,
            }
            results["normal"] = count / elapsed
    finally:
        if durable_db is not bp.platform.db:
            durable_db.dispose()

    for path in ("group commit", "one transaction per entry"):
        v = results[path]
        report.add(
            Row(
                f"audit appends, {s.writers} concurrent writers, {path}, "
                f"durable ({label}, {durability})",
                "entries/s",
                v if isinstance(v, float) else None,
                "target 5,000 entries/s",
                APPEND_TARGET,
                1.0 if path == "group commit" else 0.0,
                why_missing=v if isinstance(v, str) else "",
            )
        )
    if "normal" in results:
        v = results["normal"]
        report.add(
            Row(
                f"audit appends, {s.writers} concurrent writers, one transaction per entry "
                f"({label}, synchronous=NORMAL, the platform default)",
                "entries/s",
                v if isinstance(v, float) else None,
                "target 5,000 entries/s",
                APPEND_TARGET,
                0.0,
            )
        )

    # Grow the chain to the wanted length, then verify all of it.
    with bp.platform.db.read() as conn:
        from sqlalchemy import func, select

        from govshare.audit.tables import audit_entry

        have = int(conn.execute(select(func.count()).select_from(audit_entry)).scalar_one())
    fill(bp.platform.db, have, s.audit_entries)
    started = time.perf_counter()
    result = verify_chain(bp.platform.db, bp.platform.keys)
    elapsed = time.perf_counter() - started
    if not result.ok:
        raise RuntimeError(f"the audit chain does not verify: {result.summary()}")
    details["verify"] = {"entries": result.entries, "seconds": elapsed}
    report.add(
        Row(
            f"audit chain verification, {result.entries:,} entries ({label})",
            "entries/s",
            result.entries / elapsed,
            "target 300,000 entries/s",
            VERIFY_TARGET,
            1.0,
        )
    )
