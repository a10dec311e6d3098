"""The hash-chained audit log on a real database (SQLite and PostgreSQL).

Covers appending and verifying, the SQ-25 lifecycle actions, masking of details,
append-only enforcement by the database, detection of every kind of tampering
(done with the database's own protections bypassed), signed checkpoints, and
retention-limited purging with verifiable archives.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import DBAPIError

from govshare.audit import services
from govshare.audit.keys import load_or_create_keys
from govshare.audit.model import GENESIS_HASH, SQ25_LIFECYCLE, AuditAction, AuditEntry
from govshare.audit.tables import (
    audit_archive,
    audit_checkpoint,
    audit_entry,
    drop_trigger_ddl,
)
from govshare.audit.verify import VerifyReport, verify_chain
from govshare.kernel.actor import Actor, ActorKind
from govshare.kernel.clock import set_clock
from govshare.kernel.errors import ValidationFailed
from govshare.kernel.identifiers import validate_id_card
from govshare.platform import Platform
from govshare.storage.engine import Database

SYSTEM = Actor.system("audit-test")
CLERK = Actor(kind=ActorKind.USER, id="u-clerk-01", name="张三", department_id="D" * 26)

ID_CARD = "11010519491231002X"  # a valid 18-digit resident identity number
MOBILE = "13812345678"
PASSWORD = "Tr0ub4dor&3-secret"  # must never be stored


# Helpers -----------------------------------------------------------------------
def append(db: Database, n: int, *, actor: Actor = SYSTEM, start: int = 1) -> list[AuditEntry]:
    out = []
    for i in range(start, start + n):
        with db.transaction() as tx:
            out.append(
                services.record(
                    tx, actor, AuditAction.QUERY, "dataset", f"ds-{i}", details={"i": i}
                )
            )
    return out


def chain(db: Database) -> list[AuditEntry]:
    with db.read() as conn:
        rows = conn.execute(select(audit_entry).order_by(audit_entry.c.seq)).all()
    return [AuditEntry(**r._mapping) for r in rows]


def verify(platform: Platform) -> VerifyReport:
    return verify_chain(platform.db, platform.keys, archive_dir=platform.settings.archive_dir)


@contextmanager
def tampering(db: Database) -> Iterator[Connection]:
    """A transaction in which the append-only triggers do not fire (an attacker with DBA rights)."""
    with db.engine.connect() as conn, conn.begin():
        if db.dialect == "sqlite":
            for ddl in drop_trigger_ddl("sqlite"):
                conn.exec_driver_sql(ddl)
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield conn


def rewrite_from(conn: Connection, seq: int, new_rows: list[AuditEntry]) -> None:
    """Replace every entry with seq >= ``seq`` by ``new_rows`` (triggers must be bypassed)."""
    conn.execute(delete(audit_entry).where(audit_entry.c.seq >= seq))
    for e in new_rows:
        conn.execute(insert(audit_entry).values(**e.as_dict() | {"occurred_at": e.occurred_at}))


def rehash(e: AuditEntry, **changes: Any) -> AuditEntry:
    """``e`` with ``changes`` applied and a hash that is correct for the new content."""
    e = replace(e, **changes)
    return replace(e, hash=e.computed_hash())


@pytest.fixture
def moved_clock() -> Iterator[None]:
    try:
        yield
    finally:
        set_clock(None)


# Appending and verifying -------------------------------------------------------
@pytest.mark.req("SQ-25", "HB-27", "YX-25", "NX-33")
def test_appended_entries_form_a_chain_that_verifies(platform: Platform) -> None:
    empty = verify(platform)
    assert (empty.ok, empty.entries, empty.head_hash) == (True, 0, GENESIS_HASH)

    entries = append(platform.db, 25)

    stored = chain(platform.db)
    assert [e.seq for e in stored] == list(range(1, 26))
    assert stored == entries
    assert stored[0].prev_hash == GENESIS_HASH
    for prev, cur in itertools.pairwise(stored):
        assert cur.prev_hash == prev.hash
    assert all(e.computed_hash() == e.hash for e in stored)

    report = verify(platform)
    assert report.ok, report.problems
    assert report.entries == 25
    assert (report.first_seq, report.last_seq) == (1, 25)
    assert report.head_hash == stored[-1].hash
    assert report.first_bad_seq is None
    assert report.problems == []
    assert report.summary() == (
        f"audit chain OK: 25 entries (seq 1...25), 0 signed checkpoints, 0 archives, "
        f"head {stored[-1].hash[:16]}"
    )


@pytest.mark.req("SQ-25")
def test_every_sq25_lifecycle_action_is_recorded_and_round_trips(platform: Platform) -> None:
    assert {a.value for a in SQ25_LIFECYCLE} == {
        "classify", "collect", "clean", "transform", "load", "transmit",
        "store", "copy", "backup", "restore", "query", "destroy",
    }  # fmt: skip
    written = []
    with platform.db.transaction() as tx:
        for i, action in enumerate(SQ25_LIFECYCLE):
            written.append(
                services.record(
                    tx,
                    CLERK,
                    action,
                    "dataset",
                    f"ds-{action.value}",
                    details={"step": i, "rows": 10 * i},
                    purpose=f"用途：{action.value}",
                    case_no=f"CASE-2024-{i:03d}",
                )
            )

    stored = chain(platform.db)
    assert stored == written
    assert [e.action for e in stored] == [a.value for a in SQ25_LIFECYCLE]
    for i, (e, action) in enumerate(zip(stored, SQ25_LIFECYCLE, strict=True)):
        assert e.seq == i + 1
        assert AuditAction(e.action) is action
        assert (e.actor_kind, e.actor_id, e.actor_name) == ("user", "u-clerk-01", "张三")
        assert e.actor_department_id == "D" * 26
        assert (e.object_type, e.object_id) == ("dataset", f"ds-{action.value}")
        assert e.purpose == f"用途：{action.value}"
        assert e.case_no == f"CASE-2024-{i:03d}"
        assert json.loads(e.details) == {"step": i, "rows": 10 * i}
        assert e.occurred_at.tzinfo is not None
    assert verify(platform).ok


@pytest.mark.req("SQ-24", "SQ-25")
def test_details_are_masked_before_they_are_stored(platform: Platform) -> None:
    assert validate_id_card(ID_CARD) == ID_CARD
    details = {
        "id_card": ID_CARD,
        "mobile": MOBILE,
        "password": PASSWORD,
        "nested": {"phone": MOBILE},
    }
    with platform.db.transaction() as tx:
        entry = services.record(tx, CLERK, AuditAction.QUERY, "person", "p-1", details=details)

    with platform.db.read() as conn:
        row = conn.execute(select(audit_entry).where(audit_entry.c.seq == entry.seq)).one()
    stored_text = " ".join(str(v) for v in row._mapping.values())
    for raw in (ID_CARD, MOBILE, PASSWORD):
        assert raw not in stored_text
    for hidden in (ID_CARD[6:14], MOBILE[3:7]):  # birth date, middle digits
        assert hidden not in row.details
    stored = json.loads(row.details)
    assert stored == {
        "id_card": "110105********002X",
        "mobile": "138****5678",
        "password": "******",
        "nested": {"phone": "138****5678"},
    }
    assert json.loads(entry.details) == stored
    assert details["id_card"] == ID_CARD  # the caller's mapping is left alone
    assert verify(platform).ok


# Append-only, enforced by the database -----------------------------------------
def _refused(db: Database, sql: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as info, db.engine.connect() as conn, conn.begin():
        conn.exec_driver_sql(sql)
    assert "append-only" in str(info.value)
    return info.value


@pytest.mark.req("HB-27", "SQ-24")
def test_database_refuses_update_and_delete_of_audit_rows(platform: Platform) -> None:
    db = platform.db
    append(db, 5)
    services.create_checkpoint(db, platform.keys, actor=SYSTEM)
    before = chain(db)
    with db.read() as conn:
        checkpoints_before = conn.execute(select(audit_checkpoint)).all()
    assert len(checkpoints_before) == 1

    statements = [
        "UPDATE audit_entry SET details = '{\"forged\":true}' WHERE seq = 3",
        "UPDATE audit_entry SET seq = seq + 100 WHERE seq = 5",
        "DELETE FROM audit_entry WHERE seq = 3",
        "DELETE FROM audit_entry",
        "UPDATE audit_checkpoint SET head_hash = 'x'",
        "DELETE FROM audit_checkpoint",
    ]
    if db.dialect == "postgresql":
        statements += ["TRUNCATE audit_entry", "TRUNCATE audit_checkpoint"]
    for sql in statements:
        err = _refused(db, sql)
        driver = "sqlite3" if db.dialect == "sqlite" else "psycopg"
        assert type(err.orig).__module__.startswith(driver), sql

    assert chain(db) == before
    with db.read() as conn:
        assert conn.execute(select(audit_checkpoint)).all() == checkpoints_before
    assert verify(platform).ok


@pytest.mark.req("HB-27", "SQ-24", "NX-33")
def test_database_refuses_an_entry_that_does_not_extend_the_chain(platform: Platform) -> None:
    """Without the append lock (a writer that bypassed it), an entry must still link to
    the one right before it: no second successor of an entry (a fork), no gap, no other
    genesis. The trigger checks the link only; the hash itself is verification's job."""
    db = platform.db

    def insert_entry(seq: int, prev_hash: str) -> None:
        row = rehash(entries[0], seq=seq, prev_hash=prev_hash, object_id=f"forged-{seq}")
        with db.engine.connect() as conn, conn.begin():
            conn.execute(insert(audit_entry).values(**row.as_dict() | {"occurred_at": now}))

    def refused(seq: int, prev_hash: str) -> None:
        with pytest.raises(DBAPIError) as info:
            insert_entry(seq, prev_hash)
        assert "must link to the entry before it" in str(info.value)

    now = datetime.now(UTC)
    entries = append(db, 3)
    refused(4, entries[1].hash)  # a second successor of entry 2
    refused(5, entries[2].hash)  # past a gap
    refused(4, GENESIS_HASH)
    refused(4, "f" * 64)
    refused(1, "f" * 64)  # the first entry links to the genesis (checked before the key)
    assert chain(db) == entries
    insert_entry(4, entries[2].hash)  # the one link the check admits
    assert [e.seq for e in chain(db)] == [1, 2, 3, 4]


@pytest.mark.req("HB-27", "SQ-24")
def test_after_a_purge_remaining_rows_and_the_archive_record_are_protected(
    platform: Platform, moved_clock: None
) -> None:
    """The purge's delete permit is gone afterwards, and the archive anchor is append-only."""
    old = datetime.now(UTC) - timedelta(days=400)
    set_clock(lambda: old)
    append(platform.db, 2)
    set_clock(None)
    append(platform.db, 2, start=3)
    services.purge(
        platform.db,
        before=datetime.now(UTC) - timedelta(days=365),
        min_retention_days=180,
        archive_dir=platform.settings.archive_dir,
        actor=SYSTEM,
    )
    statements = [
        "DELETE FROM audit_entry WHERE seq = 3",
        "DELETE FROM audit_archive",
        "UPDATE audit_archive SET file_sha256 = 'x'",
    ]
    if platform.db.dialect == "postgresql":
        statements.append("TRUNCATE audit_archive")
    for sql in statements:
        _refused(platform.db, sql)
    assert [e.seq for e in chain(platform.db)] == [3, 4, 5]


# Tampering (with the triggers bypassed) is detected ----------------------------
@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_updated_details_are_detected_at_that_entry(platform: Platform) -> None:
    original = append(platform.db, 12)
    with tampering(platform.db) as conn:
        conn.execute(
            update(audit_entry)
            .where(audit_entry.c.seq == 7)
            .values(details='{"i":7,"note":"forged"}')
        )
    stored = chain(platform.db)
    assert json.loads(stored[6].details) == {"i": 7, "note": "forged"}
    assert stored[6].hash == original[6].hash

    report = verify(platform)
    assert not report.ok
    assert report.first_bad_seq == 7
    assert report.problems == ["seq 7: content does not match its hash"]
    assert report.summary() == "audit chain BROKEN at seq 7: seq 7: content does not match its hash"


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_update_of_any_hashed_column_is_detected_at_its_entry(platform: Platform) -> None:
    original = append(platform.db, 12)
    changes: dict[int, dict[str, object]] = {
        3: {"actor_name": "mallory", "actor_id": "mallory"},
        5: {"action": "destroy"},
        8: {"occurred_at": datetime(2020, 1, 1, tzinfo=UTC)},
        10: {"object_id": "ds-other", "purpose": "cover-up", "case_no": "X-1"},
    }
    with tampering(platform.db) as conn:
        for seq, values in changes.items():
            conn.execute(update(audit_entry).where(audit_entry.c.seq == seq).values(values))
    stored = chain(platform.db)
    for seq, values in changes.items():
        assert all(stored[seq - 1].as_dict()[c] != original[seq - 1].as_dict()[c] for c in values)

    report = verify(platform)
    assert not report.ok
    assert report.first_bad_seq == 3
    assert report.problems == [f"seq {s}: content does not match its hash" for s in changes]


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_deleted_middle_entry_is_detected_at_its_seq(platform: Platform) -> None:
    append(platform.db, 12)
    with tampering(platform.db) as conn:
        conn.execute(delete(audit_entry).where(audit_entry.c.seq == 6))

    report = verify(platform)
    assert not report.ok
    assert report.first_bad_seq == 6
    assert "expected seq 6, found 7" in report.problems[0]
    assert "seq 7: prev_hash does not link to its predecessor" in report.problems


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_forged_entry_with_made_up_hashes_is_detected_where_inserted(platform: Platform) -> None:
    """Later entries are moved up one and a forged entry with invented hashes put at seq 5."""
    original = append(platform.db, 10)
    forged = replace(
        original[4], object_id="ds-forged", prev_hash="f" * 64, hash="e" * 64, details="{}"
    )
    shifted = [replace(e, seq=e.seq + 1) for e in original[4:]]
    with tampering(platform.db) as conn:
        rewrite_from(conn, 5, [forged, *shifted])
    assert len(chain(platform.db)) == 11

    report = verify(platform)
    assert not report.ok
    assert report.first_bad_seq == 5
    assert report.problems[:2] == [
        "seq 5: prev_hash does not link to its predecessor",
        "seq 5: content does not match its hash",
    ]


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_forged_entry_linked_into_the_chain_is_detected_right_after_it(platform: Platform) -> None:
    """A well-formed forged entry at seq 5 (correct prev_hash and hash), the next entry relinked
    to it: the forgery itself verifies, but the entry it displaced no longer matches its hash."""
    original = append(platform.db, 10)
    forged = rehash(original[4], object_id="ds-forged", details='{"i":999}')
    assert forged.prev_hash == original[3].hash
    displaced = replace(original[4], seq=6, prev_hash=forged.hash)  # keeps its stored hash
    later = [replace(e, seq=e.seq + 1) for e in original[5:]]
    with tampering(platform.db) as conn:
        rewrite_from(conn, 5, [forged, displaced, *later])

    report = verify(platform)
    assert not report.ok
    assert report.first_bad_seq == 6
    assert report.problems[0] == "seq 6: content does not match its hash"
    assert not any(p.startswith("seq 5:") for p in report.problems)


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_forged_entry_with_the_whole_suffix_rehashed_is_caught_by_the_checkpoint(
    platform: Platform,
) -> None:
    """An attacker who recomputes every later hash keeps the chain consistent; the signed
    checkpoint (seq 8, before the forgery was made) no longer matches the chain."""
    db = platform.db
    append(db, 8)
    cp = services.create_checkpoint(db, platform.keys, actor=SYSTEM)  # signs seq 8, logs seq 9
    append(db, 3, start=10)
    original = chain(db)
    assert cp.seq == 8 and len(original) == 12

    rewritten: list[AuditEntry] = []
    prev = original[3].hash
    forged = rehash(original[4], object_id="ds-forged", prev_hash=prev)
    for e in [forged, *original[4:]]:
        e = rehash(e, seq=len(original[:4]) + len(rewritten) + 1, prev_hash=prev)
        rewritten.append(e)
        prev = e.hash
    with tampering(db) as conn:
        rewrite_from(conn, 5, rewritten)

    report = verify(platform)
    assert not report.ok
    assert report.entries == 13
    assert report.first_bad_seq == 8
    assert report.problems == ["checkpoint at seq 8: signed head hash differs from the chain"]


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
@pytest.mark.parametrize(("low", "high"), [(4, 9), (6, 7)])
def test_swapped_entries_are_detected_at_the_lower_seq(
    platform: Platform, low: int, high: int
) -> None:
    original = append(platform.db, 12)
    a, b = original[low - 1], original[high - 1]
    with tampering(platform.db) as conn:
        conn.execute(delete(audit_entry).where(audit_entry.c.seq.in_([low, high])))
        for e in (replace(b, seq=low), replace(a, seq=high)):
            conn.execute(insert(audit_entry).values(**e.as_dict() | {"occurred_at": e.occurred_at}))
    stored = chain(platform.db)
    assert stored[low - 1].object_id == f"ds-{high}"
    assert stored[high - 1].object_id == f"ds-{low}"

    report = verify(platform)
    assert not report.ok
    assert report.first_bad_seq == low
    assert report.problems[0] == f"seq {low}: prev_hash does not link to its predecessor"


# Checkpoints ---------------------------------------------------------------------
@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_signed_checkpoint_verifies(platform: Platform) -> None:
    db = platform.db
    append(db, 4)
    cp = services.create_checkpoint(db, platform.keys, actor=SYSTEM)
    assert (cp.seq, cp.key_id) == (4, platform.keys.key_id)
    assert cp.head_hash == chain(db)[3].hash
    logged = chain(db)[-1]
    assert (logged.seq, logged.action, logged.object_id) == (5, "checkpoint", cp.id)
    append(db, 2, start=6)
    services.create_checkpoint(db, platform.keys, actor=SYSTEM)

    report = verify(platform)
    assert report.ok, report.problems
    assert report.checkpoints == 2
    assert report.entries == 8


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_tail_deleted_after_a_checkpoint_is_detected(platform: Platform) -> None:
    db = platform.db
    append(db, 10)
    cp = services.create_checkpoint(db, platform.keys, actor=SYSTEM)  # seq 10, logged as 11
    append(db, 3, start=12)
    assert cp.seq == 10
    with tampering(db) as conn:
        conn.execute(delete(audit_entry).where(audit_entry.c.seq >= 9))
    assert [e.seq for e in chain(db)] == list(range(1, 9))

    report = verify(platform)
    assert not report.ok
    assert report.first_bad_seq == 9
    assert report.problems == ["checkpoint at seq 10 is beyond the chain's end 8 (entries removed)"]


def _flip(signature: str) -> str:
    return signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_checkpoint_with_altered_signature_is_detected(platform: Platform) -> None:
    db = platform.db
    append(db, 6)
    cp = services.create_checkpoint(db, platform.keys, actor=SYSTEM)  # seq 6, logged as 7
    append(db, 2, start=8)
    with tampering(db) as conn:
        conn.execute(update(audit_checkpoint).values(signature=_flip(cp.signature)))

    report = verify(platform)
    assert not report.ok
    assert report.first_bad_seq == 6
    assert report.problems == ["checkpoint at seq 6: signature does not verify"]
    assert report.entries == 9  # the entries themselves are intact


@pytest.mark.req("HB-27", "SQ-25", "YX-25")
def test_any_altered_checkpoint_field_breaks_its_signature(platform: Platform) -> None:
    """Five checkpoints (seq 2, 4, 6, 8, 10), each with a different field altered."""
    db = platform.db
    append(db, 2)
    cps = []
    for start in (4, 6, 8, 10, 12):
        cps.append(services.create_checkpoint(db, platform.keys, actor=SYSTEM))
        append(db, 1, start=start)
    assert [c.seq for c in cps] == [2, 4, 6, 8, 10]
    changes: list[dict[str, object]] = [
        {"signature": _flip(cps[0].signature)},
        {"head_hash": chain(db)[2].hash},
        {"seq": 5},
        {"signed_at": cps[3].signed_at + timedelta(seconds=1)},
        {"key_id": "0" * 16},
    ]
    with tampering(db) as conn:
        for cp, values in zip(cps, changes, strict=True):
            row = audit_checkpoint.c.id == cp.id
            conn.execute(update(audit_checkpoint).where(row).values(values))

    report = verify(platform)
    assert not report.ok
    assert report.checkpoints == 5
    assert report.first_bad_seq == 2
    assert report.problems == [
        f"checkpoint at seq {s}: signature does not verify" for s in (2, 4, 5, 8, 10)
    ]


@pytest.mark.req("HB-27", "YX-25")
def test_checkpoint_signed_by_another_key_is_detected(platform: Platform, tmp_path: Path) -> None:
    append(platform.db, 3)
    other = load_or_create_keys(tmp_path / "other-keys")
    services.create_checkpoint(platform.db, other, actor=SYSTEM)
    report = verify(platform)
    assert not report.ok
    assert report.first_bad_seq == 3
    assert verify_chain(platform.db, other).ok


# Retention and purging (NX-33) --------------------------------------------------
def _old_then_recent(platform: Platform, *, days_ago: int = 400) -> datetime:
    """Entries 1..5 and a checkpoint (6) ``days_ago``; then entries 7..9 now."""
    base = datetime.now(UTC) - timedelta(days=days_ago)
    tick = iter(range(10_000))
    set_clock(lambda: base + timedelta(seconds=next(tick)))
    try:
        append(platform.db, 5)
        services.create_checkpoint(platform.db, platform.keys, actor=SYSTEM)
    finally:
        set_clock(None)
    append(platform.db, 3, start=7)
    return base


@pytest.mark.req("NX-33")
def test_purge_younger_than_retention_is_refused(platform: Platform, moved_clock: None) -> None:
    _old_then_recent(platform)
    before_rows = chain(platform.db)
    for younger in (timedelta(0), timedelta(days=179), timedelta(days=180) - timedelta(hours=1)):
        with pytest.raises(ValidationFailed) as info:
            services.purge(
                platform.db,
                before=datetime.now(UTC) - younger,
                min_retention_days=180,
                archive_dir=platform.settings.archive_dir,
                actor=SYSTEM,
            )
        assert info.value.code == "audit_retention"
        assert info.value.field == "before"
        assert "180" in info.value.message_zh and "180" in info.value.message_en
    assert chain(platform.db) == before_rows
    assert not platform.settings.archive_dir.exists() or not any(
        platform.settings.archive_dir.iterdir()
    )
    assert verify(platform).ok


@pytest.mark.req("NX-33")
def test_purge_at_exactly_the_retention_minimum_is_allowed(
    platform: Platform, moved_clock: None
) -> None:
    _old_then_recent(platform)
    result = services.purge(
        platform.db,
        before=datetime.now(UTC) - timedelta(days=180),
        min_retention_days=180,
        archive_dir=platform.settings.archive_dir,
        actor=SYSTEM,
    )
    assert (result.first_seq, result.upto_seq) == (1, 6)
    assert [e.seq for e in chain(platform.db)] == [7, 8, 9, 10]


@pytest.mark.req("NX-33", "SQ-25", "HB-27")
def test_purge_archives_old_entries_and_the_chain_still_verifies(
    platform: Platform, moved_clock: None
) -> None:
    db = platform.db
    _old_then_recent(platform)
    original = chain(db)
    assert len(original) == 9

    result = services.purge(
        db,
        before=datetime.now(UTC) - timedelta(days=365),
        min_retention_days=180,
        archive_dir=platform.settings.archive_dir,
        actor=SYSTEM,
    )
    assert (result.first_seq, result.upto_seq, result.count) == (1, 6, 6)
    assert result.archive_file.parent == platform.settings.archive_dir
    lines = result.archive_file.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["hash"] for line in lines] == [e.hash for e in original[:6]]

    remaining = chain(db)
    assert [e.seq for e in remaining] == [7, 8, 9, 10]
    assert remaining[:3] == original[6:]
    purge_entry = remaining[-1]
    assert purge_entry.action == "purge"
    assert json.loads(purge_entry.details) == {
        "count": 6,
        "archive": result.archive_file.name,
        "sha256": hashlib.sha256(result.archive_file.read_bytes()).hexdigest(),
    }
    with db.read() as conn:
        assert conn.execute(select(audit_checkpoint)).all() == []  # its entries are archived
        anchor = conn.execute(select(audit_archive)).one()
    assert (anchor.first_seq, anchor.upto_seq, anchor.entry_count) == (1, 6, 6)
    assert anchor.last_hash == original[5].hash

    report = verify(platform)
    assert report.ok, report.problems
    assert (report.archives, report.entries, report.first_seq, report.last_seq) == (1, 4, 7, 10)

    # the chain continues from the purge, and a later checkpoint verifies too
    append(db, 1, start=11)
    services.create_checkpoint(db, platform.keys, actor=SYSTEM)
    report = verify(platform)
    assert report.ok, report.problems
    assert (report.entries, report.checkpoints, report.last_seq) == (6, 1, 12)


@pytest.mark.req("NX-33", "SQ-25")
def test_purge_of_the_whole_chain_continues_from_the_archive(
    platform: Platform, moved_clock: None
) -> None:
    db = platform.db
    base = datetime.now(UTC) - timedelta(days=400)
    set_clock(lambda: base)
    append(db, 3)
    set_clock(None)
    services.purge(
        db,
        before=datetime.now(UTC) - timedelta(days=200),
        min_retention_days=180,
        archive_dir=platform.settings.archive_dir,
        actor=SYSTEM,
    )
    assert [e.seq for e in chain(db)] == [4]
    report = verify(platform)
    assert report.ok, report.problems
    assert (report.archives, report.entries) == (1, 1)


@pytest.mark.req("NX-33", "SQ-25")
def test_successive_purges_chain_their_archives(platform: Platform, moved_clock: None) -> None:
    db = platform.db
    now = datetime.now(UTC)
    for days, start in ((400, 1), (300, 4)):
        set_clock(lambda d=days: now - timedelta(days=d))
        append(db, 3, start=start)
    set_clock(None)
    append(db, 2, start=7)
    kw: dict[str, Any] = {
        "min_retention_days": 180,
        "archive_dir": platform.settings.archive_dir,
        "actor": SYSTEM,
    }
    first = services.purge(db, before=now - timedelta(days=350), **kw)
    second = services.purge(db, before=now - timedelta(days=250), **kw)
    assert (first.first_seq, first.upto_seq, second.first_seq, second.upto_seq) == (1, 3, 4, 6)
    assert [e.seq for e in chain(db)] == [7, 8, 9, 10]  # 9 and 10 log the purges

    report = verify(platform)
    assert report.ok, report.problems
    assert (report.archives, report.entries, report.first_seq) == (2, 4, 7)

    # the second archive must continue the first: swapping their files is detected
    a, b = first.archive_file.read_bytes(), second.archive_file.read_bytes()
    first.archive_file.write_bytes(b)
    second.archive_file.write_bytes(a)
    assert not verify(platform).ok


def _purged(platform: Platform) -> Path:
    _old_then_recent(platform)
    result = services.purge(
        platform.db,
        before=datetime.now(UTC) - timedelta(days=365),
        min_retention_days=180,
        archive_dir=platform.settings.archive_dir,
        actor=SYSTEM,
    )
    assert verify(platform).ok
    return result.archive_file


@pytest.mark.req("NX-33", "HB-27")
def test_tampered_or_missing_archive_file_is_detected(
    platform: Platform, moved_clock: None
) -> None:
    path = _purged(platform)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    entry = json.loads(lines[2])
    entry["details"] = '{"i":3,"note":"forged"}'
    lines[2] = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
    path.write_text("".join(lines), encoding="utf-8")

    report = verify(platform)
    assert not report.ok
    assert report.problems == [f"archive file {path.name} does not match its recorded SHA-256"]
    # the live chain itself is intact: without the archives it still verifies
    assert verify_chain(platform.db, platform.keys).ok

    path.unlink()
    report = verify(platform)
    assert not report.ok
    assert report.problems == [f"archive file {path.name} is missing"]


@pytest.mark.req("NX-33", "HB-27")
def test_rewritten_archive_with_updated_digest_is_detected(
    platform: Platform, moved_clock: None
) -> None:
    """The archive is rewritten consistently (hashes recomputed) and its recorded SHA-256
    updated in the database: the archive no longer ends in the hash the live chain links to."""
    path = _purged(platform)
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        raw["occurred_at"] = datetime.fromisoformat(raw["occurred_at"].replace("Z", "+00:00"))
        entries.append(AuditEntry(**raw))
    forged, prev = [], GENESIS_HASH
    for e in entries:
        details = '{"i":3,"note":"forged"}' if e.seq == 3 else e.details
        e = rehash(e, details=details, prev_hash=prev)
        forged.append(e)
        prev = e.hash
    data = "".join(
        json.dumps(e.as_dict(), ensure_ascii=False, sort_keys=True) + "\n" for e in forged
    ).encode("utf-8")
    path.write_bytes(data)
    with tampering(platform.db) as conn:
        conn.execute(update(audit_archive).values(file_sha256=hashlib.sha256(data).hexdigest()))

    report = verify(platform)
    assert not report.ok
    assert report.first_bad_seq == 6
    assert any("does not end in the anchored hash" in p for p in report.problems)
