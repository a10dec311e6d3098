"""Tables of the message centre (in-app notices per user or per department), webhook
subscriptions of client systems with their delivery log, and the e-mail outbox."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from govshare.storage.metadata import metadata
from govshare.storage.types import UTCDateTime

notification = Table(
    "notification",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=True),
    Column("username", String(64), nullable=True),  # a notice for one user
    Column("event", String(60), nullable=False),  # e.g. sharing.application.refused
    Column("subject_zh", String(300), nullable=False),
    Column("subject_en", String(300), nullable=False),
    Column("link", String(300), nullable=False, default=""),
    Column("data", Text, nullable=False, default="{}"),  # JSON, masked, no raw values
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_notification_department", "department_id", "created_at"),
    Index("ix_notification_user", "username", "created_at"),
)

# Read marks: one row per user and notice read (a department notice is read per user).
notification_read = Table(
    "notification_read",
    metadata,
    Column("notification_id", String(26), ForeignKey("notification.id"), primary_key=True),
    Column("username", String(64), primary_key=True),
    Column("read_at", UTCDateTime(), nullable=False),
)

webhook_subscription = Table(
    "webhook_subscription",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("client_system_id", String(26), ForeignKey("client_system.id"), nullable=False),
    Column("url", String(500), nullable=False),
    Column("secret_encrypted", Text, nullable=False),  # Fernet; the HMAC key
    Column("events", Text, nullable=False, default="[]"),  # JSON list of prefixes; [] = all
    Column("active", Boolean, nullable=False, default=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

webhook_delivery = Table(
    "webhook_delivery",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("subscription_id", String(26), ForeignKey("webhook_subscription.id"), nullable=False),
    Column("notification_id", String(26), ForeignKey("notification.id"), nullable=False),
    Column("status", String(20), nullable=False, index=True),  # pending|delivered|failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(500), nullable=False, default=""),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

email_delivery = Table(
    "email_delivery",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("notification_id", String(26), ForeignKey("notification.id"), nullable=False),
    Column("to_address", String(200), nullable=False),
    Column("status", String(20), nullable=False, index=True),  # pending|sent|failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("last_error", String(500), nullable=False, default=""),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)
