"""Notices, webhook subscriptions and deliveries as the pages and the API see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class DeliveryStatus(StrEnum):
    """The life of an outbox row (``webhook_delivery`` / ``email_delivery``).

    pending → sending (claimed by one dispatcher, with a lease) → delivered | sent, or back to
    pending with a later ``next_attempt_at`` (backoff), or failed after the last attempt.
    skipped: an e-mail while no SMTP server is configured; cancelled: a webhook whose
    subscription or client system was deactivated before it went out."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"  # webhook
    SENT = "sent"  # e-mail
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Notice:
    """One notice in a user's message centre, with that user's read mark."""

    id: str
    event: str
    subject_zh: str
    subject_en: str
    link: str
    data: dict[str, Any]
    created_at: datetime
    department_id: str | None
    department_name: str | None
    username: str | None
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None

    def subject(self, locale: str) -> str:
        return self.subject_en if locale.startswith("en") else self.subject_zh


@dataclass(frozen=True)
class NoticePage:
    notices: list[Notice]
    unread: int
    page: int
    has_more: bool


@dataclass(frozen=True)
class Subscription:
    id: str
    client_system_id: str
    client_id: str
    client_name: str
    department_id: str
    url: str
    events: tuple[str, ...]
    active: bool
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class NewWebhookSecret:
    """Returned once, at creation. The secret signs every delivery and is never shown again."""

    subscription: Subscription
    secret: str


@dataclass(frozen=True)
class WebhookDelivery:
    id: str
    subscription_id: str
    url: str
    client_name: str
    notification_id: str
    event: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class EmailDelivery:
    id: str
    notification_id: str
    event: str
    to_address: str  # masked
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    sent_at: datetime | None
    created_at: datetime


@dataclass
class SweepReport:
    """What one dispatcher sweep did (counts per outcome)."""

    webhooks: dict[str, int] = field(default_factory=dict)
    emails: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, outcome: str) -> None:
        bucket = self.webhooks if kind == "webhook" else self.emails
        bucket[outcome] = bucket.get(outcome, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.webhooks.values()) + sum(self.emails.values())
