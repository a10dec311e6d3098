"""The dispatcher: sends the outbox rows that ``notify`` wrote, after their transaction
committed, and retries with backoff.

Webhooks. Each pending ``webhook_delivery`` is POSTed to its subscription's URL as JSON
``{id, event, subject: {zh, en}, link, data, created_at}`` (``id`` is the notice's id; the
delivery's id is in ``X-Govshare-Delivery``). Headers ``X-Govshare-Event``,
``X-Govshare-Delivery``, ``X-Govshare-Timestamp`` (Unix seconds at sending) and
``X-Govshare-Signature: sha256=<hex>``: HMAC-SHA256, keyed with the subscription's secret,
over ``"<timestamp>.<body>"`` (the exact bytes sent). A receiver recomputes it, compares in
constant time, and rejects old timestamps. Redirects are not followed. A 2xx answer is
delivered; anything else (another status, a refused connection, a timeout) is a failed
attempt.

E-mail. With ``GOVSHARE_SMTP_URL`` and ``GOVSHARE_SMTP_FROM`` set, each pending
``email_delivery`` is sent over SMTP (``smtps://`` for TLS from the start, ``?starttls=1``
to upgrade a plain connection, ``user:password@`` to log in); the Chinese subject is encoded
per RFC 2047. Without SMTP the rows are marked ``skipped`` rather than left pending.

Retries. A failed attempt is retried after 1 min, 5 min, 30 min, 2 h and 12 h; the sixth
failure marks the row ``failed``. Every attempt is logged (structured, without secrets or
URL query strings) and written to the row (attempts, last status, last error). A delivered
webhook and a sent e-mail are audited as a transmission.

Claiming. A row is claimed by a compare-and-set (``status`` and ``attempts`` as read) that
moves it to ``sending`` with a lease (``next_attempt_at`` = now + LEASE), and is finished by
another compare-and-set on the claimed attempt; the request itself runs outside any
transaction. Two dispatchers (web processes, job workers) therefore never send a row at the
same time. A dispatcher that dies while sending leaves the row ``sending``; when the lease
ends the row is retried (so a receiver may, rarely, see a delivery twice: it deduplicates on
``X-Govshare-Delivery``).

Who runs it: ``dispatch_due`` is one sweep. The web app and the job worker each run a
``BackgroundDispatcher`` thread that sweeps when ``notify`` wakes it after a commit (and
every minute); the job queue's periodic task sweeps every minute as well, so nothing is lost
when a process dies.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import smtplib
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import structlog
from sqlalchemy import Row, Table, select, update

from govshare.aggregation.connectors import SourceVault
from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.config import Settings
from govshare.identity.tables import client_system
from govshare.kernel.actor import Actor
from govshare.kernel.clock import iso_utc, local_display, utcnow
from govshare.kernel.errors import DomainError
from govshare.kernel.masking import SensitivityKind, mask
from govshare.notify.model import DeliveryStatus, SweepReport
from govshare.notify.services import clear_waker, set_waker
from govshare.notify.tables import (
    email_delivery,
    notification,
    webhook_delivery,
    webhook_subscription,
)
from govshare.storage.engine import Database

log = structlog.get_logger("govshare.notify")

BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1  # 6
LEASE = timedelta(minutes=5)  # longer than any one attempt can take
TIMEOUT_S = 10.0
BATCH = 200  # rows per table per sweep
MAX_RESPONSE_BYTES = 64 * 1024
SWEEP_INTERVAL_S = 60.0
DISPATCH_ACTOR = Actor.system("notify")
USER_AGENT = "govshare-webhook/1"


def backoff_after(attempts: int) -> timedelta | None:
    """The wait before the next attempt after ``attempts`` failed ones; None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return BACKOFF[max(attempts, 1) - 1]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Govshare-Signature`` value: ``sha256=`` + hex HMAC over ``timestamp.body``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _first_line(text: str, limit: int = 500) -> str:
    lines = (text or "").strip().splitlines()
    return (lines[0] if lines else "")[:limit]


# Claiming and finishing -------------------------------------------------------------
@dataclass(frozen=True)
class _Claim:
    id: str
    attempt: int  # the attempt number this claim makes (1-based)


def _candidates(db: Database, table: Table, now: datetime) -> list[Any]:
    with db.read() as conn:
        return list(
            conn.execute(
                select(table.c.id, table.c.status, table.c.attempts)
                .where(
                    table.c.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
                    table.c.next_attempt_at <= now,
                )
                .order_by(table.c.next_attempt_at, table.c.id)
                .limit(BATCH)
            ).all()
        )


def _claim(db: Database, table: Table, row: Row[Any], now: datetime) -> _Claim | str | None:
    """Claim ``row`` for one attempt. A str is a final outcome reached instead (a lease that
    ran out on the last attempt); None: another dispatcher has it."""
    same = (
        table.c.id == row.id,
        table.c.status == row.status,
        table.c.attempts == row.attempts,
    )
    with db.transaction() as tx:
        if row.status == DeliveryStatus.SENDING and row.attempts >= MAX_ATTEMPTS:
            done = tx.conn.execute(
                update(table)
                .where(*same)
                .values(
                    status=DeliveryStatus.FAILED,
                    next_attempt_at=None,
                    last_error="the last attempt did not finish (the dispatcher stopped)",
                )
            )
            return DeliveryStatus.FAILED.value if done.rowcount == 1 else None
        claimed = tx.conn.execute(
            update(table)
            .where(*same)
            .values(
                status=DeliveryStatus.SENDING,
                attempts=row.attempts + 1,
                next_attempt_at=now + LEASE,
            )
        )
    return _Claim(row.id, row.attempts + 1) if claimed.rowcount == 1 else None


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    error: str = ""
    http_status: int | None = None
    final: bool = False  # no retry (cancelled)


def _finish(
    db: Database,
    table: Table,
    claim: _Claim,
    outcome: _Outcome,
    now: datetime,
    *,
    done_status: DeliveryStatus,
    done_at: str,
    audit_details: dict[str, Any],
) -> tuple[str, datetime | None]:
    """Record an attempt's outcome (compare-and-set on the claim). Returns the new status
    and the next attempt's time."""
    values: dict[str, Any] = {"last_error": outcome.error[:500]}
    if "last_status" in table.c:
        values["last_status"] = outcome.http_status
    next_at: datetime | None = None
    if outcome.ok:
        status = done_status
        values.update({done_at: now, "next_attempt_at": None, "last_error": ""})
    elif outcome.final:
        status = DeliveryStatus.CANCELLED
        values["next_attempt_at"] = None
    else:
        wait = backoff_after(claim.attempt)
        status = DeliveryStatus.FAILED if wait is None else DeliveryStatus.PENDING
        next_at = None if wait is None else now + wait
        values["next_attempt_at"] = next_at
    values["status"] = status
    with db.transaction() as tx:
        res = tx.conn.execute(
            update(table)
            .where(
                table.c.id == claim.id,
                table.c.status == DeliveryStatus.SENDING,
                table.c.attempts == claim.attempt,
            )
            .values(**values)
        )
        if res.rowcount != 1:
            return "lost_lease", None
        if outcome.ok:
            audit.record(
                tx,
                DISPATCH_ACTOR,
                AuditAction.TRANSMIT,
                table.name,
                claim.id,
                details={**audit_details, "attempts": claim.attempt},
            )
    return status.value, next_at


# Webhooks ---------------------------------------------------------------------------
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer, not a new address to send the notice to


def payload(n: Row[Any]) -> bytes:
    """The JSON body of a webhook delivery of notice ``n``."""
    try:
        data = json.loads(n.data or "{}")
    except ValueError:
        data = {}
    body = {
        "id": n.id,
        "event": n.event,
        "subject": {"zh": n.subject_zh, "en": n.subject_en},
        "link": n.link or "",
        "data": data,
        "created_at": iso_utc(n.created_at),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def post(url: str, body: bytes, headers: dict[str, str]) -> _Outcome:
    """POST once; 2xx is success. Never raises for network or HTTP failures."""
    if urlsplit(url).scheme not in ("http", "https"):
        return _Outcome(ok=False, error="not an http(s) URL", final=True)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked above
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            response.read(MAX_RESPONSE_BYTES)
            return _Outcome(ok=True, http_status=int(response.status))
    except urllib.error.HTTPError as exc:
        exc.close()
        return _Outcome(ok=False, error=f"HTTP {exc.code}", http_status=int(exc.code))
    except urllib.error.URLError as exc:
        return _Outcome(ok=False, error=_first_line(f"{type(exc).__name__}: {exc.reason}"))
    except (OSError, http.client.HTTPException) as exc:
        return _Outcome(ok=False, error=_first_line(f"{type(exc).__name__}: {exc}"))


def _webhook_row(db: Database, delivery_id: str) -> Row[Any] | None:
    with db.read() as conn:
        return conn.execute(
            select(
                webhook_delivery.c.id.label("delivery_id"),
                webhook_delivery.c.subscription_id,
                webhook_subscription.c.url,
                webhook_subscription.c.secret_encrypted,
                webhook_subscription.c.active.label("subscription_active"),
                client_system.c.active.label("client_active"),
                client_system.c.client_id,
                notification,
            )
            .join(
                webhook_subscription,
                webhook_subscription.c.id == webhook_delivery.c.subscription_id,
            )
            .join(client_system, client_system.c.id == webhook_subscription.c.client_system_id)
            .join(notification, notification.c.id == webhook_delivery.c.notification_id)
            .where(webhook_delivery.c.id == delivery_id)
        ).first()


def _send_webhook(row: Row[Any], vault: SourceVault) -> _Outcome:
    if not (row.subscription_active and row.client_active):
        return _Outcome(ok=False, error="the subscription or client system is inactive", final=True)
    try:
        secret = vault.decrypt(row.secret_encrypted)
    except DomainError:
        return _Outcome(ok=False, error="the subscription secret cannot be decrypted")
    body = payload(row)
    timestamp = str(int(utcnow().timestamp()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Govshare-Event": row.event,
        "X-Govshare-Delivery": row.delivery_id,
        "X-Govshare-Timestamp": timestamp,
        "X-Govshare-Signature": sign(secret, timestamp, body),
    }
    return post(row.url, body, headers)


def _dispatch_webhook(
    db: Database, vault: SourceVault, claim: _Claim, clock: Callable[[], datetime]
) -> str:
    row = _webhook_row(db, claim.id)
    if row is None:  # cannot happen: rows are never deleted
        return "missing"
    outcome = _send_webhook(row, vault)
    status, next_at = _finish(
        db,
        webhook_delivery,
        claim,
        outcome,
        clock(),
        done_status=DeliveryStatus.DELIVERED,
        done_at="delivered_at",
        audit_details={
            "notification_id": row.id,
            "event": row.event,
            "subscription_id": row.subscription_id,
            "client_id": row.client_id,
        },
    )
    log.info(
        "webhook_attempt",
        delivery_id=claim.id,
        subscription_id=row.subscription_id,
        notification_id=row.id,
        notice_event=row.event,
        host=urlsplit(row.url).hostname,
        attempt=claim.attempt,
        http_status=outcome.http_status,
        error=outcome.error or None,
        status=status,
        next_attempt_at=iso_utc(next_at) if next_at else None,
    )
    return status


# E-mail -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    starttls: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        if not settings.smtp_url or not settings.smtp_from:
            return None
        parts = urlsplit(settings.smtp_url)
        query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        use_ssl = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "",
            port=parts.port or (465 if use_ssl else 25),
            sender=settings.smtp_from,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ssl=use_ssl,
            starttls=query.get("starttls", "") in ("1", "true", "yes", "on"),
        )


def email_message(cfg: SmtpConfig, n: Row[Any], to: str, delivery_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = n.subject_zh
    msg["From"] = cfg.sender
    msg["To"] = to
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = f"<{delivery_id.lower()}@govshare>"
    msg["X-Govshare-Event"] = n.event
    lines = [
        n.subject_zh,
        n.subject_en,
        "",
        f"事件 / Event: {n.event}",
        f"时间 / Time: {local_display(n.created_at)} (Asia/Shanghai)",
    ]
    if n.link:
        lines.append(f"链接 / Link: {n.link}")
    lines += [
        "",
        "此邮件由政务数据共享交换平台自动发送。",
        "Sent by the government data sharing platform.",
    ]
    msg.set_content("\n".join(lines))
    return msg


def smtp_send(cfg: SmtpConfig, msg: EmailMessage) -> _Outcome:
    try:
        smtp: smtplib.SMTP
        if cfg.ssl:
            smtp = smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=TIMEOUT_S, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=TIMEOUT_S)
        with smtp:
            if cfg.starttls and not cfg.ssl:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.username:
                smtp.login(cfg.username, cfg.password or "")
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        return _Outcome(ok=False, error=_first_line(f"{type(exc).__name__}: {exc}"))
    return _Outcome(ok=True)


def _email_row(db: Database, delivery_id: str) -> Row[Any] | None:
    with db.read() as conn:
        return conn.execute(
            select(
                email_delivery.c.id.label("delivery_id"),
                email_delivery.c.to_address,
                notification,
            )
            .join(notification, notification.c.id == email_delivery.c.notification_id)
            .where(email_delivery.c.id == delivery_id)
        ).first()


def _dispatch_email(
    db: Database, cfg: SmtpConfig, claim: _Claim, clock: Callable[[], datetime]
) -> str:
    row = _email_row(db, claim.id)
    if row is None:
        return "missing"
    try:
        msg = email_message(cfg, row, row.to_address, row.delivery_id)
    except (ValueError, TypeError) as exc:  # an address the e-mail library cannot use
        outcome = _Outcome(ok=False, error=_first_line(f"{type(exc).__name__}: {exc}"))
    else:
        outcome = smtp_send(cfg, msg)
    status, next_at = _finish(
        db,
        email_delivery,
        claim,
        outcome,
        clock(),
        done_status=DeliveryStatus.SENT,
        done_at="sent_at",
        audit_details={
            "notification_id": row.id,
            "event": row.event,
            "department_id": row.department_id,
        },
    )
    log.info(
        "email_attempt",
        delivery_id=claim.id,
        notification_id=row.id,
        notice_event=row.event,
        to=mask(row.to_address, SensitivityKind.EMAIL),
        attempt=claim.attempt,
        error=outcome.error or None,
        status=status,
        next_attempt_at=iso_utc(next_at) if next_at else None,
    )
    return status


def _skip_emails(db: Database) -> int:
    """Without SMTP, pending e-mails are marked skipped (not left pending for ever)."""
    with db.read() as conn:
        pending = conn.execute(
            select(email_delivery.c.id)
            .where(email_delivery.c.status == DeliveryStatus.PENDING)
            .limit(1)
        ).first()
    if pending is None:
        return 0
    with db.transaction() as tx:
        n = tx.conn.execute(
            update(email_delivery)
            .where(email_delivery.c.status == DeliveryStatus.PENDING)
            .values(
                status=DeliveryStatus.SKIPPED,
                next_attempt_at=None,
                last_error="SMTP is not configured (GOVSHARE_SMTP_URL)",
            )
        ).rowcount
    if n:
        log.info("email_skipped", count=n, reason="smtp_not_configured")
    return int(n or 0)


# The sweep --------------------------------------------------------------------------
def dispatch_due(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    *,
    stop: Callable[[], bool] | None = None,
) -> SweepReport:
    """Send every webhook and e-mail that is due at ``now`` (default: the clock), one
    claimed row at a time. Safe to run in several processes at once. ``stop`` is asked
    before each row (a process shutting down leaves the rest to the next sweep)."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    stopping: Callable[[], bool] = stop or (lambda: False)
    report = SweepReport()
    vault = SourceVault.for_settings(settings)
    for row in _candidates(db, webhook_delivery, clock()):
        if stopping():
            return report
        claim = _claim(db, webhook_delivery, row, clock())
        if isinstance(claim, _Claim):
            report.count("webhook", _dispatch_webhook(db, vault, claim, clock))
        elif claim is not None:
            report.count("webhook", claim)
    cfg = SmtpConfig.from_settings(settings)
    if cfg is None:
        skipped = _skip_emails(db)
        if skipped:
            report.emails[DeliveryStatus.SKIPPED.value] = skipped
        return report
    for row in _candidates(db, email_delivery, clock()):
        if stopping():
            return report
        claim = _claim(db, email_delivery, row, clock())
        if isinstance(claim, _Claim):
            report.count("email", _dispatch_email(db, cfg, claim, clock))
        elif claim is not None:
            report.count("email", claim)
    return report


class BackgroundDispatcher:
    """A thread that sweeps when woken (after a commit that wrote notices) and every
    ``interval`` seconds. Wakes coalesce; waking never blocks the caller."""

    def __init__(
        self, db: Database, settings: Settings, *, interval: float = SWEEP_INTERVAL_S
    ) -> None:
        self.db = db
        self.settings = settings
        self.interval = interval
        self._event = threading.Event()
        self._stopping = threading.Event()
        self._cond = threading.Condition()
        self._started = 0
        self._finished = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._event.set()  # one sweep at start: rows left by a previous process
        self._thread = threading.Thread(target=self._run, name="govshare-notify", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._event.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self._event.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def drain(self, timeout: float = 30.0) -> bool:
        """Wake the thread and wait for a sweep that began after this call (tests, CLI)."""
        with self._cond:
            target = self._started + 1
        self.wake()
        with self._cond:
            return self._cond.wait_for(lambda: self._finished >= target, timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._event.wait(self.interval)
            if self._stopping.is_set():
                break
            self._event.clear()
            with self._cond:
                self._started += 1
            try:
                report = dispatch_due(self.db, self.settings, stop=self._stopping.is_set)
                if report.total:
                    log.info("notify_sweep", webhooks=report.webhooks, emails=report.emails)
            except Exception as exc:  # keep the thread alive; the next sweep retries
                log.error("notify_sweep_failed", error=type(exc).__name__)
            finally:
                with self._cond:
                    self._finished += 1
                    self._cond.notify_all()


@contextmanager
def running(
    db: Database, settings: Settings, *, interval: float = SWEEP_INTERVAL_S
) -> Iterator[BackgroundDispatcher]:
    """Run a BackgroundDispatcher and make it the notify waker of this process."""
    dispatcher = BackgroundDispatcher(db, settings, interval=interval)
    dispatcher.start()
    set_waker(dispatcher.wake)
    try:
        yield dispatcher
    finally:
        clear_waker(dispatcher.wake)
        dispatcher.stop()
