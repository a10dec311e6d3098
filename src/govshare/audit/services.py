"""The audit write path. ``record`` is called by every service inside its own transaction."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select

from govshare.audit.keys import PlatformKeys
from govshare.audit.model import GENESIS_HASH, AuditAction, AuditEntry, canonical_json
from govshare.audit.tables import (
    audit_archive,
    audit_checkpoint,
    audit_entry,
    audit_purge_permit,
)
from govshare.kernel.actor import Actor
from govshare.kernel.clock import iso_utc, utcnow
from govshare.kernel.errors import Conflict, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.kernel.masking import mask_details
from govshare.storage.engine import Database, Transaction

AUDIT_LOCK_KEY = 0x6A75646974  # advisory-lock key that serialises appends on PostgreSQL


def _head(tx: Transaction) -> tuple[int, str]:
    row = tx.conn.execute(
        select(audit_entry.c.seq, audit_entry.c.hash).order_by(audit_entry.c.seq.desc()).limit(1)
    ).first()
    if row is not None:
        return int(row.seq), str(row.hash)
    anchor = tx.conn.execute(
        select(audit_archive.c.upto_seq, audit_archive.c.last_hash)
        .order_by(audit_archive.c.upto_seq.desc())
        .limit(1)
    ).first()
    if anchor is not None:
        return int(anchor.upto_seq), str(anchor.last_hash)
    return 0, GENESIS_HASH


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
    """The entry that follows ``(seq, prev_hash)``, details masked, hash computed (the one
    place an entry is built; ``record`` and the group-commit writer both use it)."""
    entry = AuditEntry(
        seq=seq + 1,
        occurred_at=occurred_at or utcnow(),
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_name=actor.name,
        actor_department_id=actor.department_id,
        action=AuditAction(action).value,
        object_type=object_type,
        object_id=str(object_id),
        purpose=purpose,
        case_no=case_no,
        details=canonical_json(mask_details(details or {})),
        prev_hash=prev_hash,
        hash="",
    )
    return replace(entry, hash=entry.computed_hash())


def entry_row(entry: AuditEntry) -> dict[str, Any]:
    """The ``audit_entry`` row of an entry."""
    return dict(entry.__dict__)


def chain_head(tx: Transaction) -> tuple[int, str]:
    """The chain's last (seq, hash), under the append lock (take ``tx.serialize(AUDIT_LOCK_KEY)``
    first)."""
    return _head(tx)


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
    tx.serialize(AUDIT_LOCK_KEY)
    seq, prev_hash = _head(tx)
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
    tx.conn.execute(insert(audit_entry).values(**entry_row(entry)))
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
