from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
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

# One data pool per (resource, pool generation). The rows live in a table of their own,
# ``table_name``, with typed columns built from the data items (see pools.py).
data_pool = Table(
    "data_pool",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("resource_id", String(26), ForeignKey("resource.id"), nullable=False, index=True),
    Column("generation", Integer, nullable=False),
    Column("table_name", String(63), nullable=False, unique=True),
    Column("version_no", Integer, nullable=False),  # the newest version the pool serves
    Column("columns", Text, nullable=False),  # JSON [{code, type, length, identifier}, ...]
    Column("key_columns", Text, nullable=False),  # JSON list of item codes (upsert key)
    Column("active", Boolean, nullable=False),  # the pool new loads go to
    Column("row_count", BigInteger, nullable=False, default=0),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("last_loaded_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("resource_id", "generation"),
)

ingest_batch = Table(
    "ingest_batch",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("pool_id", String(26), ForeignKey("data_pool.id"), nullable=False, index=True),
    Column("resource_id", String(26), ForeignKey("resource.id"), nullable=False, index=True),
    Column("source", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("file_name", String(300), nullable=False, default=""),
    Column("file_sha256", String(64), nullable=False, default=""),
    Column("encoding", String(20), nullable=False, default=""),
    Column("idempotency_key", String(200)),
    Column("actor_id", String(64), nullable=False),
    Column("actor_name", String(100), nullable=False),
    Column("department_id", String(26), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=False),
    Column("rows_total", Integer, nullable=False),
    Column("rows_loaded", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("rows_deleted", Integer, nullable=False, default=0),
    Column("completeness", Float, nullable=False),
    Column("validity", Float, nullable=False),
    Column("uniqueness", Float, nullable=False),
    Column("quality_score", Float, nullable=False),
    Index("ix_ingest_batch_resource_hash", "resource_id", "file_sha256"),
    UniqueConstraint("resource_id", "idempotency_key"),
)

# Rows that failed validation, with the reason for each field; the provider downloads them,
# fixes them and resubmits them.
quarantine_row = Table(
    "quarantine_row",
    metadata,
    Column("batch_id", String(26), ForeignKey("ingest_batch.id"), nullable=False),
    Column("row_no", Integer, nullable=False),
    Column("values", Text, nullable=False),  # JSON {item code: raw text}
    Column("errors", Text, nullable=False),  # JSON [{field, code, message_zh, message_en}]
    Column("resolved", Boolean, nullable=False, default=False),
    UniqueConstraint("batch_id", "row_no"),
)
