"""Read side of the audit log for the viewer and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, func, select

from govshare.audit.model import AuditEntry
from govshare.audit.tables import audit_checkpoint, audit_entry


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # actor id or name
    department_id: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def list_entries(
    conn: Connection, f: AuditFilter, *, page: int = 1, page_size: int = 50
) -> AuditPage:
    conds: list[ColumnElement[bool]] = []
    if f.actor:
        conds.append((audit_entry.c.actor_id == f.actor) | (audit_entry.c.actor_name == f.actor))
    if f.department_id:
        conds.append(audit_entry.c.actor_department_id == f.department_id)
    if f.action:
        conds.append(audit_entry.c.action == f.action)
    if f.object_type:
        conds.append(audit_entry.c.object_type == f.object_type)
    if f.object_id:
        conds.append(audit_entry.c.object_id == f.object_id)
    if f.since:
        conds.append(audit_entry.c.occurred_at >= f.since)
    if f.until:
        conds.append(audit_entry.c.occurred_at < f.until)
    total = conn.execute(select(func.count()).select_from(audit_entry).where(*conds)).scalar_one()
    page = max(1, page)
    rows = conn.execute(
        select(audit_entry)
        .where(*conds)
        .order_by(audit_entry.c.seq.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return AuditPage([AuditEntry(**r._mapping) for r in rows], int(total), page, page_size)


def latest_checkpoint(conn: Connection) -> tuple[int, datetime] | None:
    row = conn.execute(
        select(audit_checkpoint.c.seq, audit_checkpoint.c.signed_at)
        .order_by(audit_checkpoint.c.signed_at.desc())
        .limit(1)
    ).first()
    return (int(row.seq), row.signed_at) if row else None


def object_types(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(select(audit_entry.c.object_type).distinct()).all()]
