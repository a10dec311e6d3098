"""Tables of the cross-source checks (一数一源 / 多元校核): coordination items opened on
value conflicts between providers, their event trail, the authoritative sources (数源部门)
the authority names per data element, and the key that makes fingerprints unguessable.

No raw value is stored here: keys and values are kept masked (for display) and as keyed
hashes (to find an item again and to tell whether a value changed). Raw values stay in the
data pools.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
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

# One row: a random key for the HMAC fingerprints of subject keys and values. A plain hash
# of a 身份证号 whose masked form shows 10 of its 18 characters is reversed by trying the
# ~36,500 birth dates; a keyed hash is not. Created by the migration (0006).
crosscheck_key = Table(
    "crosscheck_key",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("secret", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# 协调事项: two providers hold different values of one data element for one subject.
coordination_item = Table(
    "coordination_item",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("jurisdiction_id", String(26), ForeignKey("jurisdiction.id"), nullable=False),
    Column("element", String(100), nullable=False, index=True),  # normalised item name
    Column("element_label", String(100), nullable=False),  # the item name as catalogued
    Column("key_kind", String(20), nullable=False),  # id_card | uscc
    Column("key_masked", String(64), nullable=False),
    Column("key_fingerprint", String(64), nullable=False, index=True),  # keyed HMAC
    Column("sensitivity", String(20), nullable=False),
    # side A and side B: ordered by resource id, so that a pair has one spelling
    Column("resource_a_id", String(26), ForeignKey("resource.id"), nullable=False),
    Column("department_a_id", String(26), ForeignKey("department.id"), nullable=False, index=True),
    Column("item_a_code", String(64), nullable=False),
    Column("value_a_masked", String(300), nullable=False),
    Column("value_a_hash", String(64), nullable=False),
    Column("resource_b_id", String(26), ForeignKey("resource.id"), nullable=False),
    Column("department_b_id", String(26), ForeignKey("department.id"), nullable=False, index=True),
    Column("item_b_code", String(64), nullable=False),
    Column("value_b_masked", String(300), nullable=False),
    Column("value_b_hash", String(64), nullable=False),
    Column("status", String(20), nullable=False),  # open | routed | resolved
    # the provider that must correct (NX-27: the record names the responsible producer)
    Column("assignee_department_id", String(26), ForeignKey("department.id")),
    Column("authoritative_department_id", String(26), ForeignKey("department.id")),
    Column("values_agree", Boolean, nullable=False, default=False),  # seen agreeing since
    Column("disputed", Boolean, nullable=False, default=False),
    Column("opened_batch_id", String(26), ForeignKey("ingest_batch.id"), nullable=False),
    Column("last_batch_id", String(26), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("routed_at", UTCDateTime()),
    Column("resolved_at", UTCDateTime()),
    Column("resolution", String(20)),  # corrected | settled
    Column("resolved_by", String(100)),
    # hash of (element, key, pair) while unresolved, NULL once resolved: one open item each
    Column("open_key", String(64), unique=True),
    Index("ix_coordination_item_jurisdiction_status", "jurisdiction_id", "status"),
    Index("ix_coordination_item_pair", "resource_a_id", "resource_b_id"),
)

coordination_event = Table(
    "coordination_event",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("item_id", String(26), ForeignKey("coordination_item.id"), nullable=False, index=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("action", String(20), nullable=False),  # opened | routed | agreed | ... see model
    Column("actor_name", String(100), nullable=False),
    Column("department_id", String(26)),  # the department acted for or routed to
    Column("batch_id", String(26)),
    Column("note", Text, nullable=False, default=""),
)

# 数源部门: the provider whose value of an element is authoritative in a jurisdiction.
authoritative_source = Table(
    "authoritative_source",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("jurisdiction_id", String(26), ForeignKey("jurisdiction.id"), nullable=False),
    Column("element", String(100), nullable=False),
    Column("element_label", String(100), nullable=False),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("resource_id", String(26), ForeignKey("resource.id")),  # None: any of its resources
    Column("note", Text, nullable=False, default=""),
    Column("named_by", String(100), nullable=False),
    Column("named_at", UTCDateTime(), nullable=False),
    UniqueConstraint("jurisdiction_id", "element"),
)
