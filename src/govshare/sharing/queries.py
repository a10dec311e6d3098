"""The read side of sharing: applications with their timeline, grants, and inboxes (待办)
sorted by due date with overdue flags."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Connection, or_, select

from govshare.catalog.tables import resource
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import NotFound
from govshare.sharing.model import (
    Application,
    ApplicationRow,
    ApplicationState,
    Attachment,
    AttachmentKind,
    Grant,
    GrantItem,
    GrantStatus,
    InboxItem,
    Masking,
    Negotiation,
    NegotiationMessage,
    NegotiationOutcome,
    NegotiationState,
    OnwardConsent,
    Purpose,
    Step,
    StepDecision,
    StepKind,
)
from govshare.sharing.tables import (
    application_step,
    attachment,
    delegated_reviewer,
    negotiation,
    negotiation_message,
    onward_consent,
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
        renews_grant_id=r.renews_grant_id,
        controlled_parameters=r.controlled_parameters,
    )


def get_grant(conn: Connection, grant_id: str) -> Grant:
    r = conn.execute(select(share_grant).where(share_grant.c.id == grant_id)).first()
    if r is None:
        raise NotFound("授权不存在", "no such grant")
    return _grant(r)


def _grant(r: Any) -> Grant:
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
        rate_limit_per_minute=r.rate_limit_per_minute,
        quota_per_day=r.quota_per_day,
        controlled_parameters=r.controlled_parameters,
        transition_until=r.transition_until,
        replacement_code=r.replacement_code,
        renewed_from=r.renewed_from,
        destruction_confirmed_at=r.destruction_confirmed_at,
        destruction_confirmed_by=r.destruction_confirmed_by,
        destruction_note=r.destruction_note,
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
    rows = conn.execute(
        select(share_grant)
        .where(share_grant.c.consumer_department_id == consumer_department_id)
        .order_by(share_grant.c.created_at, share_grant.c.id)
    ).all()
    return [_grant(r) for r in rows]


def grants_where(
    conn: Connection,
    *,
    consumer_department_ids: set[str] | None = None,
    provider_department_ids: set[str] | None = None,
    resource_id: str | None = None,
    status: GrantStatus | None = None,
    limit: int = 500,
) -> list[Grant]:
    """Grants for the consumer's, the provider's or the authority's grant pages (None: no
    filter on that side; the caller narrows by its policy)."""
    q = select(share_grant)
    if consumer_department_ids is not None:
        q = q.where(share_grant.c.consumer_department_id.in_(consumer_department_ids))
    if provider_department_ids is not None:
        q = q.join(resource, resource.c.id == share_grant.c.resource_id).where(
            resource.c.provider_department_id.in_(provider_department_ids)
        )
    if resource_id is not None:
        q = q.where(share_grant.c.resource_id == resource_id)
    if status is not None:
        q = q.where(share_grant.c.status == status.value)
    rows = conn.execute(
        q.order_by(share_grant.c.created_at.desc(), share_grant.c.id).limit(limit)
    ).all()
    return [_grant(r) for r in rows]


def applications_where(
    conn: Connection,
    *,
    consumer_department_ids: set[str] | None = None,
    provider_department_ids: set[str] | None = None,
    states: tuple[ApplicationState, ...] = (),
    limit: int = 500,
) -> list[ApplicationRow]:
    """A light list of applications (no timeline), newest first."""
    q = select(
        share_application.c.id,
        share_application.c.consumer_department_id,
        share_application.c.provider_department_id,
        share_application.c.resource_id,
        share_application.c.state,
        share_application.c.purpose,
        share_application.c.submitted_at,
        share_application.c.share_category,
        share_application.c.grant_id,
    )
    conds = []
    if consumer_department_ids is not None:
        conds.append(share_application.c.consumer_department_id.in_(consumer_department_ids))
    if provider_department_ids is not None:
        conds.append(share_application.c.provider_department_id.in_(provider_department_ids))
    if conds:
        q = q.where(or_(*conds))
    if states:
        q = q.where(share_application.c.state.in_([s.value for s in states]))
    rows = conn.execute(
        q.order_by(share_application.c.submitted_at.desc(), share_application.c.id).limit(limit)
    ).all()
    return [
        ApplicationRow(
            id=r.id,
            consumer_department_id=r.consumer_department_id,
            provider_department_id=r.provider_department_id,
            resource_id=r.resource_id,
            state=ApplicationState(r.state),
            purpose=Purpose(r.purpose),
            submitted_at=r.submitted_at,
            share_category=r.share_category,
            grant_id=r.grant_id,
        )
        for r in rows
    ]


def destruction_due(conn: Connection, consumer_department_id: str) -> list[Grant]:
    """Ended grants whose destruction the consumer has not yet confirmed (SZ-27)."""
    return [g for g in grants_of(conn, consumer_department_id) if g.destruction_due]


def negotiation_of(conn: Connection, application_id: str) -> Negotiation | None:
    r = conn.execute(
        select(negotiation).where(negotiation.c.application_id == application_id)
    ).first()
    return _negotiation(conn, r) if r is not None else None


def get_negotiation(conn: Connection, negotiation_id: str) -> Negotiation:
    r = conn.execute(select(negotiation).where(negotiation.c.id == negotiation_id)).first()
    if r is None:
        raise NotFound("协商记录不存在", "no such negotiation")
    return _negotiation(conn, r)


def _negotiation(conn: Connection, r: Any) -> Negotiation:
    msgs = conn.execute(
        select(negotiation_message)
        .where(negotiation_message.c.negotiation_id == r.id)
        .order_by(negotiation_message.c.at, negotiation_message.c.id)
    ).all()
    return Negotiation(
        id=r.id,
        application_id=r.application_id,
        state=NegotiationState(r.state),
        opened_by=r.opened_by,
        opened_at=r.opened_at,
        escalated_at=r.escalated_at,
        closed_at=r.closed_at,
        outcome=NegotiationOutcome(r.outcome) if r.outcome else None,
        outcome_reason=r.outcome_reason,
        messages=tuple(
            NegotiationMessage(m.id, m.department_id, m.author, m.at, m.body) for m in msgs
        ),
    )


def attachments_of(conn: Connection, owner_kind: str, owner_id: str) -> list[Attachment]:
    rows = conn.execute(
        select(attachment)
        .where(attachment.c.owner_kind == owner_kind, attachment.c.owner_id == owner_id)
        .order_by(attachment.c.uploaded_at, attachment.c.id)
    ).all()
    return [_attachment(r) for r in rows]


def get_attachment(conn: Connection, attachment_id: str) -> Attachment:
    r = conn.execute(select(attachment).where(attachment.c.id == attachment_id)).first()
    if r is None:
        raise NotFound("附件不存在", "no such attachment")
    return _attachment(r)


def _attachment(r: Any) -> Attachment:
    return Attachment(
        id=r.id,
        owner_kind=r.owner_kind,
        owner_id=r.owner_id,
        kind=AttachmentKind(r.kind),
        filename=r.filename,
        content_type=r.content_type,
        size=r.size,
        sha256=r.sha256,
        uploaded_by=r.uploaded_by,
        uploaded_at=r.uploaded_at,
    )


def onward_consents(conn: Connection, grant_id: str) -> list[OnwardConsent]:
    rows = conn.execute(
        select(onward_consent)
        .where(onward_consent.c.grant_id == grant_id)
        .order_by(onward_consent.c.consented_at)
    ).all()
    return [
        OnwardConsent(r.id, r.grant_id, r.recipient, r.purpose, r.consented_by, r.consented_at)
        for r in rows
    ]
