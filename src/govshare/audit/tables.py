from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, SmallInteger, String, Table, Text

from govshare.storage.metadata import metadata
from govshare.storage.types import UTCDateTime

audit_entry = Table(
    "audit_entry",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("occurred_at", UTCDateTime(), nullable=False, index=True),
    Column("actor_kind", String(20), nullable=False),
    Column("actor_id", String(64), nullable=False, index=True),
    Column("actor_name", String(100), nullable=False),
    Column("actor_department_id", String(26), index=True),
    Column("action", String(40), nullable=False, index=True),
    Column("object_type", String(40), nullable=False),
    Column("object_id", String(64), nullable=False),
    Column("purpose", String(500)),
    Column("case_no", String(100)),
    Column("details", Text, nullable=False),
    # every entry links to the one before it (no fork, no gap): the link triggers below
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # the encoding the hash covers (audit.model): 1 before migration 0012, 2 since
    Column("hash_version", SmallInteger, nullable=False, server_default="1"),
)

audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("signed_at", UTCDateTime(), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("signature", String(200), nullable=False),
)

# A purge records its archive here; verification starts from the newest anchor.
audit_archive = Table(
    "audit_archive",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("first_seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("upto_seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("entry_count", Integer, nullable=False),
    Column("file_name", String(300), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# While a row here covers a sequence number, the delete trigger lets a purge remove it.
audit_purge_permit = Table(
    "audit_purge_permit",
    metadata,
    Column("upto_seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
)

APPEND_ONLY_TABLES = ("audit_entry", "audit_checkpoint", "audit_archive")

SQLITE_TRIGGERS = [
    *[
        f"""CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t}
        BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END"""
        for t in APPEND_ONLY_TABLES
    ],
    """CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
    WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit p WHERE p.upto_seq >= OLD.seq)
    BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END""",
    """CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
    WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit p WHERE p.upto_seq >= OLD.seq)
    BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END""",
    """CREATE TRIGGER audit_archive_no_delete BEFORE DELETE ON audit_archive
    BEGIN SELECT RAISE(ABORT, 'audit_archive is append-only'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION govshare_audit_append_only() RETURNS trigger AS $$
    BEGIN
      -- nested: plpgsql does not short-circuit AND, and audit_archive has no seq column
      IF TG_OP = 'DELETE' AND TG_TABLE_NAME IN ('audit_entry', 'audit_checkpoint') THEN
        IF EXISTS (SELECT 1 FROM audit_purge_permit p WHERE p.upto_seq >= OLD.seq) THEN
          RETURN OLD;
        END IF;
      END IF;
      RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END $$ LANGUAGE plpgsql""",
    *[
        f"""CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t}
        FOR EACH ROW EXECUTE FUNCTION govshare_audit_append_only()"""
        for t in APPEND_ONLY_TABLES
    ],
    *[
        f"""CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t}
        FOR EACH STATEMENT EXECUTE FUNCTION govshare_audit_append_only()"""
        for t in APPEND_ONLY_TABLES
    ],
]

# The link check (migration 0014): an entry's prev_hash must be the hash of the entry
# before it (seq - 1), or, when that one was purged, the archive's anchor at seq - 1, or
# for seq 1 the genesis (64 zeros, ``audit.model.GENESIS_HASH``). With seq the primary
# key, no entry can get a second successor (a fork) and none can be inserted past a gap,
# even by a writer that bypassed the append lock. UNIQUE constraints on prev_hash and
# hash guarded against forks before 0014: their random keys cost every append two
# B-tree leaves far apart, most of the pages a flush wrote.
SQLITE_LINK_TRIGGERS = [
    """CREATE TRIGGER audit_entry_linked BEFORE INSERT ON audit_entry
    WHEN NEW.prev_hash IS NOT (
      SELECT h FROM (
        SELECT hash AS h FROM audit_entry WHERE seq = NEW.seq - 1
        UNION ALL SELECT last_hash FROM audit_archive WHERE upto_seq = NEW.seq - 1
        UNION ALL SELECT '0000000000000000000000000000000000000000000000000000000000000000'
          WHERE NEW.seq = 1
      ) LIMIT 1)
    BEGIN SELECT RAISE(ABORT, 'audit_entry must link to the entry before it'); END"""
]
POSTGRES_LINK_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION govshare_audit_linked() RETURNS trigger AS $$
    DECLARE before_hash text;
    BEGIN
      SELECT hash INTO before_hash FROM audit_entry WHERE seq = NEW.seq - 1;
      IF before_hash IS NULL THEN
        SELECT last_hash INTO before_hash FROM audit_archive WHERE upto_seq = NEW.seq - 1;
      END IF;
      IF before_hash IS NULL AND NEW.seq = 1 THEN
        before_hash := repeat('0', 64);  -- the genesis
      END IF;
      IF before_hash IS DISTINCT FROM NEW.prev_hash THEN
        RAISE EXCEPTION 'audit_entry % must link to the entry before it', NEW.seq
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_entry_linked BEFORE INSERT ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION govshare_audit_linked()""",
]
SQLITE_DROP_LINK_TRIGGERS = ["DROP TRIGGER IF EXISTS audit_entry_linked"]
POSTGRES_DROP_LINK_TRIGGERS = [
    "DROP TRIGGER IF EXISTS audit_entry_linked ON audit_entry",
    "DROP FUNCTION IF EXISTS govshare_audit_linked()",
]

SQLITE_DROP_TRIGGERS = [
    *[f"DROP TRIGGER IF EXISTS {t}_no_update" for t in APPEND_ONLY_TABLES],
    *[f"DROP TRIGGER IF EXISTS {t}_no_delete" for t in APPEND_ONLY_TABLES],
    *SQLITE_DROP_LINK_TRIGGERS,
]
POSTGRES_DROP_TRIGGERS = [
    *[f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}" for t in APPEND_ONLY_TABLES],
    *[f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}" for t in APPEND_ONLY_TABLES],
    "DROP FUNCTION IF EXISTS govshare_audit_append_only()",
]


def trigger_ddl(dialect: str) -> list[str]:
    return POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS


def drop_trigger_ddl(dialect: str) -> list[str]:
    return POSTGRES_DROP_TRIGGERS if dialect == "postgresql" else SQLITE_DROP_TRIGGERS


def link_trigger_ddl(dialect: str) -> list[str]:
    return POSTGRES_LINK_TRIGGERS if dialect == "postgresql" else SQLITE_LINK_TRIGGERS


def drop_link_trigger_ddl(dialect: str) -> list[str]:
    return POSTGRES_DROP_LINK_TRIGGERS if dialect == "postgresql" else SQLITE_DROP_LINK_TRIGGERS
