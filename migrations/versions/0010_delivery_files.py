"""delivery files: export jobs and documents

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21 07:17:37.277593
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govshare.storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_document",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("record_key", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_path", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_delivery_document_resource_id_resource")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_document")),
    )
    with op.batch_alter_table("delivery_document", schema=None) as batch_op:
        batch_op.create_index(
            "ix_delivery_document_key", ["resource_id", "record_key"], unique=False
        )

    op.create_table(
        "delivery_export_job",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("grant_id", sa.String(length=26), nullable=False),
        sa.Column("consumer_department_id", sa.String(length=26), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("resource_code", sa.String(length=40), nullable=False),
        sa.Column("version_no", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("encoding", sa.String(length=10), server_default="utf-8", nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("purpose", sa.String(length=100), nullable=False),
        sa.Column("end_user", sa.String(length=100), nullable=False),
        sa.Column("case_no", sa.String(length=100), nullable=False),
        sa.Column("call_id", sa.String(length=26), nullable=False),
        sa.Column(
            "requested_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("started_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=True),
        sa.Column("manifest", sa.Text(), nullable=True),
        sa.Column("manifest_signature", sa.String(length=120), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cleaned_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["share_grant.id"],
            name=op.f("fk_delivery_export_job_grant_id_share_grant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_export_job")),
    )
    with op.batch_alter_table("delivery_export_job", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_export_job_consumer_department_id"),
            ["consumer_department_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_delivery_export_job_grant_id"), ["grant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_delivery_export_job_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delivery_export_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_export_job_state"))
        batch_op.drop_index(batch_op.f("ix_delivery_export_job_grant_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_export_job_consumer_department_id"))

    op.drop_table("delivery_export_job")
    with op.batch_alter_table("delivery_document", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_document_key")

    op.drop_table("delivery_document")
