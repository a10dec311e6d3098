"""aggregation sources: connectors, runs, agreements, interface deliveries, offline approvals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govshare.storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, govshare.storage.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "source_connector",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("department_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url_encrypted", sa.Text(), nullable=False),
        sa.Column("url_masked", sa.String(length=500), nullable=False),
        sa.Column("source_table", sa.String(length=200), nullable=True),
        sa.Column("source_query", sa.Text(), nullable=True),
        sa.Column("incremental_column", sa.String(length=100), nullable=False),
        sa.Column("column_map", sa.Text(), nullable=False),
        sa.Column("cursor_value", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("batch_rows", sa.Integer(), nullable=False),
        _ts("running_since"),
        _ts("last_run_at"),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_rows", sa.Integer(), nullable=True),
        _ts("created_at", False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _ts("updated_at", False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resource.id"], name=op.f("fk_source_connector_resource_id_resource")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_source_connector_department_id_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_connector")),
    )
    with op.batch_alter_table("source_connector", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_source_connector_resource_id"), ["resource_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_source_connector_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "connector_run",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("connector_id", sa.String(length=26), nullable=False),
        _ts("started_at", False),
        _ts("finished_at", False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("last_batch_id", sa.String(length=26), nullable=True),
        sa.Column("cursor_from", sa.Text(), nullable=True),
        sa.Column("cursor_to", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["source_connector.id"],
            name=op.f("fk_connector_run_connector_id_source_connector"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_run")),
    )
    with op.batch_alter_table("connector_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connector_run_connector_id"), ["connector_id"], unique=False
        )

    op.create_table(
        "aggregation_agreement",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("department_id", sa.String(length=26), nullable=False),
        sa.Column("mode", sa.String(length=30), nullable=False),
        sa.Column("interval_hours", sa.Integer(), nullable=True),
        sa.Column("agreed_cycle_days", sa.Integer(), nullable=True),
        sa.Column("front_end_interface_id", sa.String(length=26), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        _ts("filed_at"),
        sa.Column("filed_by_id", sa.String(length=64), nullable=True),
        sa.Column("filed_by_name", sa.String(length=100), nullable=True),
        sa.Column("filing_ref", sa.String(length=200), nullable=True),
        _ts("updated_at", False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_aggregation_agreement_resource_id_resource"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_aggregation_agreement_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["front_end_interface_id"],
            ["department_interface.id"],
            name=op.f("fk_aggregation_agreement_front_end_interface_id_department_interface"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_agreement")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_aggregation_agreement_resource_id")),
    )
    with op.batch_alter_table("aggregation_agreement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_agreement_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "interface_delivery",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("department_id", sa.String(length=26), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("agreed_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        _ts("delivered_at"),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        _ts("created_at", False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_interface_delivery_resource_id_resource"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_interface_delivery_department_id_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interface_delivery")),
    )
    with op.batch_alter_table("interface_delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interface_delivery_resource_id"), ["resource_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_interface_delivery_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "interface_extension",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("delivery_id", sa.String(length=26), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _ts("requested_at", False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        _ts("decided_at"),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("new_due_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["interface_delivery.id"],
            name=op.f("fk_interface_extension_delivery_id_interface_delivery"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interface_extension")),
    )
    with op.batch_alter_table("interface_extension", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interface_extension_delivery_id"), ["delivery_id"], unique=False
        )

    op.create_table(
        "offline_approval",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("approval_ref", sa.String(length=200), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        _ts("recorded_at", False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        _ts("revoked_at"),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_offline_approval_resource_id_resource"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_approval")),
    )
    with op.batch_alter_table("offline_approval", schema=None) as batch_op:
        batch_op.create_index("ix_offline_approval_resource", ["resource_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("offline_approval", schema=None) as batch_op:
        batch_op.drop_index("ix_offline_approval_resource")
    op.drop_table("offline_approval")
    with op.batch_alter_table("interface_extension", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interface_extension_delivery_id"))
    op.drop_table("interface_extension")
    with op.batch_alter_table("interface_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interface_delivery_department_id"))
        batch_op.drop_index(batch_op.f("ix_interface_delivery_resource_id"))
    op.drop_table("interface_delivery")
    with op.batch_alter_table("aggregation_agreement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_agreement_department_id"))
    op.drop_table("aggregation_agreement")
    with op.batch_alter_table("connector_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connector_run_connector_id"))
    op.drop_table("connector_run")
    with op.batch_alter_table("source_connector", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_connector_department_id"))
        batch_op.drop_index(batch_op.f("ix_source_connector_resource_id"))
    op.drop_table("source_connector")
