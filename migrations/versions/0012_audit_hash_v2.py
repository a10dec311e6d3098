"""audit hash version: entries say which canonical encoding their hash covers

Existing entries keep version 1 (their hashes are unchanged and verify as before); the
entries written from now on use version 2, the compact JSON array of the stored columns
(``govshare.audit.model``), which verification hashes without re-serialising.
A plain ``ADD COLUMN`` with a constant default on both databases: no table rebuild, and
the append-only triggers (which refuse UPDATE and DELETE) are not involved.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-21 10:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "audit_entry",
        sa.Column("hash_version", sa.SmallInteger(), server_default="1", nullable=False),
    )


def downgrade() -> None:
    # Version 2 entries cannot be expressed without the column: refuse rather than leave
    # a chain that no longer verifies.
    bind = op.get_bind()
    newer = bind.exec_driver_sql("SELECT COUNT(*) FROM audit_entry WHERE hash_version <> 1")
    if newer.scalar_one():
        raise RuntimeError(
            "audit entries with hash version 2 exist; downgrading would break the chain"
        )
    with op.batch_alter_table("audit_entry", recreate="never") as batch_op:
        batch_op.drop_column("hash_version")
