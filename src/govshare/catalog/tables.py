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
    UniqueConstraint,
)

from govshare.storage.metadata import metadata
from govshare.storage.types import UTCDateTime

resource = Table(
    "resource",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("code", String(40), nullable=False, unique=True),  # stable across versions
    Column("provider_department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("published_version_id", String(26)),
    Column("draft_version_id", String(26)),
    Column("retired_reason", Text, nullable=False, default=""),
    Column("replacement_resource_id", String(26), ForeignKey("resource.id")),
    Column("transition_ends_on", Date),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

_S = String(500)

resource_version = Table(
    "resource_version",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("resource_id", String(26), ForeignKey("resource.id"), nullable=False),
    Column("version_no", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    # the entry (catalog.model.EntryInput), one column per field
    Column("name", String(200), nullable=False),
    Column("classification", String(20), nullable=False),
    Column("provider_department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("base_kind", String(20)),
    Column("theme", String(100), nullable=False, default=""),
    Column("internal_division", String(100), nullable=False, default=""),
    Column("format_category", String(20)),
    Column("format_type", String(100), nullable=False, default=""),
    Column("update_cycle", String(20)),
    Column("timeliness", _S, nullable=False, default=""),
    Column("share_category", String(20)),
    Column("share_scope", _S, nullable=False, default=""),
    Column("share_conditions", Text, nullable=False, default=""),
    Column("share_basis_type", String(40), nullable=False, default=""),
    Column("share_basis_text", Text, nullable=False, default=""),
    Column("share_basis_ref", _S, nullable=False, default=""),
    Column("not_shared_reasons", Text, nullable=False, default=""),
    Column("head_sign_off", _S, nullable=False, default=""),
    Column("delivery_modes", Text, nullable=False, default="[]"),  # JSON list
    Column("usage_requirements", Text, nullable=False, default=""),
    Column("dedicated_department_ids", Text, nullable=False, default="[]"),  # JSON list
    Column("open_category", String(20), nullable=False),
    Column("open_conditions", Text, nullable=False, default=""),
    Column("open_basis", Text, nullable=False, default=""),
    Column("open_review", Text, nullable=False, default=""),
    Column("involves_state_secret", Boolean, nullable=False, default=False),
    Column("confidentiality_review", _S, nullable=False, default=""),
    Column("grade", String(40), nullable=False, default=""),
    Column("release_scenarios", Text, nullable=False, default=""),
    Column("release_consumers", Text, nullable=False, default=""),
    Column("release_region", _S, nullable=False, default=""),
    Column("release_knowledge_scope", _S, nullable=False, default=""),
    Column("release_usage_scope", _S, nullable=False, default=""),
    Column("security_agreement_required", Boolean, nullable=False, default=False),
    Column("controlled_parameters", Text, nullable=False, default=""),  # HB-11
    Column("tags", Text, nullable=False, default="[]"),  # JSON list
    Column("related_codes", Text, nullable=False, default="[]"),  # JSON list
    Column("single_source_justification", Text, nullable=False, default=""),
    # workflow
    Column("overlaps", Text, nullable=False, default="[]"),  # JSON list of resource codes
    Column("change_trigger_id", String(26)),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("submitted_at", UTCDateTime()),
    Column("review_due", Date),
    Column("review_due_provisional", Boolean, nullable=False, default=False),
    Column("reviewed_by", String(64)),
    Column("reviewed_at", UTCDateTime()),
    Column("review_comment", Text, nullable=False, default=""),
    Column("published_at", UTCDateTime()),
    UniqueConstraint("resource_id", "version_no"),
)

data_item = Table(
    "data_item",
    metadata,
    Column("version_id", String(26), ForeignKey("resource_version.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("code", String(64), nullable=False),
    Column("norm_name", String(100), nullable=False, index=True),  # for 一数一源 overlap checks
    Column("type", String(20), nullable=False),
    Column("length", Integer),
    Column("description", Text, nullable=False, default=""),
    Column("required", Boolean, nullable=False, default=False),
    Column("identifier", String(20), nullable=False, default="none"),
    Column("sensitivity", String(20), nullable=False, default="none"),
    Column("code_list", _S, nullable=False, default=""),
    Column("base_item", Boolean, nullable=False, default=False),
    Column("collection_basis", String(20), nullable=False, default="none"),
    Column("collection_basis_text", _S, nullable=False, default=""),
    UniqueConstraint("version_id", "position"),
    UniqueConstraint("version_id", "code"),
)

# The published catalog, one row per published resource (read model for search and facets).
catalog_entry = Table(
    "catalog_entry",
    metadata,
    Column("resource_id", String(26), ForeignKey("resource.id"), primary_key=True),
    Column("version_id", String(26), nullable=False),
    Column("code", String(40), nullable=False),
    Column("name", String(200), nullable=False, index=True),
    Column("provider_department_id", String(26), nullable=False, index=True),
    Column("classification", String(20), nullable=False, index=True),
    Column("base_kind", String(20)),
    Column("theme", String(100), nullable=False, default=""),
    Column("share_category", String(20), nullable=False, index=True),
    Column("open_category", String(20), nullable=False, index=True),
    Column("format_category", String(20), nullable=False, index=True),
    Column("update_cycle", String(20), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("published_at", UTCDateTime(), nullable=False),
)

catalog_entry_mode = Table(
    "catalog_entry_mode",
    metadata,
    Column("resource_id", String(26), ForeignKey("catalog_entry.resource_id"), nullable=False),
    Column("mode", String(20), nullable=False),
    UniqueConstraint("resource_id", "mode"),
    Index("ix_catalog_entry_mode_mode", "mode"),
)

catalog_sequence = Table(
    "catalog_sequence",
    metadata,
    Column("prefix", String(20), primary_key=True),
    Column("last", Integer, nullable=False),
)

# SQ-8, SZ-7, NX-22, NX-23, YX-13: a change of law or functions makes a catalog update due.
catalog_change_trigger = Table(
    "catalog_change_trigger",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # law | functions | content | demand
    Column("occurred_on", Date, nullable=False),
    Column("description", Text, nullable=False),
    Column("written_notice_ref", _S, nullable=False, default=""),  # YX-13
    Column("update_due", Date),
    Column("update_due_provisional", Boolean, nullable=False, default=False),
    Column("report_due", Date),  # NX-23: county -> city record
    Column("reported_at", UTCDateTime()),
    Column("resolved_at", UTCDateTime()),
    Column("resolution", Text, nullable=False, default=""),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# SQ-7: each department's full maintenance of its catalogs, at least once a year.
catalog_maintenance = Table(
    "catalog_maintenance",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("year", Integer, nullable=False),
    Column("completed_on", Date, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_catalog_maintenance_dept_year", "department_id", "year"),
)

# SZ-8 / NX-18 / NX-20: the compiled catalog of a jurisdiction, published and filed upward.
catalog_release = Table(
    "catalog_release",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("jurisdiction_id", String(26), ForeignKey("jurisdiction.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("entries", Text, nullable=False),  # JSON [[code, version_no], ...]
    Column("entry_count", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("published_by", String(64), nullable=False),
    Column("published_at", UTCDateTime(), nullable=False),
    Column("filed_with", String(200), nullable=False, default=""),  # e.g. the provincial platform
    Column("filing_ref", String(200), nullable=False, default=""),
    Column("filed_at", UTCDateTime()),
    UniqueConstraint("jurisdiction_id", "number"),
)

# NX-19: a consumer department's demand list (需求清单).
demand = Table(
    "catalog_demand",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("consumer_department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("duty", Text, nullable=False),  # the duty the data serves
    Column("items", Text, nullable=False),  # JSON list of wanted item names
    Column("status", String(20), nullable=False),  # open | matched | assigned | fulfilled | closed
    Column("matched_resource_id", String(26), ForeignKey("resource.id")),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# NX-21: the collection-responsibility list (采集责任清单) derived from demands and the catalog.
duty = Table(
    "catalog_duty",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("demand_id", String(26), ForeignKey("catalog_demand.id")),
    Column("producer_department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("items", Text, nullable=False),  # JSON list
    Column("due_on", Date, nullable=False),
    Column("status", String(20), nullable=False),  # assigned | fulfilled | cancelled
    Column("resource_id", String(26), ForeignKey("resource.id")),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("fulfilled_at", UTCDateTime()),
)

# NX-26 / SQ-15: the agreed division of duties for jointly collected data (采集登记).
joint_collection = Table(
    "catalog_joint_collection",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("group_id", String(26), nullable=False, index=True),
    Column("resource_id", String(26), ForeignKey("resource.id"), nullable=False, index=True),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("items", Text, nullable=False),  # JSON list of item names this department collects
    Column("duty", Text, nullable=False),
    Column("registered_by", String(64), nullable=False),
    Column("registered_at", UTCDateTime(), nullable=False),
    Column("confirmed_by", String(64)),
    Column("confirmed_at", UTCDateTime()),
    UniqueConstraint("group_id", "department_id"),
)

# Full-text search. Not in the MetaData: their DDL differs per database (see search.py and
# the migrations): SQLite has an FTS5 table, PostgreSQL narrow rows with a GIN index on
# their lexeme ids, the lexemes, and the tsvector documents.
SEARCH_TABLE_NAMES = (
    "catalog_fts",
    "catalog_search",
    "catalog_search_code",
    "catalog_search_doc",
    "catalog_search_token",
)
