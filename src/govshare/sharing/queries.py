"""The read side of sharing: applications with their timeline, grants, and inboxes (待办)
sorted by due date with overdue flags."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import NotFound
from govshare.sharing.model import (
    Application,
    ApplicationState,
    Grant,
    GrantItem,
    GrantStatus,
    InboxItem,
    Masking,
    Purpose,
    Step,
    StepDecision,
    StepKind,
)
from govshare.sharing.tables import (
    application_step,
    delegated_reviewer,
    share_application,
    share_grant,
)


def _step(r: Any) -> Step:
    return Step(
        id=r.id,
        application_id=r.application_id,
        kind=StepKind(r.kind),
        department_id=r.department_id,
        opened_at=r.opened_at,
        due_on=r.due_on,
        due_provisional=bool(r.due_provisional),
        actor=r.actor,
        at=r.at,
        decision=StepDecision(r.decision) if r.decision else None,
        reason=r.reason,
        agent_department_id=r.agent_department_id,
    )


def steps_of(conn: Connection, application_id: str) -> list[Step]:
    rows = conn.execute(
        select(application_step)
        .where(application_step.c.application_id == application_id)
        .order_by(application_step.c.opened_at, application_step.c.id)
    ).all()
    return [_step(r) for r in rows]


def get_application(conn: Connection, application_id: str) -> Application:
    r = conn.execute(
        select(share_application).where(share_application.c.id == application_id)
    ).first()
    if r is None:
        raise NotFound("共享申请不存在", "no such share application")
    return Application(
        id=r.id,
        consumer_department_id=r.consumer_department_id,
        provider_department_id=r.provider_department_id,
        resource_id=r.resource_id,
        version_id=r.version_id,
        items=tuple(json.loads(r.items)),
        modes=tuple(json.loads(r.modes)),
        purpose=Purpose(r.purpose),
        scenario=r.scenario,
        legal_basis=r.legal_basis,
        client_system_id=r.client_system_id,
        valid_until=r.valid_until,
        batch_justification=r.batch_justification,
        share_category=r.share_category,
        state=ApplicationState(r.state),
        submitted_at=r.submitted_at,
        submitted_by=r.submitted_by,
        grant_id=r.grant_id,
        steps=tuple(steps_of(conn, application_id)),
    )


def get_grant(conn: Connection, grant_id: str) -> Grant:
    r = conn.execute(select(share_grant).where(share_grant.c.id == grant_id)).first()
    if r is None:
        raise NotFound("授权不存在", "no such grant")
    return Grant(
        id=r.id,
        application_id=r.application_id,
        consumer_department_id=r.consumer_department_id,
        client_system_id=r.client_system_id,
        resource_id=r.resource_id,
        version_id=r.version_id,
        items=tuple(GrantItem(i["code"], Masking(i["masking"])) for i in json.loads(r.items)),
        modes=tuple(json.loads(r.modes)),
        purpose=r.purpose,
        valid_until=r.valid_until,
        status=GrantStatus(r.status),
        reason=r.reason,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def delegated_reviewer_of(conn: Connection, provider_department_id: str) -> str | None:
    v = conn.execute(
        select(delegated_reviewer.c.agent_department_id).where(
            delegated_reviewer.c.provider_department_id == provider_department_id
        )
    ).scalar()
    return str(v) if v is not None else None


def inbox(conn: Connection, department_id: str, today: date | None = None) -> list[InboxItem]:
    """Open steps the department must act on, soonest due first (no due date last); a
    delegated reviewer also sees its providers' open decisions (SZ-16.1)."""
    day = today or local_date(utcnow())
    principals = [
        str(v)
        for v in conn.execute(
            select(delegated_reviewer.c.provider_department_id).where(
                delegated_reviewer.c.agent_department_id == department_id
            )
        ).scalars()
    ]
    own = application_step.c.department_id == department_id
    cond = own
    if principals:
        cond = own | (
            application_step.c.department_id.in_(principals)
            & (application_step.c.kind == StepKind.DECISION.value)
            & (share_application.c.share_category == "conditional")
        )
    rows = conn.execute(
        select(
            application_step,
            share_application.c.resource_id,
            share_application.c.consumer_department_id,
        )
        .join(share_application, share_application.c.id == application_step.c.application_id)
        .where(application_step.c.at.is_(None), cond)
    ).all()
    items = [
        InboxItem(
            step_id=r.id,
            application_id=r.application_id,
            kind=StepKind(r.kind),
            resource_id=r.resource_id,
            consumer_department_id=r.consumer_department_id,
            due_on=r.due_on,
            due_provisional=bool(r.due_provisional),
            overdue=r.due_on is not None and r.due_on < day,
            days_left=(r.due_on - day).days if r.due_on is not None else None,
        )
        for r in rows
    ]
    items.sort(key=lambda i: (i.due_on is None, i.due_on or day, i.step_id))
    return items


def grants_of(conn: Connection, consumer_department_id: str) -> list[Grant]:
    ids = conn.execute(
        select(share_grant.c.id)
        .where(share_grant.c.consumer_department_id == consumer_department_id)
        .order_by(share_grant.c.created_at)
    ).scalars()
    return [get_grant(conn, str(i)) for i in ids]
