"""Tables of share applications, their steps (the timeline) and grants."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, String, Table, Text

from govshare.storage.metadata import metadata
from govshare.storage.types import UTCDateTime

share_application = Table(
    "share_application",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("consumer_department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("provider_department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("resource_id", String(26), ForeignKey("resource.id"), nullable=False),
    Column("version_id", String(26), ForeignKey("resource_version.id"), nullable=False),
    Column("items", Text, nullable=False),  # JSON list of data-item codes
    Column("modes", Text, nullable=False),  # JSON list of delivery modes
    Column("purpose", String(30), nullable=False),
    Column("scenario", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("client_system_id", String(26), nullable=True),
    Column("valid_until", Date, nullable=False),
    Column("batch_justification", Text, nullable=False),
    Column("share_category", String(20), nullable=False),
    Column("state", String(30), nullable=False, index=True),
    Column("submitted_at", UTCDateTime(), nullable=False),
    Column("submitted_by", String(100), nullable=False),
    Column("grant_id", String(26), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# The timeline: one row per step, with its responsible department and due date.
application_step = Table(
    "application_step",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("application_id", String(26), ForeignKey("share_application.id"), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=True),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("counted_from", Date, nullable=True),  # the start event's date (Shanghai)
    Column("due_on", Date, nullable=True),
    Column("due_provisional", Boolean, nullable=False),
    Column("actor", String(100), nullable=True),
    Column("at", UTCDateTime(), nullable=True),
    Column("decision", String(20), nullable=True),
    Column("reason", Text, nullable=False),
    Column("agent_department_id", String(26), nullable=True),
    Index("ix_application_step_open", "department_id", "at"),
    Index("ix_application_step_application_id", "application_id"),
)

# 授权代理方: a provider names a department whose decisions count as its own (SZ-16.1).
delegated_reviewer = Table(
    "delegated_reviewer",
    metadata,
    Column("provider_department_id", String(26), ForeignKey("department.id"), primary_key=True),
    Column("agent_department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("named_by", String(100), nullable=False),
    Column("named_at", UTCDateTime(), nullable=False),
)

share_grant = Table(
    "share_grant",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("application_id", String(26), nullable=True),
    Column("consumer_department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("client_system_id", String(26), nullable=True),
    Column("resource_id", String(26), ForeignKey("resource.id"), nullable=False),
    Column("version_id", String(26), ForeignKey("resource_version.id"), nullable=False),
    Column("items", Text, nullable=False),  # JSON [{"code": .., "masking": masked|raw}]
    Column("modes", Text, nullable=False),  # JSON list
    Column("purpose", String(30), nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_share_grant_consumer", "consumer_department_id", "resource_id"),
)
