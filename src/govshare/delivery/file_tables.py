"""Tables of the file-shaped data services: batch export jobs (批量交换) and the documents
of document / e-licence resources (文书、证照类, SZ-16.4, NX-39).

Kept apart from ``delivery.tables`` (the call statistics written by the audit flush):
these rows are written by ordinary services, each in one transaction with its audit entry.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table, Text

from govshare.storage.metadata import metadata
from govshare.storage.types import UTCDateTime

# One row per export job. The call context (purpose, end user, case number) is kept so
# that the job's audit entries and the download carry it; ``manifest`` is the canonical
# JSON that ``manifest_signature`` signs (Ed25519, platform key).
delivery_export_job = Table(
    "delivery_export_job",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("grant_id", String(26), ForeignKey("share_grant.id"), nullable=False, index=True),
    Column("consumer_department_id", String(26), nullable=False, index=True),
    Column("client_id", String(64), nullable=False),  # the OAuth client id that asked
    Column("resource_id", String(26), nullable=False),
    Column("resource_code", String(40), nullable=False),
    Column("version_no", BigInteger, nullable=False),
    Column("items", Text, nullable=False),  # JSON [item codes]
    Column("format", String(10), nullable=False),  # csv | xlsx | jsonl | parquet
    Column("encoding", String(10), nullable=False, server_default="utf-8"),
    Column("state", String(10), nullable=False, index=True),  # queued|running|done|failed|expired
    Column("purpose", String(100), nullable=False),
    Column("end_user", String(100), nullable=False),
    Column("case_no", String(100), nullable=False),
    Column("call_id", String(26), nullable=False),  # the request's call (its receipt)
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("expires_at", UTCDateTime(), nullable=True),  # the file is destroyed after
    Column("rows", BigInteger, nullable=True),
    Column("size", BigInteger, nullable=True),
    Column("sha256", String(64), nullable=True),
    Column("filename", String(200), nullable=True),  # under <var>/exports
    Column("manifest", Text, nullable=True),
    Column("manifest_signature", String(120), nullable=True),
    Column("receipt", Text, nullable=True),  # the production call's receipt (compact)
    Column("error_code", String(60), nullable=True),
    Column("error", Text, nullable=True),
    Column("cleaned_at", UTCDateTime(), nullable=True),
)

# A document (PDF, OFD, ...) stored against a record key of a resource; the bytes live
# content-addressed under <var>/documents/<sha256[:2]>/<sha256>.
delivery_document = Table(
    "delivery_document",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("resource_id", String(26), ForeignKey("resource.id"), nullable=False),
    Column("record_key", String(64), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("stored_path", String(200), nullable=False),  # relative to <var>
    Column("uploaded_by", String(100), nullable=False),
    Column("uploaded_at", UTCDateTime(), nullable=False),
    Index("ix_delivery_document_key", "resource_id", "record_key"),
)
