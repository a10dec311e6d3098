"""Coordination of cross-source conflicts (SQ-15, YX-17, HB-17, NX-27): what each party
sees, and the write path. The authority names the authoritative source (数源部门) of an
element, routes items and settles them after joint verification; the provider that must
correct reloads its data and marks the item corrected, or disputes it back to the
authority. Every step is one transaction with its audit entry and an event on the item.

Lock order: the cross-check lock before the audit lock, as in ``check_after_load``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, or_, select, update

from govshare.aggregation.crosscheck import (
    AuthoritativeSource,
    CoordinationEvent,
    CoordinationItem,
    EventAction,
    ItemStatus,
    Resolution,
    assignee_for,
    item_from_row,
    jurisdiction_parents,
    lock,
    record_event,
    source_for,
    source_from_row,
)
from govshare.aggregation.crosscheck_tables import (
    authoritative_source,
    coordination_event,
    coordination_item,
)
from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog.model import ResourceStatus
from govshare.catalog.standards import normalise
from govshare.catalog.tables import data_item, resource, resource_version
from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission, can, require
from govshare.kernel.actor import Actor
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.storage.engine import Database, Transaction


# Reading ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """What an actor sees: items of the jurisdictions it coordinates (the authority), and
    items naming a department whose pools it may view (the providers)."""

    jurisdictions: frozenset[str]
    departments: frozenset[str]
    acts_for: frozenset[str]  # departments whose data it loads (and so corrects)

    def sees(self, item: CoordinationItem) -> bool:
        return item.jurisdiction_id in self.jurisdictions or bool(
            set(item.department_ids) & self.departments
        )

    def coordinates(self, item: CoordinationItem) -> bool:
        return item.jurisdiction_id in self.jurisdictions


def scope_of(conn: Connection, actor: Actor) -> Scope:
    jurs = frozenset(
        j.id
        for j in identity_queries.list_jurisdictions(conn)
        if can(actor, Permission.COORDINATE, jurisdiction_id=j.id)
    )
    depts = identity_queries.list_departments(conn)
    sees = frozenset(
        d.id
        for d in depts
        if can(actor, Permission.VIEW_POOLS, department_id=d.id, jurisdiction_id=d.jurisdiction_id)
    )
    acts = frozenset(d.id for d in depts if can(actor, Permission.LOAD_DATA, department_id=d.id))
    return Scope(jurs, sees | acts, acts)


def list_items(
    conn: Connection,
    scope: Scope,
    *,
    element: str = "",
    department_id: str = "",
    status: str = "",
    key_fingerprints: list[str] | None = None,
    limit: int = 500,
) -> list[CoordinationItem]:
    c = coordination_item.c
    if not scope.jurisdictions and not scope.departments:
        return []
    q = select(coordination_item).where(
        or_(
            c.jurisdiction_id.in_(sorted(scope.jurisdictions)),
            c.department_a_id.in_(sorted(scope.departments)),
            c.department_b_id.in_(sorted(scope.departments)),
        )
    )
    if element.strip():
        q = q.where(c.element == normalise(element))
    if department_id:
        q = q.where(or_(c.department_a_id == department_id, c.department_b_id == department_id))
    if status == "unresolved":
        q = q.where(c.status != ItemStatus.RESOLVED.value)
    elif status:
        if status not in set(ItemStatus):
            raise ValidationFailed("状态不正确", "unknown status", field="status")
        q = q.where(c.status == status)
    if key_fingerprints is not None:
        q = q.where(c.key_fingerprint.in_(key_fingerprints))
    q = q.order_by(c.opened_at.desc(), c.id.desc()).limit(limit)
    return [item_from_row(r) for r in conn.execute(q).all()]


def get_item(conn: Connection, item_id: str) -> CoordinationItem:
    row = conn.execute(select(coordination_item).where(coordination_item.c.id == item_id)).first()
    if row is None:
        raise NotFound("协调事项不存在", "no such coordination item")
    return item_from_row(row)


def visible_item(conn: Connection, actor: Actor, item_id: str) -> CoordinationItem:
    """The item, or 404 for anyone who may not see it (as if it did not exist)."""
    item = get_item(conn, item_id)
    if not scope_of(conn, actor).sees(item):
        raise NotFound("协调事项不存在", "no such coordination item")
    return item


def events_of(conn: Connection, item_id: str) -> list[CoordinationEvent]:
    e = coordination_event.c
    rows = conn.execute(
        select(coordination_event).where(e.item_id == item_id).order_by(e.at, e.id)
    ).all()
    return [
        CoordinationEvent(
            r.at, EventAction(r.action), r.actor_name, r.department_id, r.batch_id, r.note
        )
        for r in rows
    ]


def list_sources(
    conn: Connection, jurisdiction_ids: set[str] | frozenset[str]
) -> list[AuthoritativeSource]:
    s = authoritative_source.c
    rows = conn.execute(
        select(authoritative_source)
        .where(s.jurisdiction_id.in_(sorted(jurisdiction_ids)))
        .order_by(s.element)
    ).all()
    return [source_from_row(r) for r in rows]


@dataclass(frozen=True)
class PublishedResource:
    id: str
    name: str
    department_id: str


def published_resources(
    conn: Connection, department_ids: set[str] | frozenset[str]
) -> list[PublishedResource]:
    """Live published resources of ``department_ids`` (choices for an authoritative source)."""
    rows = conn.execute(
        select(resource.c.id, resource_version.c.name, resource.c.provider_department_id)
        .join(resource_version, resource_version.c.id == resource.c.published_version_id)
        .where(
            resource.c.provider_department_id.in_(sorted(department_ids)),
            resource.c.status != ResourceStatus.RETIRED.value,
        )
        .order_by(resource_version.c.name)
    ).all()
    return [PublishedResource(r.id, r.name, r.provider_department_id) for r in rows]


def resource_names(conn: Connection, resource_ids: set[str]) -> dict[str, str]:
    rows = conn.execute(
        select(resource.c.id, resource.c.code, resource_version.c.name)
        .join(resource_version, resource_version.c.id == resource.c.published_version_id)
        .where(resource.c.id.in_(sorted(resource_ids)))
    ).all()
    return {r.id: f"{r.name}（{r.code}）" for r in rows}


# Coordination (the write path) ---------------------------------------------------------
def _locked_item(tx: Transaction, item_id: str) -> CoordinationItem:
    lock(tx)
    item = get_item(tx.conn, item_id)
    if item.status is ItemStatus.RESOLVED:
        raise Conflict("该协调事项已办结", "the item is already resolved", code="item_resolved")
    return item


def _names(conn: Connection) -> dict[str, str]:
    return {d.id: d.short_name for d in identity_queries.list_departments(conn)}


def _route(
    tx: Transaction,
    item: CoordinationItem,
    assignee: str,
    authoritative: str | None,
    *,
    actor: Actor,
    note: str,
) -> None:
    now = utcnow()
    tx.conn.execute(
        update(coordination_item)
        .where(coordination_item.c.id == item.id)
        .values(
            status=ItemStatus.ROUTED.value,
            assignee_department_id=assignee,
            authoritative_department_id=authoritative,
            disputed=False,
            routed_at=now,
            updated_at=now,
        )
    )
    record_event(tx, item.id, EventAction.ROUTED, actor, department_id=assignee, note=note)
    names = _names(tx.conn)
    audit.record(
        tx,
        actor,
        AuditAction.ASSIGN,
        "coordination_item",
        item.id,
        details={
            "element": item.element_label,
            "key": item.key_masked,
            "assignee": names.get(assignee, assignee),
            "authoritative": names.get(authoritative or "", None),
        },
    )


def _close(
    tx: Transaction, item: CoordinationItem, resolution: Resolution, *, actor: Actor, note: str
) -> None:
    now = utcnow()
    tx.conn.execute(
        update(coordination_item)
        .where(coordination_item.c.id == item.id)
        .values(
            status=ItemStatus.RESOLVED.value,
            resolution=resolution.value,
            resolved_at=now,
            resolved_by=actor.name,
            updated_at=now,
            open_key=None,
        )
    )
    action = EventAction.CORRECTED if resolution is Resolution.CORRECTED else EventAction.RESOLVED
    record_event(tx, item.id, action, actor, department_id=actor.department_id, note=note)
    audit.record(
        tx,
        actor,
        AuditAction.RESOLVE,
        "coordination_item",
        item.id,
        details={
            "element": item.element_label,
            "key": item.key_masked,
            "resolution": resolution.value,
            "responsible": _names(tx.conn).get(item.assignee_department_id or "", None),
        },
    )


def name_source(
    db: Database,
    *,
    actor: Actor,
    element: str,
    department_id: str,
    resource_id: str | None = None,
    note: str = "",
) -> AuthoritativeSource:
    """The authority names the authoritative source (数源部门) of ``element``: a department,
    or one of its resources. Unresolved items on the element are re-routed at once."""
    label = element.strip()
    norm = normalise(label)
    if not norm:
        raise ValidationFailed("请填写数据元素名称", "name the data element", field="element")
    with db.transaction() as tx:
        lock(tx)
        conn = tx.conn
        dept = identity_queries.get_department(conn, department_id)
        jid = dept.jurisdiction_id
        require(actor, Permission.COORDINATE, jurisdiction_id=jid)
        carries = (
            select(resource.c.id)
            .join(data_item, data_item.c.version_id == resource.c.published_version_id)
            .where(
                resource.c.provider_department_id == dept.id,
                resource.c.status != ResourceStatus.RETIRED.value,
                data_item.c.norm_name == norm,
            )
        )
        if resource_id:
            carries = carries.where(resource.c.id == resource_id)
        if conn.execute(carries.limit(1)).first() is None:
            raise ValidationFailed(
                f"{dept.short_name}没有载有“{label}”的已发布资源",
                f"{dept.short_name} publishes no resource with the element '{label}'",
                field="resource_id" if resource_id else "element",
            )
        s = authoritative_source.c
        existing = conn.execute(
            select(authoritative_source).where(s.jurisdiction_id == jid, s.element == norm)
        ).first()
        now = utcnow()
        values = dict(
            element_label=label,
            department_id=dept.id,
            resource_id=resource_id or None,
            note=note.strip(),
            named_by=actor.name,
            named_at=now,
        )
        if existing is None:
            sid = new_id()
            conn.execute(
                insert(authoritative_source).values(
                    id=sid, jurisdiction_id=jid, element=norm, **values
                )
            )
        else:
            sid = existing.id
            conn.execute(update(authoritative_source).where(s.id == sid).values(**values))
        audit.record(
            tx,
            actor,
            AuditAction.CREATE if existing is None else AuditAction.UPDATE,
            "authoritative_source",
            sid,
            details={"element": label, "department": dept.short_name, "resource": resource_id},
        )
        src = source_from_row(conn.execute(select(authoritative_source).where(s.id == sid)).one())
        parents = jurisdiction_parents(conn)
        c = coordination_item.c
        below = identity_queries.descendant_jurisdictions(conn, jid)
        rows = conn.execute(
            select(coordination_item).where(
                c.element == norm, c.open_key.is_not(None), c.jurisdiction_id.in_(sorted(below))
            )
        ).all()
        for row in rows:
            item = item_from_row(row)
            nearest = source_for(conn, parents, item.jurisdiction_id, norm)
            if nearest is None or nearest.id != src.id:
                continue
            assignee, authoritative = assignee_for(
                src,
                (item.a.resource_id, item.a.department_id),
                (item.b.resource_id, item.b.department_id),
            )
            if assignee is not None and (
                assignee != item.assignee_department_id or item.status is ItemStatus.OPEN
            ):
                _route(
                    tx,
                    item,
                    assignee,
                    authoritative,
                    actor=actor,
                    note=f"数源部门：{dept.short_name}",
                )
        return src


def route_item(
    db: Database, item_id: str, department_id: str, *, actor: Actor, note: str = ""
) -> None:
    """The authority assigns the item to one of the two providers to correct (YX-17)."""
    with db.transaction() as tx:
        item = _locked_item(tx, item_id)
        require(actor, Permission.COORDINATE, jurisdiction_id=item.jurisdiction_id)
        if department_id not in item.department_ids:
            raise ValidationFailed(
                "只能交由涉及的两个提供部门之一更正",
                "route the item to one of its two providers",
                field="department_id",
            )
        _route(tx, item, department_id, None, actor=actor, note=note.strip())


def resolve_item(db: Database, item_id: str, *, actor: Actor, note: str) -> None:
    """The authority closes the item after joint verification (SQ-15, HB-17)."""
    if not note.strip():
        raise ValidationFailed("请填写核实结论", "give the verification's conclusion", field="note")
    with db.transaction() as tx:
        item = _locked_item(tx, item_id)
        require(actor, Permission.COORDINATE, jurisdiction_id=item.jurisdiction_id)
        resolution = Resolution.CORRECTED if item.values_agree else Resolution.SETTLED
        _close(tx, item, resolution, actor=actor, note=note.strip())


def _acting_department(item: CoordinationItem, actor: Actor) -> str:
    """The provider department ``actor`` corrects the item for: the assignee once routed,
    else either named provider."""
    if item.status is ItemStatus.ROUTED and item.assignee_department_id:
        candidates: tuple[str, ...] = (item.assignee_department_id,)
    else:
        candidates = item.department_ids
    for dept_id in candidates:
        if can(actor, Permission.LOAD_DATA, department_id=dept_id):
            return dept_id
    raise Forbidden(
        "该协调事项不由本部门更正",
        "this item is not your department's to correct",
        code="not_item_assignee",
    )


def mark_corrected(db: Database, item_id: str, *, actor: Actor, note: str = "") -> None:
    """The provider corrected its data and reloaded it: the values agree again (HB-17)."""
    with db.transaction() as tx:
        item = _locked_item(tx, item_id)
        _acting_department(item, actor)
        if not item.values_agree:
            raise Conflict(
                "两个来源的数值仍不一致：请先汇聚更正后的数据，再标记已更正",
                "the two sources still differ: load the corrected data first, then mark it",
                code="values_still_differ",
            )
        _close(tx, item, Resolution.CORRECTED, actor=actor, note=note.strip())


def dispute_item(db: Database, item_id: str, *, actor: Actor, note: str) -> None:
    """The provider holds its value right: the item goes back to the authority (SQ-15)."""
    if not note.strip():
        raise ValidationFailed("请说明异议理由", "give the reason for the dispute", field="note")
    with db.transaction() as tx:
        item = _locked_item(tx, item_id)
        if item.status is not ItemStatus.ROUTED:
            raise Conflict(
                "只有交办给本部门的事项可以提出异议",
                "only an item routed to your department can be disputed",
                code="item_not_routed",
            )
        dept_id = _acting_department(item, actor)
        now = utcnow()
        tx.conn.execute(
            update(coordination_item)
            .where(coordination_item.c.id == item.id)
            .values(
                status=ItemStatus.OPEN.value,
                assignee_department_id=None,
                disputed=True,
                updated_at=now,
            )
        )
        record_event(
            tx, item.id, EventAction.DISPUTED, actor, department_id=dept_id, note=note.strip()
        )
        audit.record(
            tx,
            actor,
            AuditAction.RETURN,
            "coordination_item",
            item.id,
            details={
                "element": item.element_label,
                "key": item.key_masked,
                "dispute": note.strip(),
            },
        )
