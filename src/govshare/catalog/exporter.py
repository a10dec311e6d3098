"""The published catalog (《目录》) as XLSX and as JSON, for a jurisdiction and those below it.

The XLSX has the import template's layout (:mod:`govshare.catalog.workbook`) plus a few
informational columns (资源代码, 版本, 提供部门…) that the import reads past, so an export
re-imports. Every export is recorded in the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog.codec import entry_from_row, item_from_row
from govshare.catalog.model import DataItem, EntryInput, OpenCategory, ResourceStatus
from govshare.catalog.tables import catalog_entry, data_item, resource_version
from govshare.catalog.workbook import (
    EXPORT_COLUMNS,
    SheetEntry,
    write_workbook,
)
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.identity.tables import department
from govshare.kernel.actor import Actor
from govshare.kernel.clock import iso_utc, utcnow
from govshare.rules import RuleProfile
from govshare.storage.engine import Database

OPEN_CATEGORIES = (OpenCategory.OPEN.value, OpenCategory.OPEN_ON_REQUEST.value)
STATUS_ZH = {ResourceStatus.PUBLISHED.value: "已发布", ResourceStatus.RETIRING.value: "下线过渡期"}
_CHUNK = 500


@dataclass(frozen=True)
class CatalogRecord:
    """One entry of the published catalog: its current published version."""

    resource_id: str
    code: str
    version_no: int
    status: str  # published | retiring
    first_published_at: datetime | None
    published_at: datetime | None  # of this version
    provider: Department
    entry: EntryInput


def _scope(conn: Connection, jurisdiction_id: str | None) -> list[str] | None:
    if jurisdiction_id is None:
        return None
    identity_queries.get_jurisdiction(conn, jurisdiction_id)
    return sorted(identity_queries.descendant_jurisdictions(conn, jurisdiction_id))


def _filtered(query: Any, scope: list[str] | None, open_only: bool) -> Any:
    if scope is not None:
        query = query.join(
            department, department.c.id == catalog_entry.c.provider_department_id
        ).where(department.c.jurisdiction_id.in_(scope))
    if open_only:
        query = query.where(catalog_entry.c.open_category.in_(OPEN_CATEGORIES))
    return query


def count_published(
    conn: Connection, *, jurisdiction_id: str | None = None, open_only: bool = False
) -> int:
    q = _filtered(
        select(func.count()).select_from(catalog_entry),
        _scope(conn, jurisdiction_id),
        open_only,
    )
    return int(conn.execute(q).scalar_one())


def published_records(
    conn: Connection,
    *,
    jurisdiction_id: str | None = None,
    open_only: bool = False,
    offset: int = 0,
    limit: int | None = None,
    after_code: str | None = None,
) -> list[CatalogRecord]:
    """The published catalog in resource-code order; ``open_only`` keeps the entries that
    are open or open on request (what the open portal publishes). Page with ``offset`` and
    ``limit``, or (stable under concurrent publication) with ``after_code``."""
    q = _filtered(
        select(
            resource_version,
            catalog_entry.c.code.label("entry_code"),
            catalog_entry.c.status.label("entry_status"),
        ).join(resource_version, resource_version.c.id == catalog_entry.c.version_id),
        _scope(conn, jurisdiction_id),
        open_only,
    ).order_by(catalog_entry.c.code)
    if after_code is not None:
        q = q.where(catalog_entry.c.code > after_code)
    if offset:
        q = q.offset(offset)
    if limit is not None:
        q = q.limit(limit)
    rows = conn.execute(q).all()
    return _records(conn, rows)


def iter_published(
    conn: Connection, *, jurisdiction_id: str | None = None, open_only: bool = False
) -> Iterator[CatalogRecord]:
    """The whole published catalog, read a chunk at a time."""
    after: str | None = None
    while True:
        chunk = published_records(
            conn,
            jurisdiction_id=jurisdiction_id,
            open_only=open_only,
            limit=_CHUNK,
            after_code=after,
        )
        yield from chunk
        if len(chunk) < _CHUNK:
            return
        after = chunk[-1].code


def _records(conn: Connection, rows: Sequence[Any]) -> list[CatalogRecord]:
    if not rows:
        return []
    version_ids = [r.id for r in rows]
    resource_ids = [r.resource_id for r in rows]
    items: dict[str, list[DataItem]] = {v: [] for v in version_ids}
    for r in conn.execute(
        select(data_item)
        .where(data_item.c.version_id.in_(version_ids))
        .order_by(data_item.c.version_id, data_item.c.position)
    ).all():
        items[r.version_id].append(item_from_row(r))
    first = dict(
        conn.execute(
            select(resource_version.c.resource_id, func.min(resource_version.c.published_at))
            .where(resource_version.c.resource_id.in_(resource_ids))
            .group_by(resource_version.c.resource_id)
        ).all()
    )
    providers = {
        d.id: d
        for d in identity_queries.list_departments(conn)
        if d.id in {r.provider_department_id for r in rows}
    }
    return [
        CatalogRecord(
            resource_id=r.resource_id,
            code=r.entry_code,
            version_no=int(r.version_no),
            status=r.entry_status,
            first_published_at=first.get(r.resource_id),
            published_at=r.published_at,
            provider=providers[r.provider_department_id],
            entry=entry_from_row(r, items[r.id]),
        )
        for r in rows
    ]


def _audit_export(
    db: Database, actor: Actor, fmt: str, jurisdiction_id: str | None, count: int
) -> None:
    with db.transaction() as tx:
        audit.record(
            tx,
            actor,
            AuditAction.EXPORT,
            "catalog",
            jurisdiction_id or "all",
            details={"format": fmt, "entries": count},
        )


def catalog_workbook(
    conn: Connection, *, jurisdiction_id: str | None = None, profile: RuleProfile | None = None
) -> tuple[bytes, int]:
    """The published catalog in the template's layout (so that it re-imports), and the
    number of entries. Reads only; :func:`export_xlsx` is the audited export."""
    departments = {d.id: d for d in identity_queries.list_departments(conn)}
    rows = [
        SheetEntry(
            rec.entry,
            {
                "资源代码": rec.code,
                "版本": str(rec.version_no),
                "提供部门": rec.provider.name,
                "提供部门统一社会信用代码": rec.provider.uscc,
                "状态": STATUS_ZH.get(rec.status, rec.status),
                "发布时间": iso_utc(rec.published_at) if rec.published_at else "",
            },
        )
        for rec in iter_published(conn, jurisdiction_id=jurisdiction_id)
    ]
    data = write_workbook(profile, rows, departments=departments, extra_headers=EXPORT_COLUMNS)
    return data, len(rows)


def export_xlsx(
    db: Database,
    *,
    actor: Actor,
    jurisdiction_id: str | None = None,
    profile: RuleProfile | None = None,
) -> bytes:
    """The published catalog as XLSX; the export is recorded in the audit log."""
    with db.read() as conn:
        data, count = catalog_workbook(conn, jurisdiction_id=jurisdiction_id, profile=profile)
    _audit_export(db, actor, "xlsx", jurisdiction_id, count)
    return data


def record_json(rec: CatalogRecord, departments: Mapping[str, Department]) -> dict[str, Any]:
    """One entry as JSON: English field names, enum codes, UTC timestamps."""
    e = rec.entry

    def value(v: Any) -> Any:
        return getattr(v, "value", v)

    body: dict[str, Any] = {
        "code": rec.code,
        "version": rec.version_no,
        "status": rec.status,
        "first_published_at": iso_utc(rec.first_published_at) if rec.first_published_at else None,
        "published_at": iso_utc(rec.published_at) if rec.published_at else None,
        "provider": {
            "id": rec.provider.id,
            "name": rec.provider.name,
            "uscc": rec.provider.uscc,
        },
    }
    for f in fields(EntryInput):
        name, v = f.name, getattr(e, f.name)
        if name in ("provider_department_id", "data_items", "dedicated_department_ids"):
            continue
        body[name] = [value(x) for x in v] if isinstance(v, tuple) else value(v)
    body["dedicated_departments"] = [
        {"id": d, "name": departments[d].name, "uscc": departments[d].uscc}
        if d in departments
        else {"id": d}
        for d in e.dedicated_department_ids
    ]
    body["data_items"] = [
        {f.name: value(getattr(item, f.name)) for f in fields(item)} for item in e.data_items
    ]
    return body


def catalog_json(conn: Connection, *, jurisdiction_id: str | None = None) -> dict[str, Any]:
    """The published catalog as one JSON document. Reads only; :func:`export_json` is the
    audited export."""
    departments = {d.id: d for d in identity_queries.list_departments(conn)}
    scope = identity_queries.get_jurisdiction(conn, jurisdiction_id) if jurisdiction_id else None
    entries = [
        record_json(rec, departments)
        for rec in iter_published(conn, jurisdiction_id=jurisdiction_id)
    ]
    return {
        "title": "政务信息资源目录",
        "generated_at": iso_utc(utcnow()),
        "jurisdiction": (
            {"id": scope.id, "code": scope.code, "name": scope.name} if scope else None
        ),
        "count": len(entries),
        "entries": entries,
    }


def export_json(
    db: Database, *, actor: Actor, jurisdiction_id: str | None = None
) -> dict[str, Any]:
    """The published catalog as JSON; the export is recorded in the audit log."""
    with db.read() as conn:
        body = catalog_json(conn, jurisdiction_id=jurisdiction_id)
    _audit_export(db, actor, "json", jurisdiction_id, int(body["count"]))
    return body
