"""Read side of the catalog: entries, versions, history and diffs, search with facets,
review queue, change triggers, maintenance, demand and duty lists."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from govshare.catalog import search, search_results
from govshare.catalog.codec import ENTRY_COLUMNS, item_from_row, version_from_row
from govshare.catalog.model import (
    DataItem,
    DataItemInput,
    IdentifierKind,
    Resource,
    ResourceStatus,
    ResourceVersion,
    VersionState,
)
from govshare.catalog.standards import normalise
from govshare.catalog.tables import (
    catalog_change_trigger,
    catalog_entry,
    catalog_maintenance,
    catalog_release,
    data_item,
    demand,
    duty,
    joint_collection,
    resource,
    resource_version,
)
from govshare.kernel.errors import NotFound


def _resource(row: Any) -> Resource:
    m = row._mapping
    return Resource(
        id=m["id"],
        code=m["code"],
        provider_department_id=m["provider_department_id"],
        status=ResourceStatus(m["status"]),
        published_version_id=m["published_version_id"],
        draft_version_id=m["draft_version_id"],
        retired_reason=m["retired_reason"],
        replacement_resource_id=m["replacement_resource_id"],
        transition_ends_on=m["transition_ends_on"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def get_resource(conn: Connection, resource_id: str) -> Resource:
    row = conn.execute(select(resource).where(resource.c.id == resource_id)).first()
    if row is None:
        raise NotFound("信息资源不存在", "no such resource")
    return _resource(row)


def resource_by_code(conn: Connection, code: str) -> Resource | None:
    row = conn.execute(select(resource).where(resource.c.code == code)).first()
    return _resource(row) if row else None


def items_of(conn: Connection, version_id: str) -> list[DataItem]:
    rows = conn.execute(
        select(data_item).where(data_item.c.version_id == version_id).order_by(data_item.c.position)
    ).all()
    return [item_from_row(r) for r in rows]


def get_version(conn: Connection, version_id: str) -> ResourceVersion:
    row = conn.execute(
        select(resource_version, resource.c.code)
        .join(resource, resource.c.id == resource_version.c.resource_id)
        .where(resource_version.c.id == version_id)
    ).first()
    if row is None:
        raise NotFound("版本不存在", "no such version")
    return version_from_row(row, row.code, items_of(conn, version_id))


def published_version(conn: Connection, resource_id: str) -> ResourceVersion | None:
    res = get_resource(conn, resource_id)
    return get_version(conn, res.published_version_id) if res.published_version_id else None


def history(conn: Connection, resource_id: str) -> list[ResourceVersion]:
    ids = (
        conn.execute(
            select(resource_version.c.id)
            .where(resource_version.c.resource_id == resource_id)
            .order_by(resource_version.c.version_no.desc())
        )
        .scalars()
        .all()
    )
    return [get_version(conn, i) for i in ids]


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


def diff(a: ResourceVersion, b: ResourceVersion) -> list[FieldChange]:
    """Field-by-field differences from version ``a`` to version ``b`` (items included)."""
    out: list[FieldChange] = []
    for name in ENTRY_COLUMNS:
        va, vb = getattr(a.entry, name), getattr(b.entry, name)
        if va != vb:
            out.append(FieldChange(name, _show(va), _show(vb)))
    ia = {i.code: i for i in a.entry.data_items}
    ib = {i.code: i for i in b.entry.data_items}
    for code in sorted(set(ia) | set(ib)):
        if code not in ib:
            out.append(FieldChange(f"data_items.{code}", _item(ia[code]), ""))
        elif code not in ia:
            out.append(FieldChange(f"data_items.{code}", "", _item(ib[code])))
        elif ia[code] != ib[code]:
            for f in fields(DataItemInput):
                x, y = getattr(ia[code], f.name), getattr(ib[code], f.name)
                if x != y:
                    out.append(FieldChange(f"data_items.{code}.{f.name}", _show(x), _show(y)))
    return out


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(_show(v) for v in value)
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _item(i: DataItemInput) -> str:
    return f"{i.name} ({i.code}, {i.type.value}{'' if i.length is None else f'({i.length})'})"


@dataclass(frozen=True)
class Overlap:
    resource_id: str
    code: str
    name: str
    provider_department_id: str
    items: tuple[str, ...]


def overlapping_resources(conn: Connection, version: ResourceVersion) -> list[Overlap]:
    """Published resources of other departments that already provide items of ``version``
    (一数一源). Only distinctive items count: identifiers, base items, and items whose
    normalised name matches; a lone generic item (备注, 地址) does not make an overlap."""
    names = {normalise(i.name) for i in version.entry.data_items}
    codes = {i.code for i in version.entry.data_items}
    if not names:
        return []
    rows = conn.execute(
        select(
            resource.c.id,
            resource.c.code,
            catalog_entry.c.name,
            resource.c.provider_department_id,
            data_item.c.name.label("item"),
            data_item.c.norm_name,
            data_item.c.code.label("item_code"),
            data_item.c.identifier,
            data_item.c.base_item,
        )
        .join(catalog_entry, catalog_entry.c.resource_id == resource.c.id)
        .join(data_item, data_item.c.version_id == catalog_entry.c.version_id)
        .where(
            resource.c.provider_department_id != version.entry.provider_department_id,
            resource.c.id != version.resource_id,
            or_(data_item.c.norm_name.in_(sorted(names)), data_item.c.code.in_(sorted(codes))),
        )
    ).all()
    by_res: dict[str, list[Any]] = {}
    for r in rows:
        by_res.setdefault(r.id, []).append(r)
    out = []
    for rid, hits in by_res.items():
        strong = [h for h in hits if h.identifier != IdentifierKind.NONE.value or h.base_item]
        if not strong and len(hits) < 2:
            continue
        h0 = hits[0]
        out.append(
            Overlap(
                rid,
                h0.code,
                h0.name,
                h0.provider_department_id,
                tuple(sorted({h.item for h in hits})),
            )
        )
    return sorted(out, key=lambda o: (-len(o.items), o.code))


# Search (catalog/search_results.py, re-exported here for the pages) ------------------
FACETS = search.FACETS
SearchQuery = search_results.SearchQuery
SearchHit = search_results.SearchHit
SearchResult = search_results.SearchResult
search_catalog = search_results.search_catalog


# Lists -------------------------------------------------------------------------------
@dataclass(frozen=True)
class VersionRow:
    version_id: str
    resource_id: str
    code: str
    version_no: int
    name: str
    state: str
    provider_department_id: str
    submitted_at: datetime | None
    review_due: date | None
    review_due_provisional: bool
    updated_at: datetime


def _version_rows(conn: Connection, *conds: Any) -> list[VersionRow]:
    rows = conn.execute(
        select(
            resource_version.c.id.label("version_id"),
            resource_version.c.resource_id,
            resource.c.code,
            resource_version.c.version_no,
            resource_version.c.name,
            resource_version.c.state,
            resource_version.c.provider_department_id,
            resource_version.c.submitted_at,
            resource_version.c.review_due,
            resource_version.c.review_due_provisional,
            resource_version.c.updated_at,
        )
        .join(resource, resource.c.id == resource_version.c.resource_id)
        .where(*conds)
        .order_by(resource_version.c.updated_at.desc())
    ).all()
    return [VersionRow(**r._mapping) for r in rows]


def review_queue(conn: Connection, department_ids: set[str]) -> list[VersionRow]:
    rows = _version_rows(
        conn,
        resource_version.c.state == VersionState.SUBMITTED.value,
        resource_version.c.provider_department_id.in_(sorted(department_ids)),
    )
    return sorted(rows, key=lambda r: (r.review_due or date.max, r.submitted_at or r.updated_at))


def department_work(conn: Connection, department_id: str) -> list[VersionRow]:
    """A department's open drafts, submissions and returned versions."""
    return _version_rows(
        conn,
        resource_version.c.provider_department_id == department_id,
        resource_version.c.state.in_(
            [VersionState.DRAFT.value, VersionState.SUBMITTED.value, VersionState.RETURNED.value]
        ),
    )


def release_entries(conn: Connection, jurisdiction_ids: set[str]) -> list[list[Any]]:
    from govshare.identity.tables import department

    rows = conn.execute(
        select(catalog_entry.c.code, resource_version.c.version_no)
        .join(resource_version, resource_version.c.id == catalog_entry.c.version_id)
        .join(department, department.c.id == catalog_entry.c.provider_department_id)
        .where(department.c.jurisdiction_id.in_(sorted(jurisdiction_ids)))
        .order_by(catalog_entry.c.code)
    ).all()
    return [[r.code, int(r.version_no)] for r in rows]


def list_releases(conn: Connection, jurisdiction_id: str) -> list[Any]:
    return list(
        conn.execute(
            select(catalog_release)
            .where(catalog_release.c.jurisdiction_id == jurisdiction_id)
            .order_by(catalog_release.c.number.desc())
        ).all()
    )


@dataclass(frozen=True)
class ChangeTrigger:
    id: str
    department_id: str
    kind: str
    occurred_on: date
    description: str
    written_notice_ref: str
    update_due: date | None
    update_due_provisional: bool
    report_due: date | None
    reported_at: datetime | None
    resolved_at: datetime | None
    resolution: str

    def overdue(self, today: date) -> bool:
        return self.resolved_at is None and self.update_due is not None and today > self.update_due

    def report_overdue(self, today: date) -> bool:
        return self.reported_at is None and self.report_due is not None and today > self.report_due


def _trigger(row: Any) -> ChangeTrigger:
    return ChangeTrigger(**{f.name: row._mapping[f.name] for f in fields(ChangeTrigger)})


def get_change_trigger(conn: Connection, trigger_id: str) -> ChangeTrigger:
    row = conn.execute(
        select(catalog_change_trigger).where(catalog_change_trigger.c.id == trigger_id)
    ).first()
    if row is None:
        raise NotFound("变更事项不存在", "no such change record")
    return _trigger(row)


def change_triggers(
    conn: Connection, department_ids: set[str] | None = None, *, open_only: bool = False
) -> list[ChangeTrigger]:
    q = select(catalog_change_trigger).order_by(catalog_change_trigger.c.occurred_on.desc())
    if department_ids is not None:
        q = q.where(catalog_change_trigger.c.department_id.in_(sorted(department_ids)))
    if open_only:
        q = q.where(catalog_change_trigger.c.resolved_at.is_(None))
    return [_trigger(r) for r in conn.execute(q).all()]


@dataclass(frozen=True)
class MaintenanceStatus:
    department_id: str
    year: int
    completed_on: date | None

    def overdue(self, today: date) -> bool:
        """SQ-7: no full maintenance in ``year``; overdue once that year has ended."""
        return self.completed_on is None and today.year > self.year


def maintenance_status(
    conn: Connection, department_ids: list[str], year: int
) -> list[MaintenanceStatus]:
    rows = conn.execute(
        select(catalog_maintenance.c.department_id, func.max(catalog_maintenance.c.completed_on))
        .where(catalog_maintenance.c.year == year)
        .group_by(catalog_maintenance.c.department_id)
    ).all()
    done = {r[0]: r[1] for r in rows}
    return [MaintenanceStatus(d, year, done.get(d)) for d in department_ids]


@dataclass(frozen=True)
class Demand:
    id: str
    consumer_department_id: str
    title: str
    duty: str
    items: tuple[str, ...]
    status: str
    matched_resource_id: str | None
    created_at: datetime


def _demand(row: Any) -> Demand:
    m = row._mapping
    return Demand(
        m["id"],
        m["consumer_department_id"],
        m["title"],
        m["duty"],
        tuple(json.loads(m["items"])),
        m["status"],
        m["matched_resource_id"],
        m["created_at"],
    )


def get_demand(conn: Connection, demand_id: str) -> Demand:
    row = conn.execute(select(demand).where(demand.c.id == demand_id)).first()
    if row is None:
        raise NotFound("需求不存在", "no such demand")
    return _demand(row)


def list_demands(conn: Connection, department_ids: set[str] | None = None) -> list[Demand]:
    q = select(demand).order_by(demand.c.created_at.desc())
    if department_ids is not None:
        q = q.where(demand.c.consumer_department_id.in_(sorted(department_ids)))
    return [_demand(r) for r in conn.execute(q).all()]


def suggest_for_demand(conn: Connection, d: Demand, limit: int = 5) -> list[Overlap]:
    """Published resources that provide the demanded items (by normalised name)."""
    names = {normalise(i) for i in d.items}
    rows = conn.execute(
        select(
            catalog_entry.c.resource_id,
            catalog_entry.c.code,
            catalog_entry.c.name,
            catalog_entry.c.provider_department_id,
            data_item.c.name.label("item"),
        )
        .join(data_item, data_item.c.version_id == catalog_entry.c.version_id)
        .where(data_item.c.norm_name.in_(sorted(names)))
    ).all()
    by_res: dict[str, list[Any]] = {}
    for r in rows:
        by_res.setdefault(r.resource_id, []).append(r)
    out = [
        Overlap(
            k, v[0].code, v[0].name, v[0].provider_department_id, tuple(sorted({x.item for x in v}))
        )
        for k, v in by_res.items()
    ]
    return sorted(out, key=lambda o: (-len(o.items), o.code))[:limit]


@dataclass(frozen=True)
class Duty:
    id: str
    demand_id: str | None
    producer_department_id: str
    title: str
    items: tuple[str, ...]
    due_on: date
    status: str
    resource_id: str | None
    fulfilled_at: datetime | None

    def overdue(self, today: date) -> bool:
        return self.status == "assigned" and today > self.due_on


def list_duties(conn: Connection, department_ids: set[str] | None = None) -> list[Duty]:
    q = select(duty).order_by(duty.c.due_on)
    if department_ids is not None:
        q = q.where(duty.c.producer_department_id.in_(sorted(department_ids)))
    return [
        Duty(
            r.id,
            r.demand_id,
            r.producer_department_id,
            r.title,
            tuple(json.loads(r.items)),
            r.due_on,
            r.status,
            r.resource_id,
            r.fulfilled_at,
        )
        for r in conn.execute(q).all()
    ]


@dataclass(frozen=True)
class JointShareRow:
    group_id: str
    department_id: str
    items: tuple[str, ...]
    duty: str
    confirmed_at: datetime | None


def joint_collection_of(conn: Connection, resource_id: str) -> list[JointShareRow]:
    rows = conn.execute(
        select(joint_collection)
        .where(joint_collection.c.resource_id == resource_id)
        .order_by(joint_collection.c.registered_at, joint_collection.c.position)
    ).all()
    return [
        JointShareRow(
            r.group_id, r.department_id, tuple(json.loads(r.items)), r.duty, r.confirmed_at
        )
        for r in rows
    ]
