"""Read-side helpers for the sharing pages: who may see an application or a grant and in
which capacity, the tasks (待办) of a user's departments with the overdue steps of the
jurisdictions an authority governs, and display labels of resources.

Nothing here writes. The services decide every action again; the parties computed here only
choose what a page shows, and hide other departments' applications and grants (404).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, select

from govshare.catalog import queries as catalog_queries
from govshare.catalog.tables import resource, resource_version
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.kernel.actor import Actor, ActorKind, Role
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import NotFound
from govshare.sharing import queries
from govshare.sharing.model import Application, Grant, StepKind
from govshare.sharing.tables import application_step, share_application

# Roles whose holders answer for a department (the services' ``_provider_staff``).
STAFF_ROLES = (Role.DEPT_ADMIN, Role.APPROVER, Role.CATALOGUER)
# Roles whose holders file applications for a department (Permission.FILE_DEMAND).
FILER_ROLES = (Role.DATA_USER, Role.DEPT_ADMIN, Role.CATALOGUER, Role.AUTHORITY_ADMIN)


def member_departments(actor: Actor) -> set[str]:
    """The departments in which ``actor`` holds any role."""
    return {d for d, _ in actor.roles}


def staff_of(actor: Actor, department_id: str) -> bool:
    if actor.kind is ActorKind.SYSTEM:
        return True
    return any(actor.has_role(r, department_id) for r in STAFF_ROLES)


def files_for(actor: Actor, department_id: str) -> bool:
    return any(actor.has_role(r, department_id) for r in FILER_ROLES)


def authority_department(conn: Connection, dept: Department) -> Department | None:
    """The data authority of ``dept``'s jurisdiction or the nearest one above it."""
    jid: str | None = dept.jurisdiction_id
    while jid is not None:
        for d in identity_queries.list_departments(conn, jurisdiction_ids={jid}):
            if d.is_authority:
                return d
        jid = identity_queries.get_jurisdiction(conn, jid).parent_id
    return None


def governs(actor: Actor, jurisdiction_id: str) -> bool:
    return actor.has_role(Role.AUTHORITY_ADMIN) and jurisdiction_id in actor.governs


@dataclass(frozen=True)
class Parties:
    """In which capacities ``actor`` stands to an application or a grant."""

    consumer: bool = False  # staff of the consumer department (any role)
    consumer_filer: bool = False  # may file, negotiate, withdraw for the consumer
    provider: bool = False  # answers for the provider (its staff)
    agent: bool = False  # staff of the provider's delegated reviewer (SZ-16.1)
    provider_member: bool = False  # any role in the provider department
    authority: bool = False  # the authority governing the provider's jurisdiction

    @property
    def any(self) -> bool:
        return self.consumer or self.provider_member or self.agent or self.authority


def parties(
    conn: Connection, actor: Actor, consumer_id: str, provider_id: str
) -> tuple[Parties, Department, Department | None]:
    provider = identity_queries.get_department(conn, provider_id)
    agent_id = queries.delegated_reviewer_of(conn, provider_id)
    authority = authority_department(conn, provider)
    p = Parties(
        consumer=consumer_id in member_departments(actor),
        consumer_filer=files_for(actor, consumer_id),
        provider=staff_of(actor, provider_id),
        agent=agent_id is not None and staff_of(actor, agent_id),
        provider_member=provider_id in member_departments(actor),
        authority=authority is not None and governs(actor, authority.jurisdiction_id),
    )
    return p, provider, authority


def _hidden_application() -> NotFound:
    return NotFound("共享申请不存在或无权查看", "no such share application, or not yours to see")


def _hidden_grant() -> NotFound:
    return NotFound("授权不存在或无权查看", "no such grant, or not yours to see")


def visible_application(
    conn: Connection, actor: Actor, application_id: str
) -> tuple[Application, Parties]:
    """The application, for its parties and the authority over its provider; another
    department gets NotFound (it does not learn that the application exists)."""
    try:
        app = queries.get_application(conn, application_id)
    except NotFound:
        raise _hidden_application() from None
    p, _, _ = parties(conn, actor, app.consumer_department_id, app.provider_department_id)
    if not p.any and actor.kind is not ActorKind.SYSTEM:
        raise _hidden_application()
    return app, p


def provider_of_grant(conn: Connection, g: Grant) -> str:
    return catalog_queries.get_resource(conn, g.resource_id).provider_department_id


def visible_grant(conn: Connection, actor: Actor, grant_id: str) -> tuple[Grant, Parties, str]:
    """The grant with the actor's capacities and the provider department's id."""
    try:
        g = queries.get_grant(conn, grant_id)
    except NotFound:
        raise _hidden_grant() from None
    provider_id = provider_of_grant(conn, g)
    p, _, _ = parties(conn, actor, g.consumer_department_id, provider_id)
    if not p.any and actor.kind is not ActorKind.SYSTEM:
        raise _hidden_grant()
    return g, p, provider_id


# Tasks (待办) ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """An open step, as a row of the inbox."""

    step_id: str
    application_id: str
    kind: StepKind
    department_id: str | None  # the department responsible for the step
    resource_id: str
    consumer_department_id: str
    provider_department_id: str
    due_on: date | None
    due_provisional: bool
    overdue: bool
    days_left: int | None
    mine: bool  # the user's department must act (else: an overdue step it supervises)


def tasks(
    conn: Connection,
    department_ids: Iterable[str],
    governed_jurisdictions: Iterable[str] = (),
    today: date | None = None,
) -> list[Task]:
    """The open steps of ``department_ids`` (their inboxes, delegated decisions included),
    and the overdue open steps whose provider lies in ``governed_jurisdictions`` (the
    authority's supervision, HB-26); soonest due first, no due date last."""
    day = today or local_date(utcnow())
    mine: set[str] = set()
    for dept in sorted(set(department_ids)):
        mine |= {i.step_id for i in queries.inbox(conn, dept, day)}
    governed = set(governed_jurisdictions)
    supervised: set[str] = set()
    if governed:
        depts = [
            d.id
            for d in identity_queries.list_departments(conn, jurisdiction_ids=governed)
            if not d.is_operator
        ]
        if depts:
            supervised = {
                str(v)
                for v in conn.execute(
                    select(application_step.c.id)
                    .join(
                        share_application,
                        share_application.c.id == application_step.c.application_id,
                    )
                    .where(
                        application_step.c.at.is_(None),
                        application_step.c.due_on.is_not(None),
                        application_step.c.due_on < day,
                        share_application.c.provider_department_id.in_(depts),
                    )
                ).scalars()
            }
    ids = sorted(mine | supervised)
    if not ids:
        return []
    rows = conn.execute(
        select(
            application_step,
            share_application.c.resource_id,
            share_application.c.consumer_department_id,
            share_application.c.provider_department_id,
        )
        .join(share_application, share_application.c.id == application_step.c.application_id)
        .where(application_step.c.id.in_(ids))
    ).all()
    out = [
        Task(
            step_id=r.id,
            application_id=r.application_id,
            kind=StepKind(r.kind),
            department_id=r.department_id,
            resource_id=r.resource_id,
            consumer_department_id=r.consumer_department_id,
            provider_department_id=r.provider_department_id,
            due_on=r.due_on,
            due_provisional=bool(r.due_provisional),
            overdue=r.due_on is not None and r.due_on < day,
            days_left=(r.due_on - day).days if r.due_on is not None else None,
            mine=r.id in mine,
        )
        for r in rows
    ]
    out.sort(key=lambda t: (t.due_on is None, t.due_on or day, t.step_id))
    return out


# Labels ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResourceLabel:
    code: str
    name: str


def resource_labels(conn: Connection, resource_ids: Iterable[str]) -> dict[str, ResourceLabel]:
    """Code and name (of the published version, else the latest) of each resource."""
    ids = sorted(set(resource_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(
            resource.c.id,
            resource.c.code,
            resource.c.published_version_id,
            resource_version.c.id.label("vid"),
            resource_version.c.name,
            resource_version.c.version_no,
        )
        .join(resource_version, resource_version.c.resource_id == resource.c.id)
        .where(resource.c.id.in_(ids))
        .order_by(resource.c.id, resource_version.c.version_no)
    ).all()
    out: dict[str, ResourceLabel] = {}
    published: set[str] = set()
    for r in rows:
        if r.id in published:
            continue
        out[r.id] = ResourceLabel(r.code, r.name)
        if r.vid == r.published_version_id:
            published.add(r.id)
    return out


def version_label(conn: Connection, version_id: str) -> ResourceLabel:
    v = catalog_queries.get_version(conn, version_id)
    return ResourceLabel(v.code, v.entry.name)


def governs_any(actor: Actor) -> bool:
    """An authority admin governing at least one jurisdiction."""
    return actor.has_role(Role.AUTHORITY_ADMIN) and bool(actor.governs)
