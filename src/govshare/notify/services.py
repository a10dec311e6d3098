"""The write side of notifications: an outbox.

``notify`` runs inside the caller's transaction. It writes the in-app notice (for a user or
a whole department), one ``webhook_delivery`` row per matching subscription of the
department's client systems, and one ``email_delivery`` row when the department has a
contact address. Nothing leaves the platform before the transaction commits: the rows are
the outbox, and ``tx.after_commit`` wakes the dispatcher (``notify.dispatch``), which sends
them, retrying with backoff. A rolled-back transaction therefore notifies nobody.

Notices carry no raw sensitive values: ``data`` passes through the masking module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import exists, insert, select

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.identity.policy import Permission, require
from govshare.identity.tables import client_system, department
from govshare.kernel.actor import Actor
from govshare.kernel.clock import utcnow
from govshare.kernel.ids import new_id
from govshare.kernel.masking import mask_details
from govshare.notify import queries
from govshare.notify.model import Notice
from govshare.notify.tables import (
    email_delivery,
    notification,
    notification_read,
    webhook_delivery,
    webhook_subscription,
)
from govshare.storage.engine import Database, Transaction

log = structlog.get_logger("govshare.notify")

# Called after a commit that wrote notices; set by the process that can send them (the web
# app and the job worker). With none set, the rows wait for the worker's periodic sweep.
_wake: list[Callable[[], None]] = []


def set_waker(fn: Callable[[], None] | None) -> None:
    _wake.clear()
    if fn is not None:
        _wake.append(fn)


def clear_waker(fn: Callable[[], None]) -> None:
    """Remove ``fn`` if it is the waker (a process shutting down its dispatcher)."""
    if fn in _wake:
        _wake.remove(fn)


def _wake_dispatcher() -> None:
    # after commit: a failing waker must not turn a committed request into an error; the
    # periodic sweep sends the rows anyway
    for fn in list(_wake):
        try:
            fn()
        except Exception as exc:
            log.warning("notify_waker_failed", error=type(exc).__name__)


def _matches(events_json: str, event: str) -> bool:
    prefixes = json.loads(events_json or "[]")
    return not prefixes or any(event == p or event.startswith(p + ".") for p in prefixes)


def notify(
    tx: Transaction,
    *,
    event: str,
    subject_zh: str,
    subject_en: str,
    department_id: str | None = None,
    username: str | None = None,
    link: str = "",
    data: dict[str, Any] | None = None,
) -> str:
    """Queue a notice to a department (all its users, its client systems' webhooks and its
    contact e-mail) or to one user. Returns the notification id."""
    if department_id is None and username is None:
        raise ValueError("a notice needs a department or a user")
    now = utcnow()
    nid = new_id()
    tx.conn.execute(
        insert(notification).values(
            id=nid,
            department_id=department_id,
            username=username,
            event=event,
            subject_zh=subject_zh[:300],
            subject_en=subject_en[:300],
            link=link,
            data=json.dumps(mask_details(data or {}), ensure_ascii=False, default=str),
            created_at=now,
        )
    )
    if department_id is not None:
        subs = tx.conn.execute(
            select(webhook_subscription.c.id, webhook_subscription.c.events)
            .join(client_system, client_system.c.id == webhook_subscription.c.client_system_id)
            .where(
                client_system.c.department_id == department_id,
                client_system.c.active.is_(True),
                webhook_subscription.c.active.is_(True),
            )
        ).all()
        for s in subs:
            if _matches(s.events, event):
                tx.conn.execute(
                    insert(webhook_delivery).values(
                        id=new_id(),
                        subscription_id=s.id,
                        notification_id=nid,
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        last_error="",
                        created_at=now,
                    )
                )
        email = tx.conn.execute(
            select(department.c.contact_email).where(department.c.id == department_id)
        ).scalar_one_or_none()
        if email:
            tx.conn.execute(
                insert(email_delivery).values(
                    id=new_id(),
                    notification_id=nid,
                    to_address=email,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    last_error="",
                    created_at=now,
                )
            )
    if _wake_dispatcher not in tx._after_commit:
        tx.after_commit(_wake_dispatcher)
    return nid


# Read marks ---------------------------------------------------------------------------
def mark_read(db: Database, notification_id: str, *, actor: Actor) -> Notice:
    """Mark one notice read for ``actor`` (once; again is a no-op) and return it. A notice
    the user may not see is NotFound, whatever its department."""
    require(actor, Permission.SIGNED_IN)
    with db.transaction() as tx:
        notice = queries.get_notice(tx.conn, actor, notification_id)
        if notice.read_at is not None:
            return notice
        tx.conn.execute(
            insert(notification_read).values(
                notification_id=notification_id, username=actor.name, read_at=utcnow()
            )
        )
        audit.record(
            tx, actor, AuditAction.UPDATE, "notification", notification_id, details={"read": True}
        )
        return queries.get_notice(tx.conn, actor, notification_id)


def mark_all_read(db: Database, *, actor: Actor) -> int:
    """Mark every notice ``actor`` may see read; returns how many were unread."""
    require(actor, Permission.SIGNED_IN)
    now = utcnow()
    with db.transaction() as tx:
        unread = (
            tx.conn.execute(
                select(notification.c.id)
                .where(queries.visible_to(actor))
                .where(
                    ~exists().where(
                        notification_read.c.notification_id == notification.c.id,
                        notification_read.c.username == actor.name,
                    )
                )
            )
            .scalars()
            .all()
        )
        if unread:
            tx.conn.execute(
                insert(notification_read),
                [{"notification_id": i, "username": actor.name, "read_at": now} for i in unread],
            )
            details = {"read_all": len(unread)}
            audit.record(tx, actor, AuditAction.UPDATE, "notification", "*", details=details)
    return len(unread)
