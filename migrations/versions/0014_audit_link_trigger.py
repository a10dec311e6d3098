"""audit chain: a link check instead of UNIQUE prev_hash and hash

Every append wrote two B-tree leaves far apart for the UNIQUE constraints on
``audit_entry.prev_hash`` and ``hash`` (both random hex): on a busy platform most of the
pages a group-commit flush wrote (and SQLite's checkpoints then copied) were those. They
guarded against a fork: two entries claiming the same predecessor, should a writer bypass
the append lock. The ``audit_entry_linked`` trigger (``govshare.audit.tables``) guards
the same, more strictly, with two primary-key reads of pages the append touches anyway:
an entry's ``prev_hash`` must be the hash of the entry at ``seq - 1`` (or the archive's
anchor there after a purge, or the genesis for seq 1). With ``seq`` the primary key no
entry can have two successors, and none can be inserted past a gap.

SQLite keeps UNIQUE constraints in the table's definition, so the table is rebuilt (its
rows copied, its indexes and append-only triggers made again). PostgreSQL drops the two
constraints. Existing chains are unchanged and verify as before.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-21 18:05:00.000000
"""

from __future__ import annotations

from alembic import op

from govshare.audit.tables import (
    SQLITE_TRIGGERS,
    drop_link_trigger_ddl,
    link_trigger_ddl,
)

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ENTRY_TRIGGERS = ("audit_entry_no_update", "audit_entry_no_delete")


def _sqlite_entry_triggers() -> list[str]:
    """The append-only triggers of ``audit_entry`` (a rebuilt table loses them)."""
    return [ddl for ddl in SQLITE_TRIGGERS if any(name in ddl for name in _ENTRY_TRIGGERS)]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in _ENTRY_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        with op.batch_alter_table("audit_entry", recreate="always") as batch_op:
            batch_op.drop_constraint("uq_audit_entry_hash", type_="unique")
            batch_op.drop_constraint("uq_audit_entry_prev_hash", type_="unique")
        for ddl in _sqlite_entry_triggers():
            op.execute(ddl)
    else:
        op.drop_constraint("uq_audit_entry_hash", "audit_entry", type_="unique")
        op.drop_constraint("uq_audit_entry_prev_hash", "audit_entry", type_="unique")
    for ddl in link_trigger_ddl(dialect):
        op.execute(ddl)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for ddl in drop_link_trigger_ddl(dialect):
        op.execute(ddl)
    if dialect == "sqlite":
        for name in _ENTRY_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        with op.batch_alter_table("audit_entry", recreate="always") as batch_op:
            batch_op.create_unique_constraint("uq_audit_entry_hash", ["hash"])
            batch_op.create_unique_constraint("uq_audit_entry_prev_hash", ["prev_hash"])
        for ddl in _sqlite_entry_triggers():
            op.execute(ddl)
    else:
        op.create_unique_constraint("uq_audit_entry_hash", "audit_entry", ["hash"])
        op.create_unique_constraint("uq_audit_entry_prev_hash", "audit_entry", ["prev_hash"])
