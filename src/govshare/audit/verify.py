"""Verification of the whole chain, every checkpoint and (optionally) the archives.

The entries are read through the driver's own cursor (no ORM rows), a chunk at a time. A
version 2 entry's hash covers exactly its stored column values (``audit.model``), so a
chunk is checked with one ``sha256`` per entry over the encoded payload and three list
comparisons (hashes, links, sequence numbers):

- PostgreSQL streams the columns (``to_char`` gives ``occurred_at`` as the hashed text)
  and the payload is ``orjson`` of the row;
- SQLite builds the payload itself with ``json_array`` over the stored columns, which is
  byte for byte the same compact JSON, and hands over one value instead of fourteen.
  Nothing rests on that sameness: a chunk whose SQLite-built payloads do not match is
  read again column by column and judged the slow way.

Only a chunk that fails the fast check, or holds version 1 entries, is walked entry by
entry, which names the first bad entry and what is wrong with it.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Row, select

from govshare.audit.keys import PlatformKeys
from govshare.audit.model import GENESIS_HASH, AuditEntry
from govshare.audit.services import checkpoint_message
from govshare.audit.tables import audit_archive, audit_checkpoint
from govshare.storage.engine import Database

CHUNK = 1000  # entries per fetch: large enough to amortise the round trip, small enough
# to stay in the CPU caches

# A raw row: the hash, then exactly the version 2 payload (audit.model), in order.
H, VERSION, SEQ, TIME, PREV = 0, 1, 2, 3, 14
_PAYLOAD = (
    "hash_version, seq, {time}, actor_kind, actor_id, actor_name, actor_department_id, "
    "action, object_type, object_id, purpose, case_no, details, prev_hash"
)
# occurred_at as the UTC text version 2 hashes: SQLite stores exactly that text.
_TIME = {
    "sqlite": "occurred_at",
    "postgresql": "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
}
# A SQLite row for the fast check: (hash, hash_version, seq, prev_hash, payload bytes).
_SQLITE_PREV, _SQLITE_PAYLOAD = 3, 4
_SQLITE_FAST = (
    "SELECT hash, hash_version, seq, prev_hash, "  # noqa: S608 - constant text  # nosec B608 - identifiers quoted or constant, values bound
    f"CAST(json_array({_PAYLOAD.format(time='occurred_at')}) AS BLOB) "
    "FROM audit_entry WHERE seq > ? ORDER BY seq"
)


def _raw_sql(dialect: str, where: str) -> str:
    time = _TIME.get(dialect, "occurred_at")
    return f"SELECT hash, {_PAYLOAD.format(time=time)} FROM audit_entry WHERE {where} ORDER BY seq"  # noqa: S608  # nosec B608 - identifiers quoted or constant, values bound


@dataclass
class VerifyReport:
    ok: bool = True
    entries: int = 0
    checkpoints: int = 0
    archives: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: str | None = None
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, seq: int | None, problem: str) -> None:
        if seq is not None and (self.first_bad_seq is None or seq < self.first_bad_seq):
            self.first_bad_seq = seq
        self.ok = False
        self.problems.append(problem)

    def summary(self) -> str:
        if self.ok:
            return (
                f"audit chain OK: {self.entries} entries (seq {self.first_seq or 0}..."
                f"{self.last_seq or 0}), {self.checkpoints} signed checkpoints, "
                f"{self.archives} archives, head {(self.head_hash or '')[:16]}"
            )
        return f"audit chain BROKEN at seq {self.first_bad_seq}: {self.problems[0]}"


def entry_chunks(conn: Connection, *, after: int, size: int = CHUNK) -> Iterator[list[Any]]:
    """The raw rows (the layout above) with ``seq > after`` in order, in lists of ``size``,
    read inside ``conn``'s transaction with flat memory however long the chain is:
    SQLite steps through the table; PostgreSQL streams the result, computing the next
    rows while this process hashes the last ones."""
    dbapi: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with dbapi.cursor() as cur:
            # Walk the primary key, which gives the order: the planner may otherwise pick
            # a full scan and a sort (it does when the statistics predate a burst of
            # appends), which spills to disk and streams nothing until it has finished.
            cur.execute("SET LOCAL enable_sort = off")
            rows = cur.stream(_raw_sql("postgresql", "seq > %s"), (after,), size=size)
            while chunk := list(itertools.islice(rows, size)):
                yield chunk
        return
    yield from _sqlite_chunks(dbapi, _raw_sql("sqlite", "seq > ?"), after, size)


def _sqlite_chunks(dbapi: Any, sql: str, after: int, size: int) -> Iterator[list[Any]]:
    cur = dbapi.cursor()
    try:
        cur.execute(sql, (after,))
        while chunk := cur.fetchmany(size):
            yield chunk
    finally:
        cur.close()


def _sqlite_raw_range(conn: Connection, first: int, last: int) -> list[Any]:
    """The raw rows from ``first`` to ``last`` (a chunk read again column by column)."""
    dbapi: Any = conn.connection.driver_connection
    cur = dbapi.cursor()
    try:
        cur.execute(_raw_sql("sqlite", "seq >= ? AND seq <= ?"), (first, last))
        return list(cur.fetchall())
    finally:
        cur.close()


def _row_hash_ok(row: Any) -> bool:
    """Whether a raw ``row``'s hash is the hash of its content in the encoding it names."""
    version = row[VERSION]
    if version == 2:
        try:
            return bool(hashlib.sha256(orjson.dumps(row[1:])).hexdigest() == row[H])
        except TypeError:  # a value no entry can hold (a blob, say)
            return False
    if version != 1:
        return False
    try:
        moment = datetime.fromisoformat(row[TIME]).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return False
    entry = AuditEntry(
        seq=row[SEQ],
        occurred_at=moment,
        actor_kind=row[4],
        actor_id=row[5],
        actor_name=row[6],
        actor_department_id=row[7],
        action=row[8],
        object_type=row[9],
        object_id=row[10],
        purpose=row[11],
        case_no=row[12],
        details=row[13],
        prev_hash=row[PREV],
        hash=row[H],
        hash_version=1,
    )
    try:
        return entry.computed_hash() == entry.hash
    except (TypeError, ValueError):
        return False


def _checked_chunks(
    conn: Connection, after: int, size: int
) -> Iterator[tuple[list[Any], int, list[str]]]:
    """The chunks for the fast check, as (rows, index of prev_hash in them, the version 2
    hash of each row's payload)."""
    sha256, dumps = hashlib.sha256, orjson.dumps
    if conn.dialect.name != "sqlite":
        for rows in entry_chunks(conn, after=after, size=size):
            try:
                digests = [sha256(dumps(r[1:])).hexdigest() for r in rows]
            except TypeError:
                digests = []  # not encodable: the slow walk says where
            yield rows, PREV, digests
        return
    dbapi: Any = conn.connection.driver_connection
    last = after
    try:
        for rows in _sqlite_chunks(dbapi, _SQLITE_FAST, after, size):
            last = rows[-1][SEQ]
            yield rows, _SQLITE_PREV, [sha256(r[_SQLITE_PAYLOAD]).hexdigest() for r in rows]
    except sqlite3.Error:  # json_array refuses a value (a blob): go on column by column
        for rows in entry_chunks(conn, after=last, size=size):
            yield rows, PREV, []


def verify_chain(
    db: Database,
    keys: PlatformKeys,
    *,
    archive_dir: Path | None = None,
    batch: int = CHUNK,
) -> VerifyReport:
    report = VerifyReport()
    with db.read() as conn:
        anchors = conn.execute(select(audit_archive).order_by(audit_archive.c.upto_seq)).all()
        expected_seq, expected_prev = 1, GENESIS_HASH
        for a in anchors:
            if int(a.first_seq) != expected_seq:
                report.fail(
                    int(a.first_seq),
                    f"archive {a.file_name} does not follow seq {expected_seq - 1}",
                )
            if archive_dir is not None:
                _verify_archive(archive_dir / str(a.file_name), a, expected_prev, report)
            expected_seq, expected_prev = int(a.upto_seq) + 1, str(a.last_hash)
            report.archives += 1

        hashes: dict[int, str] = {}  # the chain's hash at each checkpointed seq
        checkpoints = conn.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.seq)).all()
        wanted = sorted({int(c.seq) for c in checkpoints})
        wanted_set = set(wanted)
        last = expected_seq - 1
        for rows, prev_at, digests in _checked_chunks(conn, last, batch):
            n = len(rows)
            if report.first_seq is None:
                report.first_seq = rows[0][SEQ]
            stored = [r[H] for r in rows]
            if (
                digests == stored
                and [r[VERSION] for r in rows].count(2) == n
                and [r[SEQ] for r in rows] == list(range(expected_seq, expected_seq + n))
                and [r[prev_at] for r in rows] == [expected_prev, *stored[:-1]]
            ):
                lo = bisect.bisect_left(wanted, expected_seq)
                hi = bisect.bisect_left(wanted, expected_seq + n)
                for seq in wanted[lo:hi]:
                    hashes[seq] = stored[seq - expected_seq]
                expected_seq, expected_prev = expected_seq + n, stored[-1]
                last = expected_seq - 1
                report.entries += n
                continue
            if prev_at != PREV:  # SQLite-built payloads: read this chunk's columns
                rows = _sqlite_raw_range(conn, rows[0][SEQ], rows[-1][SEQ])
            for r in rows:  # the slow walk: say what is wrong, and where
                seq, h = r[SEQ], r[H]
                if seq != expected_seq:
                    report.fail(
                        min(seq, expected_seq),
                        f"expected seq {expected_seq}, found {seq} (entry missing or moved)",
                    )
                if r[PREV] != expected_prev:
                    report.fail(seq, f"seq {seq}: prev_hash does not link to its predecessor")
                if not _row_hash_ok(r):
                    report.fail(seq, f"seq {seq}: content does not match its hash")
                if seq in wanted_set:
                    hashes[seq] = h
                expected_seq, expected_prev = seq + 1, h
                report.entries += 1
                last = seq
        report.last_seq = last
        report.head_hash = expected_prev

        floor = int(anchors[-1].upto_seq) if anchors else 0
        for c in checkpoints:
            report.checkpoints += 1
            seq = int(c.seq)
            message = checkpoint_message(seq, str(c.head_hash), c.signed_at)
            if c.key_id != keys.key_id or not keys.verify(message, str(c.signature)):
                report.fail(seq, f"checkpoint at seq {seq}: signature does not verify")
                continue
            if seq == 0 or seq <= floor:
                continue
            if seq > last:
                report.fail(
                    last + 1,
                    f"checkpoint at seq {seq} is beyond the chain's end {last} (entries removed)",
                )
            elif hashes.get(seq) != c.head_hash:
                report.fail(
                    seq, f"checkpoint at seq {seq}: signed head hash differs from the chain"
                )
    return report


def _verify_archive(path: Path, anchor: Row[Any], prev_hash: str, report: VerifyReport) -> None:
    """The file must match its recorded digest, link to ``prev_hash`` (the end of what came
    before it) and end in the anchored hash that the live chain continues from."""
    if not path.exists():
        report.fail(None, f"archive file {path.name} is missing")
        return
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != str(anchor.file_sha256):
        report.fail(None, f"archive file {path.name} does not match its recorded SHA-256")
        return
    expected_seq, prev, count = int(anchor.first_seq), prev_hash, 0
    # lines end in "\n" only: str.splitlines would also split inside a JSON string at the
    # U+2028, U+2029 or U+0085 that ensure_ascii=False leaves in place
    lines = data.decode("utf-8").split("\n")
    if lines and not lines[-1]:
        lines.pop()
    for line in lines:
        try:
            raw = json.loads(line)
            raw["occurred_at"] = datetime.fromisoformat(raw["occurred_at"].replace("Z", "+00:00"))
            entry = AuditEntry(**raw)
            hash_ok = entry.computed_hash() == entry.hash
        except (ValueError, TypeError, KeyError, AttributeError):
            report.fail(expected_seq, f"archive {path.name}: seq {expected_seq} is unreadable")
            return
        if entry.seq != expected_seq or entry.prev_hash != prev or not hash_ok:
            report.fail(entry.seq, f"archive {path.name}: seq {entry.seq} does not verify")
            return
        expected_seq, prev, count = entry.seq + 1, entry.hash, count + 1
    upto = int(anchor.upto_seq)
    if count != int(anchor.entry_count) or expected_seq != upto + 1 or prev != anchor.last_hash:
        report.fail(upto, f"archive {path.name} does not end in the anchored hash of seq {upto}")
