"""sharing: share applications, their steps (timeline), delegated reviewers and grants

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govshare.storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delegated_reviewer",
        sa.Column("provider_department_id", sa.String(length=26), nullable=False),
        sa.Column("agent_department_id", sa.String(length=26), nullable=False),
        sa.Column("named_by", sa.String(length=100), nullable=False),
        sa.Column("named_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_department_id"],
            ["department.id"],
            name=op.f("fk_delegated_reviewer_agent_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["department.id"],
            name=op.f("fk_delegated_reviewer_provider_department_id_department"),
        ),
        sa.PrimaryKeyConstraint("provider_department_id", name=op.f("pk_delegated_reviewer")),
    )
    op.create_table(
        "share_application",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("consumer_department_id", sa.String(length=26), nullable=False),
        sa.Column("provider_department_id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("version_id", sa.String(length=26), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("modes", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("client_system_id", sa.String(length=26), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("batch_justification", sa.Text(), nullable=False),
        sa.Column("share_category", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column(
            "submitted_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        sa.Column("grant_id", sa.String(length=26), nullable=True),
        sa.Column("updated_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_department_id"],
            ["department.id"],
            name=op.f("fk_share_application_consumer_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["department.id"],
            name=op.f("fk_share_application_provider_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_share_application_resource_id_resource")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["resource_version.id"],
            name=op.f("fk_share_application_version_id_resource_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_application")),
    )
    with op.batch_alter_table("share_application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_application_state"), ["state"], unique=False)

    op.create_table(
        "share_grant",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("application_id", sa.String(length=26), nullable=True),
        sa.Column("consumer_department_id", sa.String(length=26), nullable=False),
        sa.Column("client_system_id", sa.String(length=26), nullable=True),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("version_id", sa.String(length=26), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("modes", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_department_id"],
            ["department.id"],
            name=op.f("fk_share_grant_consumer_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_share_grant_resource_id_resource")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["resource_version.id"],
            name=op.f("fk_share_grant_version_id_resource_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_grant")),
    )
    with op.batch_alter_table("share_grant", schema=None) as batch_op:
        batch_op.create_index(
            "ix_share_grant_consumer", ["consumer_department_id", "resource_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_share_grant_status"), ["status"], unique=False)

    op.create_table(
        "application_step",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("application_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("department_id", sa.String(length=26), nullable=True),
        sa.Column("opened_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("counted_from", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("due_provisional", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("at", govshare.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("agent_department_id", sa.String(length=26), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["share_application.id"],
            name=op.f("fk_application_step_application_id_share_application"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_application_step_department_id_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_step")),
    )
    with op.batch_alter_table("application_step", schema=None) as batch_op:
        batch_op.create_index(
            "ix_application_step_application_id", ["application_id"], unique=False
        )
        batch_op.create_index("ix_application_step_open", ["department_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("application_step", schema=None) as batch_op:
        batch_op.drop_index("ix_application_step_open")
        batch_op.drop_index("ix_application_step_application_id")

    op.drop_table("application_step")
    with op.batch_alter_table("share_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_grant_status"))
        batch_op.drop_index("ix_share_grant_consumer")

    op.drop_table("share_grant")
    with op.batch_alter_table("share_application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_application_state"))

    op.drop_table("share_application")
    op.drop_table("delegated_reviewer")
