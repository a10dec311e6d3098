"""Call statistics written in the audit group-commit flush (HB-26).

Every call's audit entry carries a ``CallStat`` as its payload; ``flush_stats`` (a flush
hook of the group-commit writer) sums the batch per grant, day and mode and upserts the
counters in the same transaction as the audit entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from govshare.audit.group_commit import PendingEntry
from govshare.audit.model import AuditEntry
from govshare.delivery.tables import LATENCY_BUCKETS_MS, delivery_call_stat, delivery_error_stat
from govshare.storage.engine import Transaction
from govshare.storage.prepared import PreparedWrite

NO_GRANT = "-"


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class CallStat:
    grant_id: str | None
    day: date
    mode: str
    consumer_department_id: str | None
    resource_id: str | None
    rows: int = 0
    latency_ms: float = 0.0
    error_code: str | None = None  # set on a refusal


def _bucket(ms: float) -> str:
    for bound in LATENCY_BUCKETS_MS:
        if ms <= bound:
            return f"lat_{bound}"
    return "lat_over"


COUNTERS = (
    "calls",
    "rows",
    "refusals",
    "latency_ms_sum",
    *(f"lat_{b}" for b in LATENCY_BUCKETS_MS),
    "lat_over",
)
_upserts: dict[str, tuple[PreparedWrite, PreparedWrite]] = {}


def _statements(dialect: str) -> tuple[PreparedWrite, PreparedWrite]:
    """The two upserts (call counters, refusal counts), built once per dialect and run
    with the driver's executemany, so that a flush compiles nothing."""
    found = _upserts.get(dialect)
    if found is None:
        # (imported here: the PostgreSQL dialect's package costs a process on SQLite 25 ms)
        from sqlalchemy.dialects import postgresql, sqlite

        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        t, e = delivery_call_stat, delivery_error_stat
        calls = insert(t)
        calls = calls.on_conflict_do_update(
            index_elements=[t.c.grant_id, t.c.day, t.c.mode],
            set_={c: t.c[c] + calls.excluded[c] for c in COUNTERS},
        )
        errors = insert(e)
        errors = errors.on_conflict_do_update(
            index_elements=[e.c.grant_id, e.c.day, e.c.mode, e.c.code],
            set_={"count": e.c.count + errors.excluded["count"]},
        )
        found = _upserts[dialect] = (PreparedWrite(calls), PreparedWrite(errors))
    return found


def flush_stats(tx: Transaction, done: Sequence[tuple[PendingEntry, AuditEntry]]) -> None:
    calls: dict[tuple[str, date, str], dict[str, Any]] = {}
    errors: dict[tuple[str, date, str, str], int] = {}
    for pending, _ in done:
        stat = pending.payload
        if not isinstance(stat, CallStat):
            continue
        if stat.error_code is not None:
            key4 = (stat.grant_id or NO_GRANT, stat.day, stat.mode, stat.error_code)
            errors[key4] = errors.get(key4, 0) + 1
        if stat.grant_id is None or stat.consumer_department_id is None:
            continue
        key = (stat.grant_id, stat.day, stat.mode)
        row = calls.setdefault(
            key,
            {
                "grant_id": stat.grant_id,
                "day": stat.day,
                "mode": stat.mode,
                "consumer_department_id": stat.consumer_department_id,
                "resource_id": stat.resource_id or "",
                "calls": 0,
                "rows": 0,
                "refusals": 0,
                "latency_ms_sum": 0.0,
                **{f"lat_{b}": 0 for b in LATENCY_BUCKETS_MS},
                "lat_over": 0,
            },
        )
        if stat.error_code is not None:
            row["refusals"] += 1
        else:
            row["calls"] += 1
            row["rows"] += stat.rows
            row["latency_ms_sum"] += stat.latency_ms
            row[_bucket(stat.latency_ms)] += 1
    calls_stmt, errors_stmt = _statements(tx.conn.dialect.name)
    if calls:
        calls_stmt.executemany(tx.conn, list(calls.values()))
    if errors:
        errors_stmt.executemany(
            tx.conn,
            [
                {"grant_id": g, "day": d, "mode": m, "code": c, "count": n}
                for (g, d, m, c), n in errors.items()
            ],
        )
