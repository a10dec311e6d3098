"""Tables of share applications, their steps (the timeline) and grants."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, Text

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
    Column("renews_grant_id", String(26), nullable=True),  # a renewal of this grant
    Column("controlled_parameters", Text, nullable=False, default=""),  # HB-11, as asked
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
    Column("reminded_at", UTCDateTime(), nullable=True),  # the pre-deadline reminder went out
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
    Column("rate_limit_per_minute", Integer, nullable=False, default=60),
    Column("quota_per_day", Integer, nullable=False, default=10000),
    Column("controlled_parameters", Text, nullable=False, default=""),  # HB-11, as granted
    Column("transition_until", Date, nullable=True),  # the resource retires (SZ-19)
    Column("replacement_code", String(40), nullable=True),
    Column("renewed_from", String(26), nullable=True),
    Column("destruction_confirmed_at", UTCDateTime(), nullable=True),  # SZ-27
    Column("destruction_confirmed_by", String(100), nullable=True),
    Column("destruction_note", Text, nullable=False, default=""),
    Index("ix_share_grant_consumer", "consumer_department_id", "resource_id"),
)


# The negotiation after a refusal and, when it fails, the authority's coordination
# (SZ-15.3, HB-25, NX-40, YX-19). One case per refused application.
negotiation = Table(
    "negotiation",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("application_id", String(26), ForeignKey("share_application.id"), nullable=False),
    Column("state", String(20), nullable=False, index=True),  # open|coordination|closed
    Column("opened_by", String(100), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("escalated_at", UTCDateTime(), nullable=True),
    Column("closed_at", UTCDateTime(), nullable=True),
    Column("outcome", String(20), nullable=True),  # agreed|withdrawn|granted|upheld
    Column("outcome_reason", Text, nullable=False, default=""),
    Index("ux_negotiation_application", "application_id", unique=True),
)

negotiation_message = Table(
    "negotiation_message",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("negotiation_id", String(26), ForeignKey("negotiation.id"), nullable=False),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("author", String(100), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_negotiation_message_case", "negotiation_id", "at"),
)

# Files attached to an application (supporting documents), or to a grant (the signed
# security agreement, YX-21 / SZ-11; the destruction certificate, SZ-27). The bytes live
# under var/attachments/<sha256>; the row keeps name, type, size and hash.
attachment = Table(
    "attachment",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("owner_kind", String(20), nullable=False),  # application | grant
    Column("owner_id", String(26), nullable=False),
    Column("kind", String(30), nullable=False),  # supporting|security_agreement|destruction
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploaded_by", String(100), nullable=False),
    Column("uploaded_at", UTCDateTime(), nullable=False),
    Index("ix_attachment_owner", "owner_kind", "owner_id"),
)

# YX-20 / HB-14: onward transfer to a third party only with the provider's recorded consent.
onward_consent = Table(
    "onward_consent",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("grant_id", String(26), ForeignKey("share_grant.id"), nullable=False, index=True),
    Column("recipient", String(200), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("consented_by", String(100), nullable=False),
    Column("consented_at", UTCDateTime(), nullable=False),
)
