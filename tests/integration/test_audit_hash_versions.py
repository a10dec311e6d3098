"""Audit hash versions on a real database (SQLite and PostgreSQL).

Entries written before migration 0012 keep their version 1 hashes (sorted-key JSON of an
object); entries written since carry version 2 (the compact JSON array of the stored
columns), which verification hashes straight from what the driver returns. A chain that
mixes both verifies, and tampering with a version 2 entry is caught exactly as before: a
changed column, two entries swapped, an entry deleted, the version itself changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from alembic import command
from sqlalchemy import Connection, delete, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from govshare.audit import services
from govshare.audit.group_commit import GroupCommitWriter, PendingEntry
from govshare.audit.keys import load_or_create_keys
from govshare.audit.model import (
    GENESIS_HASH,
    HASH_VERSION,
    AuditAction,
    AuditEntry,
    canonical_v2,
    time_text,
)
from govshare.audit.tables import audit_entry, drop_trigger_ddl
from govshare.audit.verify import VerifyReport, verify_chain
from govshare.kernel.actor import Actor, ActorKind
from govshare.kernel.clock import set_clock
from govshare.platform import Platform
from govshare.storage.engine import Database
from govshare.storage.migrate import alembic_config, upgrade

SYSTEM = Actor.system("hash-versions")
CLERK = Actor(kind=ActorKind.USER, id="u-clerk-02", name="李四", department_id="D" * 26)
TRICKY = ['引号"反斜杠\\', "控制\x01\x1f\t\n", "\u2028行分隔", "emoji 😀", "", "null"]


def append(db: Database, n: int, *, start: int = 1) -> list[AuditEntry]:
    out = []
    for i in range(start, start + n):
        with db.transaction() as tx:
            out.append(
                services.record(
                    tx,
                    CLERK,
                    AuditAction.QUERY,
                    "dataset",
                    f"ds-{i}",
                    details={"i": i, "note": TRICKY[i % len(TRICKY)]},
                    purpose=TRICKY[(i + 1) % len(TRICKY)],
                    case_no=None if i % 2 else f"CASE-{i}",
                )
            )
    return out


def chain(db: Database) -> list[AuditEntry]:
    with db.read() as conn:
        rows = conn.execute(select(audit_entry).order_by(audit_entry.c.seq)).all()
    return [AuditEntry(**r._mapping) for r in rows]


def verify(platform: Platform, **kw: Any) -> VerifyReport:
    return verify_chain(platform.db, platform.keys, **kw)


@contextmanager
def tampering(db: Database) -> Iterator[Connection]:
    """A transaction in which the append-only triggers do not fire (a DBA's rights)."""
    with db.engine.connect() as conn, conn.begin():
        if db.dialect == "sqlite":
            for ddl in drop_trigger_ddl("sqlite"):
                conn.exec_driver_sql(ddl)
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield conn


def v1_entries(n: int, *, start_at: datetime) -> list[AuditEntry]:
    """A chain of ``n`` version 1 entries, as the platform wrote them before 0012."""
    out: list[AuditEntry] = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        e = AuditEntry(
            seq=i,
            occurred_at=start_at + timedelta(seconds=i, microseconds=i),
            actor_kind="user",
            actor_id=CLERK.id,
            actor_name=CLERK.name,
            actor_department_id=CLERK.department_id,
            action="query",
            object_type="dataset",
            object_id=f"old-{i}",
            purpose=None if i % 2 else "旧用途",
            case_no=None,
            details=json.dumps({"i": i}, separators=(",", ":")),
            prev_hash=prev,
            hash="",
            hash_version=1,
        )
        e = replace(e, hash=e.computed_hash())
        out.append(e)
        prev = e.hash
    return out


def row_of(e: AuditEntry) -> dict[str, Any]:
    """The entry's fields as the audit table's column values."""
    return {f.name: getattr(e, f.name) for f in fields(e)}


def insert_v1(conn: Connection, entries: list[AuditEntry]) -> None:
    """Insert without naming ``hash_version`` (as before 0012; the column's default is 1)."""
    for e in entries:
        values = {k: v for k, v in row_of(e).items() if k != "hash_version"}
        conn.execute(insert(audit_entry).values(**values))


@pytest.fixture
def moved_clock() -> Iterator[None]:
    try:
        yield
    finally:
        set_clock(None)


# The encoding ------------------------------------------------------------------
@pytest.mark.req("HB-27")
def test_new_entries_are_version_2_over_their_stored_columns(platform: Platform) -> None:
    entries = append(platform.db, 6)
    assert {e.hash_version for e in entries} == {HASH_VERSION} == {2}
    stored = chain(platform.db)
    assert stored == entries
    time_sql = (
        "occurred_at"
        if platform.db.dialect == "sqlite"
        else "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    )
    with platform.db.read() as conn:
        texts = conn.execute(text(f"SELECT {time_sql} FROM audit_entry ORDER BY seq")).scalars()
        assert list(texts) == [time_text(e.occurred_at) for e in stored]
    for e in stored:
        payload = [
            2,
            e.seq,
            time_text(e.occurred_at),
            e.actor_kind,
            e.actor_id,
            e.actor_name,
            e.actor_department_id,
            e.action,
            e.object_type,
            e.object_id,
            e.purpose,
            e.case_no,
            e.details,
            e.prev_hash,
        ]
        # the documented encoding: compact JSON, UTF-8, non-ASCII unescaped
        expected = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        assert e.canonical() == expected == canonical_v2(tuple(payload))
        assert e.hash == e.computed_hash()
    report = verify(platform)
    assert report.ok, report.problems
    assert report.entries == 6


def test_the_version_2_encoding_is_the_standard_librarys_json() -> None:
    """orjson and ``json.dumps(ensure_ascii=False, separators=(",", ":"))`` agree on every
    kind of value an entry holds, including escapes, so the format is not one library's."""
    values: list[Any] = [2, 0, 2**53, None, *TRICKY, "".join(chr(c) for c in range(0, 0x80))]
    assert canonical_v2(tuple(values)) == json.dumps(
        values, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


@pytest.mark.req("HB-27", "NX-33")
def test_group_commit_entries_are_version_2_and_verify(platform: Platform) -> None:
    writer = GroupCommitWriter(platform.db)
    futures = [
        writer.submit(
            PendingEntry(
                actor=SYSTEM,
                action=AuditAction.QUERY,
                object_type="delivery_call",
                object_id=f"c-{i}",
                details={"i": i, "note": TRICKY[i % len(TRICKY)]},
            )
        )
        for i in range(40)
    ]
    got = [f.result(30) for f in futures]
    assert [e.seq for e in got] == list(range(1, 41))
    assert all(e.hash_version == 2 and e.hash == e.computed_hash() for e in got)
    assert chain(platform.db) == got
    assert verify(platform, batch=7).ok


@pytest.mark.req("NX-33", "HB-27")
def test_group_commit_after_another_writer_appended_links_to_the_real_head(
    platform: Platform,
) -> None:
    """The writer remembers the head it wrote (PostgreSQL links the next batch to it before
    taking the lock); entries appended meanwhile by anyone else must not be forked."""
    db = platform.db
    writer = GroupCommitWriter(db)
    other = GroupCommitWriter(db)  # a second process's writer, say

    def entry(name: str) -> PendingEntry:
        return PendingEntry(actor=SYSTEM, action=AuditAction.QUERY, object_type="x", object_id=name)

    first = writer.append(entry("w-1"))
    with db.transaction() as tx:
        between = services.record(tx, SYSTEM, AuditAction.UPDATE, "x", "record")
    after_record = writer.append(entry("w-2"))
    by_other = other.append(entry("o-1"))
    again = writer.append(entry("w-3"))
    assert [first.seq, between.seq, after_record.seq, by_other.seq, again.seq] == [1, 2, 3, 4, 5]
    assert after_record.prev_hash == between.hash and again.prev_hash == by_other.hash
    assert writer.entries == 3 and writer.flushes == 3
    report = verify(platform)
    assert report.ok, report.problems
    assert report.entries == 5


@pytest.mark.req("NX-33")
def test_a_bad_entry_fails_alone_at_submit(platform: Platform) -> None:
    writer = GroupCommitWriter(platform.db)
    unknown: Any = "no-such-action"
    bad = writer.submit(PendingEntry(actor=SYSTEM, action=unknown, object_type="x", object_id="1"))
    good = writer.submit(
        PendingEntry(actor=SYSTEM, action=AuditAction.QUERY, object_type="x", object_id="2")
    )
    with pytest.raises(ValueError):
        bad.result(30)
    assert good.result(30).seq == 1
    assert verify(platform).ok


# Mixed chains --------------------------------------------------------------------
@pytest.mark.req("HB-27", "SQ-25")
def test_a_chain_of_version_1_then_version_2_entries_verifies(platform: Platform) -> None:
    db = platform.db
    old = v1_entries(9, start_at=datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    with db.transaction() as tx:
        insert_v1(tx.conn, old)
    cp_old = services.create_checkpoint(db, platform.keys, actor=SYSTEM)  # signs seq 9
    new = append(db, 8, start=11)  # seq 11..18 (10 logs the checkpoint)
    services.create_checkpoint(db, platform.keys, actor=SYSTEM)  # signs 18, logs 19

    stored = chain(db)
    assert [e.hash_version for e in stored] == [1] * 9 + [2] * 10
    assert stored[:9] == old and stored[10:18] == new
    assert stored[9].prev_hash == old[-1].hash  # the first version 2 entry links to version 1
    assert cp_old.head_hash == old[-1].hash
    for batch in (1000, 4, 1):  # chunk edges inside either part and across the seam
        report = verify(platform, batch=batch)
        assert report.ok, (batch, report.problems)
        assert (report.entries, report.checkpoints, report.last_seq) == (19, 2, 19)

    # tampering with the version 1 part is still caught, and named
    with tampering(db) as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 4).values(object_id="x"))
    report = verify(platform, batch=4)
    assert not report.ok
    assert report.problems == ["seq 4: content does not match its hash"]


@pytest.mark.req("HB-27", "SQ-25")
def test_upgrading_a_version_1_database_keeps_its_chain_verifiable(
    database_url: str, tmp_path: Path
) -> None:
    """Down to the revision before 0012, a version 1 chain written there, then up again:
    the old entries get version 1, new ones version 2, and the whole chain verifies."""
    cfg = alembic_config(database_url)
    command.downgrade(cfg, "0011")
    db = Database(database_url)
    keys = load_or_create_keys(tmp_path / "keys")
    try:
        with db.engine.connect() as conn, conn.begin():
            columns = {c["name"] for c in inspect(conn).get_columns("audit_entry")}
            assert "hash_version" not in columns
            insert_v1(conn, v1_entries(5, start_at=datetime(2025, 1, 2, tzinfo=UTC)))
        upgrade(database_url)
        with db.transaction() as tx:
            services.record(tx, SYSTEM, AuditAction.UPDATE, "x", "after-upgrade")
        stored = chain(db)
        assert [e.hash_version for e in stored] == [1, 1, 1, 1, 1, 2]
        report = verify_chain(db, keys)
        assert report.ok, report.problems
        assert report.entries == 6

        with pytest.raises(RuntimeError, match="hash version 2"):
            command.downgrade(cfg, "0011")  # would strand the version 2 entry
    finally:
        db.dispose()


@pytest.mark.req("HB-27", "NX-33")
def test_migration_0014_trades_the_unique_hashes_for_the_link_check(
    database_url: str, tmp_path: Path
) -> None:
    """Down to 0013 (UNIQUE prev_hash and hash) with a chain in it, then up again: the
    constraints are gone, the chain still verifies, the append-only triggers survived
    SQLite's table rebuild, and the link check refuses an entry off the chain."""
    cfg = alembic_config(database_url)
    db = Database(database_url)
    keys = load_or_create_keys(tmp_path / "keys")
    hashes = {"uq_audit_entry_hash", "uq_audit_entry_prev_hash"}

    def uniques() -> set[str]:
        with db.engine.connect() as conn:
            return {str(u["name"]) for u in inspect(conn).get_unique_constraints("audit_entry")}

    try:
        command.downgrade(cfg, "0013")
        assert hashes <= uniques()
        with db.transaction() as tx:
            for i in range(3):
                services.record(tx, SYSTEM, AuditAction.UPDATE, "x", f"before-{i}")
        upgrade(database_url)
        assert not hashes & uniques()
        with db.transaction() as tx:
            services.record(tx, SYSTEM, AuditAction.UPDATE, "x", "after")
        stored = chain(db)
        report = verify_chain(db, keys)
        assert report.ok and report.entries == 4, report.problems
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(update(audit_entry).values(object_id="forged"))
        forged = replace(stored[-1], seq=6, object_id="forged")  # past a gap
        row = forged.as_dict() | {"occurred_at": forged.occurred_at}
        with (
            pytest.raises(DBAPIError, match="link to the entry before it"),
            db.engine.begin() as conn,
        ):
            conn.execute(insert(audit_entry).values(**row))
        assert chain(db) == stored
    finally:
        db.dispose()


# Tampering with version 2 entries --------------------------------------------------
CHANGES: list[tuple[str, Any]] = [
    ("actor_kind", "system"),
    ("actor_id", "mallory"),
    ("actor_name", "王五"),
    ("actor_department_id", None),
    ("action", "destroy"),
    ("object_type", "person"),
    ("object_id", "ds-other"),
    ("purpose", "掩盖"),
    ("case_no", "X-1"),
    ("details", '{"i":5,"note":"forged"}'),
    ("occurred_at", datetime(2020, 1, 1, tzinfo=UTC)),
    ("hash_version", 1),
]


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
@pytest.mark.parametrize(("column", "value"), CHANGES, ids=[c for c, _ in CHANGES])
def test_a_changed_column_of_a_version_2_entry_is_detected(
    platform: Platform, column: str, value: Any
) -> None:
    append(platform.db, 9)
    with tampering(platform.db) as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 5).values({column: value}))
    for batch in (1000, 5, 4):  # inside a chunk, at its end, at its start
        report = verify(platform, batch=batch)
        assert not report.ok
        assert report.first_bad_seq == 5
        assert report.problems == ["seq 5: content does not match its hash"]


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_an_occurred_at_rewritten_as_the_same_moment_in_other_text_is_detected(
    platform: Platform,
) -> None:
    """The hash covers the stored time text, not merely the moment it denotes: on SQLite a
    rewrite of the text to another spelling of the same instant is a change too."""
    if platform.db.dialect != "sqlite":
        pytest.skip("PostgreSQL stores the moment, not a text")
    entries = append(platform.db, 3)
    spelled = entries[1].occurred_at.isoformat()  # '...T...+00:00': same moment
    with tampering(platform.db) as conn:
        conn.exec_driver_sql("UPDATE audit_entry SET occurred_at = ? WHERE seq = 2", (spelled,))
    assert chain(platform.db)[1].occurred_at == entries[1].occurred_at
    report = verify(platform)
    assert report.problems == ["seq 2: content does not match its hash"]


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_two_version_2_entries_swapped_are_detected(platform: Platform) -> None:
    """Entries 4 and 5 trade places (seq renumbered so the sequence stays contiguous)."""
    original = append(platform.db, 8)
    swapped = [replace(original[4], seq=4), replace(original[3], seq=5)]
    with tampering(platform.db) as conn:
        conn.execute(delete(audit_entry).where(audit_entry.c.seq.in_([4, 5])))
        for e in swapped:
            conn.execute(insert(audit_entry).values(**row_of(e)))
    report = verify(platform, batch=3)
    assert not report.ok
    assert report.first_bad_seq == 4
    assert report.problems == [
        "seq 4: prev_hash does not link to its predecessor",
        "seq 4: content does not match its hash",
        "seq 5: prev_hash does not link to its predecessor",
        "seq 5: content does not match its hash",
        "seq 6: prev_hash does not link to its predecessor",
    ]


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_a_deleted_version_2_entry_is_detected(platform: Platform) -> None:
    append(platform.db, 10)
    with tampering(platform.db) as conn:
        conn.execute(delete(audit_entry).where(audit_entry.c.seq == 6))
    for batch in (1000, 5):  # the gap inside a chunk, and right at a chunk's start
        report = verify(platform, batch=batch)
        assert not report.ok
        assert report.first_bad_seq == 6
        assert report.problems == [
            "expected seq 6, found 7 (entry missing or moved)",
            "seq 7: prev_hash does not link to its predecessor",
        ]


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_a_rehashed_version_2_forgery_is_caught_by_its_successor_and_the_checkpoint(
    platform: Platform,
) -> None:
    """A forged entry with a correct version 2 hash: the next entry no longer links to it,
    and relinking the whole suffix is caught by the signed checkpoint."""
    db = platform.db
    append(db, 6)
    services.create_checkpoint(db, platform.keys, actor=SYSTEM)  # signs 6, logs 7
    original = chain(db)
    forged = replace(original[3], details='{"i":4,"note":"forged"}')
    forged = replace(forged, hash=forged.computed_hash())
    with tampering(db) as conn:
        conn.execute(delete(audit_entry).where(audit_entry.c.seq == 4))
        conn.execute(insert(audit_entry).values(**row_of(forged)))
    report = verify(platform)
    assert report.problems == ["seq 5: prev_hash does not link to its predecessor"]

    rewritten, prev = [], forged.hash
    for e in original[4:]:
        e = replace(e, prev_hash=prev)
        e = replace(e, hash=e.computed_hash())
        rewritten.append(e)
        prev = e.hash
    with tampering(db) as conn:
        conn.execute(delete(audit_entry).where(audit_entry.c.seq >= 5))
        for e in rewritten:
            conn.execute(insert(audit_entry).values(**row_of(e)))
    report = verify(platform)
    assert not report.ok
    assert report.problems == ["checkpoint at seq 6: signed head hash differs from the chain"]


@pytest.mark.req("HB-27")
def test_a_value_sqlite_json_cannot_hold_is_reported_not_raised(platform: Platform) -> None:
    """SQLite builds version 2 payloads with ``json_array``, which refuses blobs: a blob
    forced into a column is reported at its entry, and the rest of the chain is checked."""
    if platform.db.dialect != "sqlite":
        pytest.skip("a PostgreSQL text column cannot hold a blob")
    append(platform.db, 7)
    with tampering(platform.db) as conn:
        conn.exec_driver_sql(
            "UPDATE audit_entry SET details = ? WHERE seq = 3", (orjson.dumps({"i": 3}),)
        )
        conn.exec_driver_sql("UPDATE audit_entry SET object_id = 'x' WHERE seq = 6")
    report = verify(platform, batch=2)
    assert not report.ok
    assert report.entries == 7
    assert report.problems == [
        "seq 3: content does not match its hash",
        "seq 6: content does not match its hash",
    ]


@pytest.mark.req("NX-33", "HB-27")
def test_a_purge_archives_version_2_entries_that_still_verify(
    platform: Platform, moved_clock: None
) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    set_clock(lambda: old)
    append(platform.db, 4)
    set_clock(None)
    append(platform.db, 2, start=5)
    result = services.purge(
        platform.db,
        before=datetime.now(UTC) - timedelta(days=365),
        min_retention_days=180,
        archive_dir=platform.settings.archive_dir,
        actor=SYSTEM,
    )
    text_lines = result.archive_file.read_text("utf-8").split("\n")
    assert text_lines[-1] == ""  # a purpose holds U+2028: lines end in "\n" only
    lines = [json.loads(x) for x in text_lines[:-1]]
    assert [x["hash_version"] for x in lines] == [2, 2, 2, 2]
    report = verify(platform, archive_dir=platform.settings.archive_dir)
    assert report.ok, report.problems
    assert (report.archives, report.entries) == (1, 3)
