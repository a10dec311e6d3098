"""The audit write path. ``record`` is called by every service inside its own transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select

from govshare.audit.keys import PlatformKeys
from govshare.audit.model import (
    GENESIS_HASH,
    HASH_VERSION,
    AuditAction,
    AuditEntry,
    details_json,
    hash_v2,
    time_text,
)
from govshare.audit.tables import (
    audit_archive,
    audit_checkpoint,
    audit_entry,
    audit_purge_permit,
)
from govshare.kernel.actor import Actor
from govshare.kernel.clock import as_utc, iso_utc, utcnow
from govshare.kernel.errors import Conflict, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.kernel.masking import mask_details
from govshare.storage.engine import Database, Transaction, is_sqlite

AUDIT_LOCK_KEY = 0x6A75646974  # advisory-lock key that serialises appends on PostgreSQL


_HEAD_SQL = "SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1"
_COLUMNS = (
    "seq, occurred_at, actor_kind, actor_id, actor_name, actor_department_id, action, "
    "object_type, object_id, purpose, case_no, details, prev_hash, hash, hash_version"
)
_INSERT_SQL = {  # constant text: no value is ever formatted into it
    "sqlite": f"INSERT INTO audit_entry ({_COLUMNS}) VALUES ({', '.join(['?'] * 15)})",  # noqa: S608  # nosec B608 - identifiers quoted or constant, values bound
    "postgresql": f"INSERT INTO audit_entry ({_COLUMNS}) VALUES ({', '.join(['%s'] * 15)})",  # noqa: S608  # nosec B608 - identifiers quoted or constant, values bound
}


def _head(tx: Transaction) -> tuple[int, str]:
    cursor = tx.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_HEAD_SQL)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return _head_or_anchor(tx, None if row is None else (int(row[0]), str(row[1])))


def _head_or_anchor(tx: Transaction, head: tuple[int, str] | None) -> tuple[int, str]:
    """The last entry's (seq, hash); with no entry, the newest archive's anchor (a purge
    may have archived them all), else the genesis."""
    if head is not None:
        return head
    anchor = tx.conn.execute(
        select(audit_archive.c.upto_seq, audit_archive.c.last_hash)
        .order_by(audit_archive.c.upto_seq.desc())
        .limit(1)
    ).first()
    if anchor is not None:
        return int(anchor.upto_seq), str(anchor.last_hash)
    return 0, GENESIS_HASH


def lock_and_head(tx: Transaction) -> tuple[int, str]:
    """Take the append lock and read the chain's head. On PostgreSQL the lock and the read
    go in one pipeline (one round trip; the read is its own statement, so it sees what
    was committed before the lock was granted)."""
    if is_sqlite(tx.conn):  # BEGIN IMMEDIATE already holds the write lock
        return _head(tx)
    dbapi: Any = tx.conn.connection.driver_connection
    with dbapi.cursor() as lock, dbapi.cursor() as head:
        with dbapi.pipeline():
            lock.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK_KEY,))
            head.execute(_HEAD_SQL)
        row = head.fetchone()
    return _head_or_anchor(tx, None if row is None else (int(row[0]), str(row[1])))


def lock_head_insert(
    tx: Transaction, expected: tuple[int, str], rows: Sequence[tuple[Any, ...]]
) -> bool:
    """PostgreSQL, when the caller knows the head it last wrote: take the append lock, read
    the head and insert ``rows`` (linked to ``expected``) in ONE round trip. True when the
    head was ``expected``. Otherwise (another writer appended in between) the insert
    either failed on the unique ``seq`` or the link check, or must not stand: the caller
    rolls back and links again from the real head (``lock_and_head``)."""
    dbapi: Any = tx.conn.connection.driver_connection
    with dbapi.cursor() as lock, dbapi.cursor() as head, dbapi.cursor() as ins:
        with dbapi.pipeline():
            lock.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK_KEY,))
            head.execute(_HEAD_SQL)
            ins.executemany(_INSERT_SQL["postgresql"], list(rows))
        row = head.fetchone()
    return row is not None and (int(row[0]), str(row[1])) == expected


def occurred_param(tx: Transaction, moment: datetime) -> datetime | str:
    """What ``insert_rows`` binds as ``occurred_at``: on SQLite the UTC text itself (so that
    the stored text is exactly the text a version 2 hash covers), else the moment."""
    return time_text(moment) if is_sqlite(tx.conn) else as_utc(moment)


def insert_rows(tx: Transaction, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert entries given as raw tuples in ``_COLUMNS`` order (``occurred_at`` as
    ``occurred_param`` gives it), no ORM work per row: on PostgreSQL one driver
    executemany (psycopg pipelines it into one round trip), on SQLite one multi-row
    INSERT per ``SQLITE_ROWS_PER_INSERT`` rows."""
    sqlite = is_sqlite(tx.conn)
    cursor = tx.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if not sqlite:
            cursor.executemany(_INSERT_SQL["postgresql"], list(rows))
            return
        for at in range(0, len(rows), SQLITE_ROWS_PER_INSERT):
            part = rows[at : at + SQLITE_ROWS_PER_INSERT]
            cursor.execute(_sqlite_insert(len(part)), [v for row in part for v in row])
    finally:
        cursor.close()


SQLITE_ROWS_PER_INSERT = 200  # 3,000 bound values, far below SQLite's 32,766


@lru_cache(maxsize=SQLITE_ROWS_PER_INSERT)
def _sqlite_insert(rows: int) -> str:
    """One INSERT of ``rows`` rows: SQLite then steps once for the batch, where
    executemany steps once per row and hands the interpreter back and forth at each step
    (a flush of the group-commit writer then waited for the event loop's thread that
    many times)."""
    one = f"({', '.join(['?'] * 15)})"
    return f"INSERT INTO audit_entry ({_COLUMNS}) VALUES {', '.join([one] * rows)}"  # noqa: S608  # nosec B608 - constant text, values bound


def insert_entries(tx: Transaction, entries: Sequence[AuditEntry]) -> None:
    insert_rows(
        tx,
        [
            (
                e.seq,
                occurred_param(tx, e.occurred_at),
                e.actor_kind,
                e.actor_id,
                e.actor_name,
                e.actor_department_id,
                e.action,
                e.object_type,
                e.object_id,
                e.purpose,
                e.case_no,
                e.details,
                e.prev_hash,
                e.hash,
                e.hash_version,
            )
            for e in entries
        ],
    )


# An entry's columns from actor_kind to details, in audit.model's version 2 order.
Fields = tuple[str, str, str, str | None, str, str, str, str | None, str | None, str]


def entry_fields(
    actor: Actor,
    action: AuditAction,
    object_type: str,
    object_id: str,
    *,
    details: dict[str, Any] | None = None,
    purpose: str | None = None,
    case_no: str | None = None,
) -> Fields:
    """An entry's column values before it has a place in the chain: details masked and
    written as canonical JSON (the one place this is done)."""
    return (
        actor.kind.value,
        actor.id,
        actor.name,
        actor.department_id,
        action.value if isinstance(action, AuditAction) else AuditAction(action).value,
        object_type,
        str(object_id),
        purpose,
        case_no,
        details_json(mask_details(details or {})) if details else "{}",
    )


def chain_entry(
    seq: int,
    prev_hash: str,
    actor: Actor,
    action: AuditAction,
    object_type: str,
    object_id: str,
    *,
    details: dict[str, Any] | None = None,
    purpose: str | None = None,
    case_no: str | None = None,
    occurred_at: datetime | None = None,
) -> AuditEntry:
    """The entry that follows ``(seq, prev_hash)``, details masked, hash computed (the
    group-commit writer links its batches the same way, without the dataclass work)."""
    fields = entry_fields(
        actor,
        action,
        object_type,
        object_id,
        details=details,
        purpose=purpose,
        case_no=case_no,
    )
    moment = occurred_at or utcnow()
    digest = hash_v2((HASH_VERSION, seq + 1, time_text(moment), *fields, prev_hash))
    return AuditEntry(seq + 1, moment, *fields, prev_hash, digest, HASH_VERSION)


def record(
    tx: Transaction,
    actor: Actor,
    action: AuditAction,
    object_type: str,
    object_id: str,
    *,
    details: dict[str, Any] | None = None,
    purpose: str | None = None,
    case_no: str | None = None,
) -> AuditEntry:
    """Append one entry to the chain, inside the caller's transaction."""
    seq, prev_hash = lock_and_head(tx)
    entry = chain_entry(
        seq,
        prev_hash,
        actor,
        action,
        object_type,
        object_id,
        details=details,
        purpose=purpose,
        case_no=case_no,
    )
    insert_entries(tx, [entry])
    return entry


def checkpoint_message(seq: int, head_hash: str, signed_at: datetime) -> bytes:
    return f"govshare-audit-checkpoint:v1:{seq}:{head_hash}:{iso_utc(signed_at)}".encode()


@dataclass(frozen=True)
class Checkpoint:
    id: str
    seq: int
    head_hash: str
    signed_at: datetime
    key_id: str
    signature: str


def create_checkpoint(db: Database, keys: PlatformKeys, *, actor: Actor) -> Checkpoint:
    """Sign the chain's current head (periodically, and on demand)."""
    with db.transaction() as tx:
        tx.serialize(AUDIT_LOCK_KEY)
        seq, head_hash = _head(tx)
        signed_at = utcnow()
        cp = Checkpoint(
            id=new_id(),
            seq=seq,
            head_hash=head_hash,
            signed_at=signed_at,
            key_id=keys.key_id,
            signature=keys.sign(checkpoint_message(seq, head_hash, signed_at)),
        )
        tx.conn.execute(insert(audit_checkpoint).values(**cp.__dict__))
        record(
            tx,
            actor,
            AuditAction.CHECKPOINT,
            "audit_checkpoint",
            cp.id,
            details={"seq": seq, "head_hash": head_hash, "key_id": keys.key_id},
        )
    return cp


def checkpoint_if_moved(db: Database, keys: PlatformKeys, *, actor: Actor) -> Checkpoint | None:
    """The periodic checkpoint: sign the head only when entries were added since the last one
    (the checkpoint's own audit entry does not count as movement)."""
    with db.read() as conn:
        last = conn.execute(
            select(audit_checkpoint.c.seq).order_by(audit_checkpoint.c.seq.desc()).limit(1)
        ).scalar()
        head = conn.execute(select(func.max(audit_entry.c.seq))).scalar()
    if head is None or (last is not None and int(head) <= int(last) + 1):
        return None
    return create_checkpoint(db, keys, actor=actor)


@dataclass(frozen=True)
class PurgeResult:
    archive_file: Path
    first_seq: int
    upto_seq: int
    count: int


def purge(
    db: Database,
    *,
    before: datetime,
    min_retention_days: int,
    archive_dir: Path,
    actor: Actor,
) -> PurgeResult:
    """Archive and remove entries older than ``before``.

    Refused when ``before`` would remove entries younger than the retention minimum
    (NX-33: at least 6 months). The archive holds the entries and their linking hashes,
    so the chain stays verifiable across purges.
    """
    limit = utcnow() - timedelta(days=min_retention_days)
    if before > limit:
        raise ValidationFailed(
            f"审计日志至少保留{min_retention_days}天，不能清理{limit:%Y-%m-%d}之后的记录",
            f"audit entries must be kept for at least {min_retention_days} days; "
            f"nothing after {limit:%Y-%m-%d} may be purged",
            code="audit_retention",
            field="before",
        )
    with db.transaction() as tx:
        tx.serialize(AUDIT_LOCK_KEY)
        rows = tx.conn.execute(
            select(audit_entry)
            .where(audit_entry.c.occurred_at < before)
            .order_by(audit_entry.c.seq)
        ).all()
        if not rows:
            raise Conflict(
                "没有需要清理的审计记录", "no audit entries to purge", code="audit_nothing"
            )
        first_seq, upto_seq = int(rows[0].seq), int(rows[-1].seq)
        newer = tx.conn.execute(
            select(func.count())
            .select_from(audit_entry)
            .where(audit_entry.c.seq < upto_seq)
            .where(audit_entry.c.occurred_at >= before)
        ).scalar_one()
        if newer:
            raise Conflict(
                "审计记录时间顺序异常，拒绝清理",
                "audit entries are out of time order",
                code="audit_order",
            )
        archive_dir.mkdir(parents=True, exist_ok=True)
        path = archive_dir / f"audit-{first_seq:012d}-{upto_seq:012d}.jsonl"
        digest = hashlib.sha256()
        with path.open("w", encoding="utf-8") as fh:
            for r in rows:
                entry = AuditEntry(**r._mapping)
                line = json.dumps(entry.as_dict(), ensure_ascii=False, sort_keys=True) + "\n"
                digest.update(line.encode("utf-8"))
                fh.write(line)
        tx.conn.execute(insert(audit_purge_permit).values(upto_seq=upto_seq))
        tx.conn.execute(delete(audit_checkpoint).where(audit_checkpoint.c.seq <= upto_seq))
        tx.conn.execute(delete(audit_entry).where(audit_entry.c.seq <= upto_seq))
        tx.conn.execute(delete(audit_purge_permit))
        tx.conn.execute(
            insert(audit_archive).values(
                id=new_id(),
                first_seq=first_seq,
                upto_seq=upto_seq,
                last_hash=str(rows[-1].hash),
                entry_count=len(rows),
                file_name=path.name,
                file_sha256=digest.hexdigest(),
                created_at=utcnow(),
            )
        )
        record(
            tx,
            actor,
            AuditAction.PURGE,
            "audit_entry",
            f"{first_seq}-{upto_seq}",
            details={"count": len(rows), "archive": path.name, "sha256": digest.hexdigest()},
        )
    return PurgeResult(path, first_seq, upto_seq, len(rows))
