"""The read side of notifications: a user's message centre, webhook subscriptions and the
delivery log.

Who sees a notice: a notice to one user (``username`` set) is that user's alone; a notice to
a department (``username`` empty) is seen by every user holding a role in that department,
each with their own read mark. Nobody sees another department's notices.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    exists,
    func,
    or_,
    select,
)

from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission, departments_where
from govshare.identity.tables import client_system, department
from govshare.kernel.actor import Actor, ActorKind
from govshare.kernel.errors import NotFound
from govshare.kernel.masking import SensitivityKind, mask
from govshare.notify.model import (
    EmailDelivery,
    Notice,
    NoticePage,
    Subscription,
    WebhookDelivery,
)
from govshare.notify.tables import (
    email_delivery,
    notification,
    notification_read,
    webhook_delivery,
    webhook_subscription,
)

PAGE_SIZE = 50
# The nav badge counts the unread notices of this window only, and stops at BADGE_CAP, so
# that it stays one short indexed query however long a department's history grows.
BADGE_WINDOW = timedelta(days=90)
BADGE_CAP = 99
LOG_LIMIT = 200


def _department_ids(actor: Actor) -> list[str]:
    return sorted({d for d, _ in actor.roles})


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """The notices ``actor`` (a user) may see: their own, and their departments'."""
    if actor.kind is not ActorKind.USER:
        return notification.c.id.is_(None)  # never true: the id is the primary key
    return or_(
        notification.c.username == actor.name,
        and_(
            notification.c.username.is_(None),
            notification.c.department_id.in_(_department_ids(actor)),
        ),
    )


def _read_join(actor: Actor) -> ColumnElement[bool]:
    return and_(
        notification_read.c.notification_id == notification.c.id,
        notification_read.c.username == actor.name,
    )


def _notice(row: Row[Any]) -> Notice:
    try:
        data = json.loads(row.data or "{}")
    except ValueError:
        data = {}
    return Notice(
        id=row.id,
        event=row.event,
        subject_zh=row.subject_zh,
        subject_en=row.subject_en,
        link=row.link or "",
        data=data if isinstance(data, dict) else {},
        created_at=row.created_at,
        department_id=row.department_id,
        department_name=row.department_name,
        username=row.username,
        read_at=row.read_at,
    )


def _notice_select(actor: Actor) -> Any:
    return (
        select(
            notification,
            department.c.short_name.label("department_name"),
            notification_read.c.read_at,
        )
        .select_from(notification)
        .outerjoin(department, department.c.id == notification.c.department_id)
        .outerjoin(notification_read, _read_join(actor))
        .where(visible_to(actor))
    )


def list_notices(
    conn: Connection, actor: Actor, *, unread_only: bool = False, page: int = 1
) -> NoticePage:
    """A page of the user's notices, newest first, with the number still unread."""
    page = max(page, 1)
    stmt = _notice_select(actor)
    if unread_only:
        stmt = stmt.where(notification_read.c.read_at.is_(None))
    rows = conn.execute(
        stmt.order_by(notification.c.created_at.desc(), notification.c.id.desc())
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    unread = conn.execute(
        select(func.count())
        .select_from(notification)
        .where(visible_to(actor), ~exists().where(_read_join(actor)))
    ).scalar_one()
    return NoticePage(
        notices=[_notice(r) for r in rows[:PAGE_SIZE]],
        unread=int(unread),
        page=page,
        has_more=len(rows) > PAGE_SIZE,
    )


def get_notice(conn: Connection, actor: Actor, notification_id: str) -> Notice:
    """One notice the user may see; NotFound for any other (another department's included)."""
    row = conn.execute(_notice_select(actor).where(notification.c.id == notification_id)).first()
    if row is None:
        raise NotFound("通知不存在", "no such notice", code="notice_not_found")
    return _notice(row)


def unread_badge(conn: Connection, actor: Actor, now: datetime) -> int:
    """Unread notices of the last BADGE_WINDOW, counted up to BADGE_CAP + 1 (the nav shows
    "99+" above the cap)."""
    if actor.kind is not ActorKind.USER:
        return 0
    inner = (
        select(notification.c.id)
        .where(
            visible_to(actor),
            notification.c.created_at >= now - BADGE_WINDOW,
            ~exists().where(_read_join(actor)),
        )
        .limit(BADGE_CAP + 1)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())


# Subscriptions and deliveries -------------------------------------------------------
def managed_department_ids(conn: Connection, actor: Actor) -> set[str]:
    """Departments whose client systems (and so whose webhooks) ``actor`` manages."""
    if actor.kind is ActorKind.CLIENT_SYSTEM:
        return {actor.department_id} if actor.department_id else set()
    depts = identity_queries.list_departments(conn)
    return {d.id for d in departments_where(actor, Permission.MANAGE_CLIENT_SYSTEMS, depts)}


def _subscription(row: Row[Any]) -> Subscription:
    try:
        events = tuple(str(e) for e in json.loads(row.events or "[]"))
    except ValueError:
        events = ()
    return Subscription(
        id=row.id,
        client_system_id=row.client_system_id,
        client_id=row.client_id,
        client_name=row.client_name,
        department_id=row.department_id,
        url=row.url,
        events=events,
        active=bool(row.active),
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _subscription_select() -> Any:
    return select(
        webhook_subscription.c.id,
        webhook_subscription.c.client_system_id,
        webhook_subscription.c.url,
        webhook_subscription.c.events,
        webhook_subscription.c.active,
        webhook_subscription.c.created_by,
        webhook_subscription.c.created_at,
        client_system.c.client_id,
        client_system.c.name.label("client_name"),
        client_system.c.department_id,
    ).join(client_system, client_system.c.id == webhook_subscription.c.client_system_id)


def list_subscriptions(
    conn: Connection,
    *,
    department_ids: set[str] | None = None,
    client_system_id: str | None = None,
) -> list[Subscription]:
    stmt = _subscription_select()
    if department_ids is not None:
        stmt = stmt.where(client_system.c.department_id.in_(sorted(department_ids)))
    if client_system_id is not None:
        stmt = stmt.where(webhook_subscription.c.client_system_id == client_system_id)
    rows = conn.execute(
        stmt.order_by(webhook_subscription.c.active.desc(), webhook_subscription.c.created_at)
    ).all()
    return [_subscription(r) for r in rows]


def get_subscription(conn: Connection, subscription_id: str) -> Subscription:
    row = conn.execute(
        _subscription_select().where(webhook_subscription.c.id == subscription_id)
    ).first()
    if row is None:
        raise NotFound("订阅不存在", "no such webhook subscription", code="webhook_not_found")
    return _subscription(row)


def list_webhook_deliveries(
    conn: Connection,
    *,
    department_ids: set[str],
    client_system_id: str | None = None,
    status: str | None = None,
    limit: int = LOG_LIMIT,
) -> list[WebhookDelivery]:
    """The webhook delivery log of the client systems of ``department_ids``, newest first."""
    stmt = (
        select(
            webhook_delivery,
            webhook_subscription.c.url,
            client_system.c.name.label("client_name"),
            notification.c.event,
        )
        .join(
            webhook_subscription,
            webhook_subscription.c.id == webhook_delivery.c.subscription_id,
        )
        .join(client_system, client_system.c.id == webhook_subscription.c.client_system_id)
        .join(notification, notification.c.id == webhook_delivery.c.notification_id)
        .where(client_system.c.department_id.in_(sorted(department_ids)))
    )
    if client_system_id is not None:
        stmt = stmt.where(client_system.c.id == client_system_id)
    if status:
        stmt = stmt.where(webhook_delivery.c.status == status)
    rows = conn.execute(
        stmt.order_by(webhook_delivery.c.created_at.desc(), webhook_delivery.c.id.desc()).limit(
            limit
        )
    ).all()
    return [
        WebhookDelivery(
            id=r.id,
            subscription_id=r.subscription_id,
            url=r.url,
            client_name=r.client_name,
            notification_id=r.notification_id,
            event=r.event,
            status=r.status,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            last_status=r.last_status,
            last_error=r.last_error or "",
            delivered_at=r.delivered_at,
            created_at=r.created_at,
        )
        for r in rows
    ]


def list_email_deliveries(
    conn: Connection, *, department_ids: set[str], limit: int = LOG_LIMIT
) -> list[EmailDelivery]:
    """The e-mail outbox of ``department_ids`` (addresses masked), newest first."""
    rows = conn.execute(
        select(email_delivery, notification.c.event)
        .join(notification, notification.c.id == email_delivery.c.notification_id)
        .where(notification.c.department_id.in_(sorted(department_ids)))
        .order_by(email_delivery.c.created_at.desc(), email_delivery.c.id.desc())
        .limit(limit)
    ).all()
    return [
        EmailDelivery(
            id=r.id,
            notification_id=r.notification_id,
            event=r.event,
            to_address=str(mask(r.to_address, SensitivityKind.EMAIL)),
            status=r.status,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            last_error=r.last_error or "",
            sent_at=r.sent_at,
            created_at=r.created_at,
        )
        for r in rows
    ]
