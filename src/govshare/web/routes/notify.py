"""The message centre (消息中心), webhook subscriptions of client systems and their delivery
log: pages, and the JSON API for users and for client systems managing their own webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from govshare.aggregation.connectors import SourceVault
from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission
from govshare.kernel.actor import Actor
from govshare.kernel.errors import DomainError
from govshare.notify import queries, services, subscriptions
from govshare.notify.model import Notice, Subscription, WebhookDelivery
from govshare.platform import Platform
from govshare.web.deps import PlatformDep, act_then_redirect, flash, locale_of, policy, render
from govshare.web.routes.api import ERRORS

router = APIRouter(tags=["notifications"])

SignedIn = Annotated[Actor, policy(Permission.SIGNED_IN)]
ManageClients = Annotated[Actor, policy(Permission.MANAGE_CLIENT_SYSTEMS)]
ClientApi = Annotated[Actor, policy(Permission.CLIENT_API)]


def _vault(platform: Platform) -> SourceVault:
    return SourceVault.for_settings(platform.settings)


def safe_link(link: str) -> str | None:
    """A notice's link if it is a path on this site (never an open redirect)."""
    if link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return None


# Message centre ------------------------------------------------------------------------
@router.get("/notifications", include_in_schema=False)
def inbox(
    request: Request, platform: PlatformDep, actor: SignedIn, unread: str = "", page: int = 1
) -> HTMLResponse:
    with platform.db.read() as conn:
        result = queries.list_notices(conn, actor, unread_only=unread == "1", page=page)
    return render(
        request,
        "notify/inbox.html",
        {"result": result, "unread_only": unread == "1", "safe_link": safe_link},
    )


@router.post("/notifications/read-all", include_in_schema=False)
def read_all(request: Request, platform: PlatformDep, actor: SignedIn) -> Response:
    return act_then_redirect(
        request, "/notifications", lambda: services.mark_all_read(platform.db, actor=actor)
    )


@router.post("/notifications/{notification_id}/read", include_in_schema=False)
def read_one(
    request: Request,
    notification_id: str,
    platform: PlatformDep,
    actor: SignedIn,
    open_link: Annotated[str, Form(alias="open")] = "",
) -> Response:
    """Mark a notice read; with ``open=1``, go on to the page it is about."""
    notice = services.mark_read(platform.db, notification_id, actor=actor)
    target = safe_link(notice.link) if open_link == "1" else None
    return RedirectResponse(target or "/notifications", status_code=303)


# Webhook subscriptions (department admins) ------------------------------------------
@router.get("/notifications/webhooks", include_in_schema=False)
def webhooks(request: Request, platform: PlatformDep, actor: ManageClients) -> HTMLResponse:
    with platform.db.read() as conn:
        managed = queries.managed_department_ids(conn, actor)
        subs = queries.list_subscriptions(conn, department_ids=managed)
        clients = [
            c
            for c in identity_queries.list_client_systems(conn, department_ids=managed)
            if c.active
        ]
    return render(request, "notify/webhooks.html", {"subscriptions": subs, "clients": clients})


@router.post("/notifications/webhooks", include_in_schema=False)
def create_webhook(
    request: Request,
    platform: PlatformDep,
    actor: ManageClients,
    client_system_id: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    events: Annotated[str, Form()] = "",
) -> Response:
    try:
        created = subscriptions.create_subscription(
            platform.db,
            _vault(platform),
            actor=actor,
            client_system_id=client_system_id,
            url=url,
            events=events,
        )
    except DomainError as exc:
        flash(request, exc.message(locale_of(request)), "error")
        return RedirectResponse("/notifications/webhooks", status_code=303)
    # The secret is shown on this one response and never again.
    response = render(
        request,
        "notify/webhook_secret.html",
        {"subscription": created.subscription, "secret": created.secret},
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/notifications/webhooks/{subscription_id}/deactivate", include_in_schema=False)
def deactivate_webhook(
    request: Request,
    subscription_id: str,
    platform: PlatformDep,
    actor: ManageClients,
    reason: Annotated[str, Form()] = "",
) -> Response:
    return act_then_redirect(
        request,
        "/notifications/webhooks",
        lambda: subscriptions.deactivate_subscription(
            platform.db, subscription_id, actor=actor, reason=reason
        ),
    )


@router.get("/notifications/deliveries", include_in_schema=False)
def deliveries(
    request: Request, platform: PlatformDep, actor: ManageClients, status: str = ""
) -> HTMLResponse:
    with platform.db.read() as conn:
        managed = queries.managed_department_ids(conn, actor)
        hooks = queries.list_webhook_deliveries(conn, department_ids=managed, status=status or None)
        mails = queries.list_email_deliveries(conn, department_ids=managed)
    return render(
        request,
        "notify/deliveries.html",
        {"webhooks": hooks, "emails": mails, "status": status},
    )


# JSON API: a user's notices -----------------------------------------------------------
class NoticeOut(BaseModel):
    id: str
    event: str
    subject: str
    subject_zh: str
    subject_en: str
    link: str
    data: dict[str, Any]
    department_id: str | None
    created_at: datetime
    read_at: datetime | None
    unread: bool


class NoticeListOut(BaseModel):
    unread: int
    page: int
    has_more: bool
    notices: list[NoticeOut]


def _notice_out(n: Notice, locale: str) -> NoticeOut:
    return NoticeOut(
        id=n.id,
        event=n.event,
        subject=n.subject(locale),
        subject_zh=n.subject_zh,
        subject_en=n.subject_en,
        link=n.link,
        data=n.data,
        department_id=n.department_id,
        created_at=n.created_at,
        read_at=n.read_at,
        unread=n.unread,
    )


@router.get("/api/v1/notifications", response_model=NoticeListOut, responses=ERRORS)
def api_notices(
    request: Request, platform: PlatformDep, actor: SignedIn, unread: bool = False, page: int = 1
) -> NoticeListOut:
    """The signed-in user's notices (their own and their departments'), newest first."""
    with platform.db.read() as conn:
        result = queries.list_notices(conn, actor, unread_only=unread, page=page)
    locale = locale_of(request)
    return NoticeListOut(
        unread=result.unread,
        page=result.page,
        has_more=result.has_more,
        notices=[_notice_out(n, locale) for n in result.notices],
    )


@router.post(
    "/api/v1/notifications/{notification_id}/read", response_model=NoticeOut, responses=ERRORS
)
def api_read(
    request: Request, notification_id: str, platform: PlatformDep, actor: SignedIn
) -> NoticeOut:
    """Mark one notice read (send the session's CSRF token in X-CSRF-Token)."""
    notice = services.mark_read(platform.db, notification_id, actor=actor)
    return _notice_out(notice, locale_of(request))


@router.post("/api/v1/notifications/read-all", responses=ERRORS)
def api_read_all(platform: PlatformDep, actor: SignedIn) -> dict[str, int]:
    """Mark every notice read; returns how many were unread."""
    return {"marked": services.mark_all_read(platform.db, actor=actor)}


# JSON API: a client system's own webhooks -------------------------------------------
class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=500, description="http(s) URL receiving the POSTs")
    events: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="event prefixes, e.g. ['sharing']; empty: every event",
    )


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class NewWebhookOut(WebhookOut):
    secret: str = Field(description="the HMAC key; shown once, never again")


class DeliveryOut(BaseModel):
    id: str
    subscription_id: str
    notification_id: str
    event: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


def _webhook_out(s: Subscription) -> WebhookOut:
    return WebhookOut(
        id=s.id, url=s.url, events=list(s.events), active=s.active, created_at=s.created_at
    )


def _delivery_out(d: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        subscription_id=d.subscription_id,
        notification_id=d.notification_id,
        event=d.event,
        status=d.status,
        attempts=d.attempts,
        last_status=d.last_status,
        last_error=d.last_error,
        next_attempt_at=d.next_attempt_at,
        delivered_at=d.delivered_at,
        created_at=d.created_at,
    )


@router.get("/api/v1/client/webhooks", response_model=list[WebhookOut], responses=ERRORS)
def api_webhooks(platform: PlatformDep, actor: ClientApi) -> list[WebhookOut]:
    """The calling client system's webhook subscriptions."""
    pk = subscriptions.client_pk_of(platform.db, actor)
    with platform.db.read() as conn:
        return [_webhook_out(s) for s in queries.list_subscriptions(conn, client_system_id=pk)]


@router.post(
    "/api/v1/client/webhooks", response_model=NewWebhookOut, status_code=201, responses=ERRORS
)
def api_create_webhook(body: WebhookIn, platform: PlatformDep, actor: ClientApi) -> NewWebhookOut:
    """Subscribe the calling client system to its department's notices. Each delivery is
    signed: ``X-Govshare-Signature: sha256=HMAC(secret, "<X-Govshare-Timestamp>.<body>")``."""
    created = subscriptions.create_subscription(
        platform.db,
        _vault(platform),
        actor=actor,
        client_system_id=subscriptions.client_pk_of(platform.db, actor),
        url=body.url,
        events=body.events,
    )
    return NewWebhookOut(**_webhook_out(created.subscription).model_dump(), secret=created.secret)


@router.post(
    "/api/v1/client/webhooks/{subscription_id}/deactivate",
    response_model=WebhookOut,
    responses=ERRORS,
)
def api_deactivate_webhook(
    subscription_id: str, platform: PlatformDep, actor: ClientApi
) -> WebhookOut:
    sub = subscriptions.deactivate_subscription(platform.db, subscription_id, actor=actor)
    return _webhook_out(sub)


@router.get(
    "/api/v1/client/webhooks/deliveries", response_model=list[DeliveryOut], responses=ERRORS
)
def api_deliveries(
    platform: PlatformDep, actor: ClientApi, status: str | None = None
) -> list[DeliveryOut]:
    """The delivery log of the calling client system's webhooks, newest first."""
    pk = subscriptions.client_pk_of(platform.db, actor)
    with platform.db.read() as conn:
        rows = queries.list_webhook_deliveries(
            conn,
            department_ids={actor.department_id or ""},
            client_system_id=pk,
            status=status,
        )
    return [_delivery_out(d) for d in rows]
