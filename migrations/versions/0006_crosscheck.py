"""cross-source checks: coordination items and events, authoritative sources, the
fingerprint key

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 10:00:00.000000
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import govshare.storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    key = op.create_table(
        "crosscheck_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosscheck_key")),
    )
    # the HMAC key of key fingerprints and value hashes: random per installation
    op.bulk_insert(
        key, [{"id": 1, "secret": secrets.token_hex(32), "created_at": datetime.now(UTC)}]
    )
    op.create_table(
        "authoritative_source",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=26), nullable=False),
        sa.Column("element", sa.String(length=100), nullable=False),
        sa.Column("element_label", sa.String(length=100), nullable=False),
        sa.Column("department_id", sa.String(length=26), nullable=False),
        sa.Column("resource_id", sa.String(length=26), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("named_by", sa.String(length=100), nullable=False),
        sa.Column("named_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_authoritative_source_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdiction.id"],
            name=op.f("fk_authoritative_source_jurisdiction_id_jurisdiction"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_authoritative_source_resource_id_resource"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authoritative_source")),
        sa.UniqueConstraint(
            "jurisdiction_id",
            "element",
            name=op.f("uq_authoritative_source_jurisdiction_id_element"),
        ),
    )
    op.create_table(
        "coordination_item",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=26), nullable=False),
        sa.Column("element", sa.String(length=100), nullable=False),
        sa.Column("element_label", sa.String(length=100), nullable=False),
        sa.Column("key_kind", sa.String(length=20), nullable=False),
        sa.Column("key_masked", sa.String(length=64), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("sensitivity", sa.String(length=20), nullable=False),
        sa.Column("resource_a_id", sa.String(length=26), nullable=False),
        sa.Column("department_a_id", sa.String(length=26), nullable=False),
        sa.Column("item_a_code", sa.String(length=64), nullable=False),
        sa.Column("value_a_masked", sa.String(length=300), nullable=False),
        sa.Column("value_a_hash", sa.String(length=64), nullable=False),
        sa.Column("resource_b_id", sa.String(length=26), nullable=False),
        sa.Column("department_b_id", sa.String(length=26), nullable=False),
        sa.Column("item_b_code", sa.String(length=64), nullable=False),
        sa.Column("value_b_masked", sa.String(length=300), nullable=False),
        sa.Column("value_b_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assignee_department_id", sa.String(length=26), nullable=True),
        sa.Column("authoritative_department_id", sa.String(length=26), nullable=True),
        sa.Column("values_agree", sa.Boolean(), nullable=False),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        sa.Column("opened_batch_id", sa.String(length=26), nullable=False),
        sa.Column("last_batch_id", sa.String(length=26), nullable=False),
        sa.Column("opened_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("routed_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", govshare.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("open_key", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_department_id"],
            ["department.id"],
            name=op.f("fk_coordination_item_assignee_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["authoritative_department_id"],
            ["department.id"],
            name=op.f("fk_coordination_item_authoritative_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["department_a_id"],
            ["department.id"],
            name=op.f("fk_coordination_item_department_a_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["department_b_id"],
            ["department.id"],
            name=op.f("fk_coordination_item_department_b_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdiction.id"],
            name=op.f("fk_coordination_item_jurisdiction_id_jurisdiction"),
        ),
        sa.ForeignKeyConstraint(
            ["opened_batch_id"],
            ["ingest_batch.id"],
            name=op.f("fk_coordination_item_opened_batch_id_ingest_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_a_id"],
            ["resource.id"],
            name=op.f("fk_coordination_item_resource_a_id_resource"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_b_id"],
            ["resource.id"],
            name=op.f("fk_coordination_item_resource_b_id_resource"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coordination_item")),
        sa.UniqueConstraint("open_key", name=op.f("uq_coordination_item_open_key")),
    )
    with op.batch_alter_table("coordination_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coordination_item_department_a_id"), ["department_a_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_coordination_item_department_b_id"), ["department_b_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_coordination_item_element"), ["element"], unique=False)
        batch_op.create_index(
            "ix_coordination_item_jurisdiction_status",
            ["jurisdiction_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_coordination_item_key_fingerprint"), ["key_fingerprint"], unique=False
        )
        batch_op.create_index(
            "ix_coordination_item_pair", ["resource_a_id", "resource_b_id"], unique=False
        )

    op.create_table(
        "coordination_event",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("item_id", sa.String(length=26), nullable=False),
        sa.Column("at", govshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("department_id", sa.String(length=26), nullable=True),
        sa.Column("batch_id", sa.String(length=26), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["coordination_item.id"],
            name=op.f("fk_coordination_event_item_id_coordination_item"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coordination_event")),
    )
    with op.batch_alter_table("coordination_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coordination_event_item_id"), ["item_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("coordination_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coordination_event_item_id"))
    op.drop_table("coordination_event")
    with op.batch_alter_table("coordination_item", schema=None) as batch_op:
        batch_op.drop_index("ix_coordination_item_pair")
        batch_op.drop_index(batch_op.f("ix_coordination_item_key_fingerprint"))
        batch_op.drop_index("ix_coordination_item_jurisdiction_status")
        batch_op.drop_index(batch_op.f("ix_coordination_item_element"))
        batch_op.drop_index(batch_op.f("ix_coordination_item_department_b_id"))
        batch_op.drop_index(batch_op.f("ix_coordination_item_department_a_id"))
    op.drop_table("coordination_item")
    op.drop_table("authoritative_source")
    op.drop_table("crosscheck_key")
