"""Webhook subscriptions of client systems (部门业务系统): the write side.

A department admin (or the client system itself, through the API) subscribes one of its
client systems to the department's notices: an http(s) URL and optional event prefixes
(``sharing`` matches ``sharing.application.refused``; none: every event). A random secret
is generated and shown once; it is stored Fernet-encrypted with the platform's credentials
key (the one that protects source-connector URLs) and keys the HMAC-SHA256 signature of
every delivery (see ``notify.dispatch``). The URL must not carry credentials: a receiver
authenticates the platform by the signature.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import insert, select, update

from govshare.aggregation.connectors import SourceVault
from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.identity import queries as identity_queries
from govshare.identity.model import ClientSystem
from govshare.identity.policy import Permission, require
from govshare.identity.tables import client_system
from govshare.kernel.actor import Actor, ActorKind
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import Forbidden, NotFound, ValidationFailed
from govshare.kernel.ids import new_id, new_secret
from govshare.notify import queries
from govshare.notify.model import NewWebhookSecret, Subscription
from govshare.notify.tables import webhook_subscription
from govshare.storage.engine import Database, Transaction

MAX_URL = 500
MAX_PREFIXES = 20
EVENT_PREFIX_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


def clean_url(raw: str) -> str:
    url = (raw or "").strip()
    try:
        parts = urlsplit(url)
        _ = parts.port  # a malformed port raises here
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            "回调地址须为 http:// 或 https:// 开头的完整地址",
            "the webhook URL must be a full http:// or https:// address",
            code="webhook_url_invalid",
            field="url",
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed(
            "回调地址不能包含用户名或密码（接收方以签名验证平台身份）",
            "the webhook URL must not carry a user name or password (receivers verify the "
            "signature instead)",
            code="webhook_url_credentials",
            field="url",
        )
    if len(url) > MAX_URL or any(c.isspace() for c in url):
        raise ValidationFailed(
            "回调地址过长或含空白字符",
            "the webhook URL is too long or contains white space",
            code="webhook_url_invalid",
            field="url",
        )
    return url


def clean_events(raw: Sequence[str] | str) -> list[str]:
    """Event prefixes, from a list or a comma / space / newline separated string."""
    items = re.split(r"[\s,，]+", raw) if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if not EVENT_PREFIX_RE.match(item) or len(item) > 60:
            raise ValidationFailed(
                f"事件前缀格式不正确：{item[:60]}（如 sharing 或 sharing.application）",
                f"not an event prefix: {item[:60]} (e.g. sharing or sharing.application)",
                code="webhook_events_invalid",
                field="events",
            )
        if item not in out:
            out.append(item)
    if len(out) > MAX_PREFIXES:
        raise ValidationFailed(
            f"事件前缀最多 {MAX_PREFIXES} 个",
            f"at most {MAX_PREFIXES} event prefixes",
            code="webhook_events_invalid",
            field="events",
        )
    return out


def _audit_url(url: str) -> str:
    """The URL as audited: scheme, host and path (a query string may carry a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _require_manage(tx: Transaction, actor: Actor, client: ClientSystem) -> None:
    if actor.kind is ActorKind.CLIENT_SYSTEM:
        if actor.id != client.client_id:
            raise Forbidden(
                "业务系统只能管理自己的订阅",
                "a client system manages only its own subscriptions",
                code="forbidden",
            )
        return
    dept = identity_queries.get_department(tx.conn, client.department_id)
    require(
        actor,
        Permission.MANAGE_CLIENT_SYSTEMS,
        department_id=client.department_id,
        jurisdiction_id=dept.jurisdiction_id,
    )


def client_pk_of(db: Database, actor: Actor) -> str:
    """The primary key of the acting client system (the API names it by its client_id)."""
    with db.read() as conn:
        pk = conn.execute(
            select(client_system.c.id).where(client_system.c.client_id == actor.id)
        ).scalar_one_or_none()
    if pk is None:
        raise NotFound("业务系统不存在", "no such client system", code="client_not_found")
    return str(pk)


def create_subscription(
    db: Database,
    vault: SourceVault,
    *,
    actor: Actor,
    client_system_id: str,
    url: str,
    events: Sequence[str] | str = (),
) -> NewWebhookSecret:
    """Subscribe a client system to its department's notices; the secret is returned once."""
    url = clean_url(url)
    prefixes = clean_events(events)
    secret = new_secret()
    sid = new_id()
    with db.transaction() as tx:
        client = identity_queries.get_client_system(tx.conn, client_system_id)
        _require_manage(tx, actor, client)
        if not client.active:
            raise ValidationFailed(
                "业务系统凭证已吊销，不能订阅",
                "the client system is revoked and cannot subscribe",
                code="client_revoked",
                field="client_system_id",
            )
        tx.conn.execute(
            insert(webhook_subscription).values(
                id=sid,
                client_system_id=client.id,
                url=url,
                secret_encrypted=vault.encrypt(secret),
                events=json.dumps(prefixes),
                active=True,
                created_by=actor.name,
                created_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.CREATE,
            "webhook_subscription",
            sid,
            details={
                "client_id": client.client_id,
                "department_id": client.department_id,
                "url": _audit_url(url),
                "events": prefixes,
            },
        )
        sub = queries.get_subscription(tx.conn, sid)
    return NewWebhookSecret(subscription=sub, secret=secret)


def deactivate_subscription(
    db: Database, subscription_id: str, *, actor: Actor, reason: str = ""
) -> Subscription:
    """Stop a subscription: no new deliveries are queued, and queued ones are cancelled
    when their turn comes."""
    with db.transaction() as tx:
        sub = queries.get_subscription(tx.conn, subscription_id)
        client = identity_queries.get_client_system(tx.conn, sub.client_system_id)
        _require_manage(tx, actor, client)
        if sub.active:
            tx.conn.execute(
                update(webhook_subscription)
                .where(webhook_subscription.c.id == subscription_id)
                .values(active=False)
            )
            audit.record(
                tx,
                actor,
                AuditAction.DEACTIVATE,
                "webhook_subscription",
                subscription_id,
                details={"client_id": client.client_id, "reason": reason[:500]},
            )
        return queries.get_subscription(tx.conn, subscription_id)
