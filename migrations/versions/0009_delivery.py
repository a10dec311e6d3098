"""delivery: call statistics per grant, day and mode; refusals by error code

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 07:13:32.192435
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govshare.storage.types  # noqa: F401

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_call_stat",
        sa.Column("grant_id", sa.String(length=26), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("consumer_department_id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("refusals", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
        sa.Column("lat_10", sa.BigInteger(), nullable=False),
        sa.Column("lat_50", sa.BigInteger(), nullable=False),
        sa.Column("lat_250", sa.BigInteger(), nullable=False),
        sa.Column("lat_1000", sa.BigInteger(), nullable=False),
        sa.Column("lat_over", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", "day", "mode", name=op.f("pk_delivery_call_stat")),
    )
    with op.batch_alter_table("delivery_call_stat", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_call_stat_consumer_department_id"),
            ["consumer_department_id"],
            unique=False,
        )
        batch_op.create_index("ix_delivery_call_stat_day", ["day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_delivery_call_stat_resource_id"), ["resource_id"], unique=False
        )

    op.create_table(
        "delivery_error_stat",
        sa.Column("grant_id", sa.String(length=26), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "grant_id", "day", "mode", "code", name=op.f("pk_delivery_error_stat")
        ),
    )


def downgrade() -> None:
    op.drop_table("delivery_error_stat")
    with op.batch_alter_table("delivery_call_stat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_call_stat_resource_id"))
        batch_op.drop_index("ix_delivery_call_stat_day")
        batch_op.drop_index(batch_op.f("ix_delivery_call_stat_consumer_department_id"))

    op.drop_table("delivery_call_stat")
