"""Tables of the aggregation sources: source connectors (前置机) and their runs, and the
aggregation agreements between a provider and its authority (NX-29, SQ-20, NX-13, HB-16,
YX-22)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from govshare.storage.metadata import metadata
from govshare.storage.types import UTCDateTime

# A pull from the provider department's own database. ``url_encrypted`` is the SQLAlchemy URL
# encrypted with the platform's Fernet key (var/keys/connectors.fernet); ``url_masked`` is the
# same URL with the password replaced, the only form ever shown.
source_connector = Table(
    "source_connector",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("resource_id", String(26), ForeignKey("resource.id"), nullable=False, index=True),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("url_encrypted", Text, nullable=False),
    Column("url_masked", String(500), nullable=False),
    Column("source_table", String(200)),
    Column("source_query", Text),
    Column("incremental_column", String(100), nullable=False),
    Column("column_map", Text, nullable=False, default="{}"),  # JSON {source column: item code}
    Column("cursor_value", Text),  # JSON {"type": ..., "value": ...}; NULL: nothing pulled yet
    Column("enabled", Boolean, nullable=False, default=True),
    Column("batch_rows", Integer, nullable=False, default=50_000),
    Column("running_since", UTCDateTime()),  # the lease of a run in progress
    Column("last_run_at", UTCDateTime()),
    Column("last_status", String(20)),
    Column("last_error", String(500)),
    Column("last_rows", Integer),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

connector_run = Table(
    "connector_run",
    metadata,
    Column("id", String(26), primary_key=True),
    Column(
        "connector_id", String(26), ForeignKey("source_connector.id"), nullable=False, index=True
    ),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=False),
    Column("status", String(20), nullable=False),  # loaded | no_rows | failed
    Column("batches", Integer, nullable=False, default=0),
    Column("rows", Integer, nullable=False, default=0),
    Column("last_batch_id", String(26)),
    Column("cursor_from", Text),
    Column("cursor_to", Text),
    Column("error_code", String(60)),
    Column("error", String(500)),  # sanitised: never the URL or its password
    Column("actor_id", String(64), nullable=False),
)

# One agreement per resource: how its data reaches the platform (NX-29), the agreed
# aggregation interval and update cycle (NX-29, SQ-20), the front-end system (YX-22), and its
# filing (备案) with the authority.
aggregation_agreement = Table(
    "aggregation_agreement",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("resource_id", String(26), ForeignKey("resource.id"), nullable=False, unique=True),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=False, index=True),
    Column("mode", String(30), nullable=False),
    Column("interval_hours", Integer),
    Column("agreed_cycle_days", Integer),
    Column("front_end_interface_id", String(26), ForeignKey("department_interface.id")),
    Column("note", Text, nullable=False, default=""),
    Column("filed_at", UTCDateTime()),
    Column("filed_by_id", String(64)),
    Column("filed_by_name", String(100)),
    Column("filing_ref", String(200)),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(64), nullable=False),
)

# NX-13: a service interface the authority asked for, its agreed delivery date and the
# written extension requests (at most 5 working days in all).
interface_delivery = Table(
    "interface_delivery",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("resource_id", String(26), ForeignKey("resource.id"), nullable=False, index=True),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("agreed_on", Date, nullable=False),  # the agreed delivery date
    Column("due_on", Date, nullable=False),  # agreed date plus approved extensions
    Column("delivered_at", UTCDateTime()),
    Column("requested_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

interface_extension = Table(
    "interface_extension",
    metadata,
    Column("id", String(26), primary_key=True),
    Column(
        "delivery_id", String(26), ForeignKey("interface_delivery.id"), nullable=False, index=True
    ),
    Column("working_days", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(20), nullable=False),  # pending | approved | rejected
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("decided_at", UTCDateTime()),
    Column("decided_by", String(64)),
    Column("new_due_on", Date),
)

# HB-16: the provincial big-data agency's approval of offline file exchange for a resource.
offline_approval = Table(
    "offline_approval",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("resource_id", String(26), ForeignKey("resource.id"), nullable=False),
    Column("agency", String(200), nullable=False),
    Column("approval_ref", String(200), nullable=False),  # 批复文号
    Column("approved_on", Date, nullable=False),
    Column("valid_until", Date),
    Column("note", Text, nullable=False, default=""),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Index("ix_offline_approval_resource", "resource_id"),
)
