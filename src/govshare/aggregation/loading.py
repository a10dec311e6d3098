"""Loading a batch's rows into its pool, inside the ingest transaction (``ingest.ingest``).

Rows are checked a chunk of ``CHUNK`` at a time (``checking.Checker``: each column through
its item's compiled check and its pool column's bind processor), in this process, or, for a
large CSV upload to SQLite, in a checker process that reads the file alongside the load
(``pipeline``). A row with a bad cell goes to quarantine with the reason for every bad field.
The good rows go to the database through the transaction's own DB-API connection (the
progress callback hears of each chunk):

- SQLite: ``executemany`` of an upsert on the pool's key, one row after another, so that a
  key repeated in the file is last-one-wins, as between batches. Each row binds its
  written cells and its ordinal in the batch (``_seq`` is the pool's last ``_seq`` plus the
  ordinal); the batch's constant columns are literals of the statement;
- PostgreSQL: ``COPY`` (text format, each chunk written as one block). Into an empty pool,
  straight into the pool table: a row whose key may have come earlier in the batch (a
  Bloom filter of the batch's keys says so; it never misses one) is held back and upserted
  after the rows before it, so the key index never sees a duplicate. Into a pool that
  holds rows, into a temporary table then merged with ``INSERT … ON CONFLICT DO UPDATE``
  (the last row of a repeated key wins).

Nothing is kept from chunk to chunk but the Bloom filter (a fixed 8 MiB), the rows held
back (flushed every ``CHUNK``) and the remembered checks (at most ``MEMO_MAX`` per column),
so memory stays flat however long the file is.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from itertools import compress, islice, repeat
from typing import TYPE_CHECKING, Any

from sqlalchemy import Dialect, Table, insert, select, update

from govshare.aggregation.checking import (
    MEMO_TYPES,
    TEXT_TYPES,
    Checked,
    Checker,
    CheckPlan,
    Column,
    copy_text,
)
from govshare.aggregation.model import RejectedRow
from govshare.aggregation.pools import Pool
from govshare.aggregation.readers import RawRow, Records
from govshare.aggregation.tables import data_pool, quarantine_row
from govshare.catalog.model import DataItemInput
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import ValidationFailed
from govshare.storage.engine import Transaction

if TYPE_CHECKING:
    from govshare.aggregation.pipeline import Pipeline

CHUNK = 2000  # rows per write (and per progress call)
Progress = Callable[[int], None]
Bound = Callable[[Any], Any]

SYSTEM_COLUMNS = ("_seq", "_batch_id", "_updated_batch_id", "_loaded_at", "_deleted")
# What a column holds, for the COPY text writer: text (str or None), int (never None),
# constant (text written as it is), anything else (converted cell by cell).
TEXT, INT, CONST, ANY = "text", "int", "const", "any"


class _Abandoned(Exception):
    """Sent to the server in place of the real error when a COPY is cut short."""


class Loader:
    """Checks rows, writes the good ones to the pool and keeps the counts of the batch."""

    def __init__(
        self,
        tx: Transaction,
        pool: Pool,
        batch_id: str,
        items: list[DataItemInput],
        progress: Progress | None,
        *,
        codes: tuple[str | None, ...] | None = None,
    ) -> None:
        """``codes``: the item code of each position when rows come as value lists
        (``readers.Records``); None when they come as dicts."""
        self.tx, self.pool, self.batch_id, self.items = tx, pool, batch_id, items
        self.progress = progress
        self.now = utcnow()
        self.seq = int(
            tx.conn.execute(
                select(data_pool.c.last_seq).where(data_pool.c.id == pool.id)
            ).scalar_one()
        )
        self.total = self.loaded = self.rejected = 0
        self.filled = self.cells = 0
        self.rejects: list[RejectedRow] = []  # the first ``keep_rejected``, for the caller
        self._keep = 0
        self._quarantined: list[dict[str, Any]] = []

        dialect = tx.conn.dialect
        self.plan = CheckPlan.of(items, codes, pool.columns, dialect, date.today())
        self.checker = Checker(self.plan, dialect)
        carried = self.checker.carried
        written = self.checker.written
        columns = [carried[n].code for n in written] + list(SYSTEM_COLUMNS)
        table = pool.table()
        postgres = dialect.name == "postgresql"
        by_position = codes is not None
        kinds = [
            TEXT
            if i.type in TEXT_TYPES or (postgres and by_position and i.type in MEMO_TYPES)
            else ANY
            for i in (carried[n] for n in written)
        ]
        constants = (batch_id, batch_id, self.now, False)  # after _seq
        tail = [
            (proc or _same)(v)
            for proc, v in zip(
                (_bind(table, c, dialect) for c in SYSTEM_COLUMNS[1:]), constants, strict=True
            )
        ]
        key = pool.key_columns
        self.was_empty = tx.conn.execute(select(table.c._row_id).limit(1)).first() is None
        if postgres:
            self.writer: _Writer = _CopyWriter(
                tx,
                table,
                columns,
                key,
                self.was_empty,
                self.seq,
                [copy_text(v) for v in tail],
                [*kinds, INT, CONST, CONST, CONST, CONST],
            )
        else:
            self.writer = _ExecutemanyWriter(
                tx, table, columns, key, self.was_empty, self.seq, tail
            )

    def load(
        self, rows: Iterable[tuple[int, RawRow]] | Records | Pipeline, keep_rejected: int
    ) -> None:
        """Check and write every row; the writer is closed, or abandoned on an error."""
        from govshare.aggregation.pipeline import Pipeline

        self._keep = keep_rejected
        try:
            if isinstance(rows, Pipeline):
                if rows.plan == self.plan:
                    checked: Iterable[Checked] = rows.checked()
                else:  # the pool or the items are not what the pipeline was started for
                    rows.close()
                    checked = self._records(rows.records)
            elif isinstance(rows, Records):
                checked = self._records(rows)
            else:
                checked = self._dicts(rows)
            for chunk in checked:
                self._take(chunk)
            self.writer.close()
        except BaseException:
            self.writer.abandon()
            raise
        self._flush_quarantine()

    def _records(self, records: Records) -> Iterable[Checked]:
        check = self.checker.records
        return (check(row_nos, rows) for row_nos, rows in records.chunks(CHUNK))

    def _dicts(self, rows: Iterable[tuple[int, RawRow]]) -> Iterable[Checked]:
        it = iter(rows)
        while chunk := list(islice(it, CHUNK)):
            yield self.checker.dicts(chunk)

    def _take(self, checked: Checked) -> None:
        """Quarantine a checked chunk's bad rows, write its good ones."""
        self.total += checked.total
        for bad in checked.rejects:
            self._reject(bad)
        n = checked.good
        if not n:
            return
        self.filled += checked.filled
        self.seq += n
        self.loaded += n
        self.cells += n * len(self.items)
        self.writer.write(checked)
        if self.progress is not None:
            self.progress(n)

    def _reject(self, bad: RejectedRow) -> None:
        self.rejected += 1
        if len(self.rejects) < self._keep:
            self.rejects.append(bad)
        self._quarantined.append(
            {
                "batch_id": self.batch_id,
                "row_no": bad.row_no,
                "resolved": False,
                "values": json.dumps(bad.values, ensure_ascii=False),
                "errors": json.dumps([e.__dict__ for e in bad.errors], ensure_ascii=False),
            }
        )
        if len(self._quarantined) >= CHUNK:
            self.writer.pause()
            self._flush_quarantine()

    def _flush_quarantine(self) -> None:
        if self._quarantined:
            self.tx.conn.execute(insert(quarantine_row), self._quarantined)
            self._quarantined.clear()

    # -- deletes ---------------------------------------------------------------------------
    def delete(self, keys: list[str]) -> int:
        if not keys:
            return 0
        if len(self.pool.key_columns) != 1:
            raise ValidationFailed(
                "该资源没有标识项，不能按标识删除",
                "this resource has no identifier to delete by",
                field="deletes",
            )
        table = self.pool.table()
        key = table.c[self.pool.key_columns[0]]
        done = 0
        for k in keys:
            self.seq += 1
            done += self.tx.conn.execute(
                update(table)
                .where(key == k, table.c._deleted.is_(False))
                .values(
                    _deleted=True,
                    _seq=self.seq,
                    _updated_batch_id=self.batch_id,
                    _loaded_at=self.now,
                )
            ).rowcount
        return done


# -- helpers -------------------------------------------------------------------------------
def _bind(table: Table, column: str, dialect: Dialect) -> Bound | None:
    """The column type's bind processor (what SQLAlchemy applies to a parameter), if any."""
    proc: Bound | None = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return proc


def _same(value: Any) -> Any:
    return value


def _sql_literal(value: Any) -> str:
    """A bound constant of the batch (its id, the load time, a flag) as an SQLite literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(int(value))
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for a {type(value).__name__}")


def _upsert_sql(
    dialect: Dialect,
    table: Table,
    columns: list[str],
    key_columns: tuple[str, ...],
    mark: str,
    values: list[str] | None = None,
) -> str:
    """INSERT of ``columns`` with ``mark`` placeholders (or the given ``values``
    expressions); with a key, the upsert that keeps ``_row_id``, ``_batch_id`` and the key,
    and sets every other column (those the rows do not carry to NULL, through
    ``excluded``)."""
    prep = dialect.identifier_preparer
    q = prep.quote
    sql = (
        f"INSERT INTO {prep.format_table(table)} ({', '.join(q(c) for c in columns)}) "  # noqa: S608 - quoted identifiers  # nosec B608 - identifiers quoted or constant, values bound
        f"VALUES ({', '.join(values or [mark] * len(columns))})"
    )
    return sql + _on_conflict(dialect, table, key_columns)


def _on_conflict(dialect: Dialect, table: Table, key_columns: tuple[str, ...]) -> str:
    if not key_columns:
        return ""
    q = dialect.identifier_preparer.quote
    keep = {"_row_id", "_batch_id", *key_columns}
    sets = ", ".join(
        f"{q(c.name)} = excluded.{q(c.name)}" for c in table.columns if c.name not in keep
    )
    return f" ON CONFLICT ({', '.join(q(k) for k in key_columns)}) DO UPDATE SET {sets}"  # nosec B608 - identifiers quoted or constant, values bound


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text_block(columns: Sequence[Column], kinds: list[str]) -> str:
    """Rows given as columns, in PostgreSQL's COPY text format: tab-separated, one line a
    row, backslash, tab, newline and carriage return escaped, ``\\N`` for NULL."""
    texts: list[Iterable[str]] = []
    for column, kind in zip(columns, kinds, strict=True):
        if kind == INT:
            texts.append(map(str, column))
        elif kind == CONST:
            value = column[0] if column else ""
            texts.append(repeat(_escaped([value])[0], len(column)))
        else:
            texts.append(_escaped(column if kind == TEXT else list(map(copy_text, column))))
    return "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"


def _escaped(column: Column) -> list[str]:
    """Text cells escaped for COPY (None as ``\\N``). Most columns need nothing: one scan
    of the joined column says so."""
    try:
        joined = "".join(column)
        nulls = False
    except TypeError:  # NULL cells
        joined = "".join(v for v in column if v is not None)
        nulls = True
    out = list(column)
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        out = [v if v is None else v.translate(_COPY_ESCAPES) for v in out]
    if nulls:
        out = ["\\N" if v is None else v for v in out]
    return out


class _Writer:
    """Where checked rows go: ``write`` a chunk (in ``_seq`` order), ``pause`` before the
    transaction runs another statement, ``close`` at the end, ``abandon`` on an error."""

    def write(self, checked: Checked) -> None:
        raise NotImplementedError

    def pause(self) -> None:
        """Nothing to do unless a COPY is open."""

    def close(self) -> None:
        raise NotImplementedError

    def abandon(self) -> None:
        raise NotImplementedError


SQLITE_LOAD_CACHE_KIB = 64 << 10  # the page cache while a batch loads (SQLite: 2 MiB)


class _ExecutemanyWriter(_Writer):
    """SQLite: the DB-API ``executemany`` of the upsert, on the transaction's connection.
    A row binds its written cells and its ordinal; ``_seq`` is ``base`` plus the ordinal,
    and the batch's constants (``tail``: batch, updating batch, load time, not deleted) are
    literals of the statement, bound once rather than once a row.

    Into an empty pool, the key's unique index is dropped for the load and built again at
    the end, in the same transaction (sorting a million keys once costs a fraction of
    inserting them one by one into a growing B-tree): the rows are plain inserts, and if the
    file repeated a key, the index cannot be built until only the last row of each key is
    left, in the place of its first, and the rows are numbered again
    (``_keep_last_of_each_key``): what the upsert gives one row after another.

    While the batch loads, the connection's page cache is ``SQLITE_LOAD_CACHE_KIB``: the
    key index of a large pool outgrows the default 2 MiB at once, and every insert into it
    then reads its pages back (a third of the load's time at a million rows)."""

    def __init__(
        self,
        tx: Transaction,
        table: Table,
        columns: list[str],
        key: tuple[str, ...],
        empty: bool,
        base: int,
        tail: list[Any],
    ) -> None:
        self._cursor: Any = tx.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        dialect = tx.conn.dialect
        self._prep, self._table, self._key = dialect.identifier_preparer, table, key
        self._cache = int(self._cursor.execute("PRAGMA cache_size").fetchone()[0])
        self._cursor.execute(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")
        self._index = self._drop_key_index() if empty and len(key) == 1 else None
        cells = len(columns) - len(SYSTEM_COLUMNS)
        values = ["?"] * cells + [f"? + {int(base)}", *map(_sql_literal, tail)]
        upsert_on = () if self._index is not None else key
        self._sql = _upsert_sql(dialect, table, columns, upsert_on, "?", values)

    def _drop_key_index(self) -> str | None:
        """Drop the key's unique index (of an empty pool); its DDL, to build it again."""
        name = f"uq_{self._table.name}_key"  # pools.py names it
        row = self._cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name = ?",
            (self._table.name, name),
        ).fetchone()
        if row is None or not row[0]:
            return None
        self._cursor.execute(f"DROP INDEX {self._prep.quote(name)}")
        ddl: str = row[0]
        return ddl

    def write(self, checked: Checked) -> None:
        self._cursor.executemany(self._sql, checked.as_rows())

    def close(self) -> None:
        if self._index is not None:
            ddl, self._index = self._index, None
            self._cursor.execute("SAVEPOINT govshare_ingest_key")
            try:
                self._cursor.execute(ddl)
            except sqlite3.IntegrityError:  # a key came more than once
                self._cursor.execute("ROLLBACK TO SAVEPOINT govshare_ingest_key")
                self._keep_last_of_each_key()
                self._cursor.execute(ddl)
            self._cursor.execute("RELEASE SAVEPOINT govshare_ingest_key")
        self._cursor.execute(f"PRAGMA cache_size = {self._cache}")
        self._cursor.close()

    def _keep_last_of_each_key(self) -> None:
        """Of the rows of a key the batch repeated, keep the first (its ``_row_id``, its
        ``_batch_id``) with the other columns of the last (the highest ``_seq``)."""
        q = self._prep.quote
        table, key = self._prep.format_table(self._table), q(self._key[0])
        keep = {"_row_id", "_batch_id", self._key[0]}
        cols = ", ".join(q(c.name) for c in self._table.columns if c.name not in keep)
        run = self._cursor.execute
        run(f"CREATE TEMPORARY TABLE {REPEATS} (k PRIMARY KEY, keep INTEGER, last INTEGER)")
        run(
            f"INSERT INTO {REPEATS} SELECT {key}, min(_row_id), max(_seq) FROM {table} "  # noqa: S608  # nosec B608 - quoted identifiers
            f"WHERE {key} IS NOT NULL GROUP BY {key} HAVING count(*) > 1"
        )
        run(
            f"UPDATE {table} SET ({cols}) = (SELECT {cols} FROM {table} AS last_row "  # noqa: S608  # nosec B608 - quoted identifiers
            f"WHERE last_row._seq = r.last) FROM {REPEATS} AS r WHERE {table}._row_id = r.keep"
        )
        run(
            f"DELETE FROM {table} WHERE {key} IN (SELECT k FROM {REPEATS}) "  # noqa: S608  # nosec B608 - quoted identifiers
            f"AND _row_id NOT IN (SELECT keep FROM {REPEATS})"
        )
        run(f"DROP TABLE {REPEATS}")
        # the rows left, numbered 1, 2, … again, as one upsert after another numbers them
        every = ", ".join(q(c.name) for c in self._table.columns if c.name != "_row_id")
        run(f"CREATE TEMPORARY TABLE {KEPT} AS SELECT {every} FROM {table} ORDER BY _row_id")  # noqa: S608  # nosec B608 - quoted identifiers
        run(f"DELETE FROM {table}")  # noqa: S608  # nosec B608 - quoted identifier
        run(f"INSERT INTO {table} ({every}) SELECT {every} FROM {KEPT} ORDER BY rowid")  # noqa: S608  # nosec B608 - quoted identifiers
        run(f"DROP TABLE {KEPT}")

    def abandon(self) -> None:
        self._index = None  # the transaction rolls back: the index with it
        with contextlib.suppress(Exception):
            self.close()


REPEATS, KEPT = "govshare_ingest_repeats", "govshare_ingest_kept"
BLOOM_BITS = 1 << 26  # 8 MiB: about 1 false "maybe seen" in 1,000 keys at a million keys
_BLOOM_MASK = BLOOM_BITS - 1
STAGE = "govshare_ingest_stage"


class _CopyWriter(_Writer):
    """PostgreSQL: COPY, straight into an empty pool (or one without a key), else through a
    temporary table merged at the end. See the module docstring."""

    def __init__(
        self,
        tx: Transaction,
        table: Table,
        columns: list[str],
        key: tuple[str, ...],
        empty: bool,
        base: int,
        tail: list[Any],
        kinds: list[str],
    ) -> None:
        self._base, self._tail, self._kinds = base, tail, kinds
        dialect = tx.conn.dialect
        prep = dialect.identifier_preparer
        self._cursor: Any = tx.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        self._table = prep.format_table(table)
        self._key = ", ".join(prep.quote(k) for k in key)
        self._columns = ", ".join(prep.quote(c) for c in columns)
        self._upsert = _upsert_sql(dialect, table, columns, key, "%s")
        self._on_conflict = _on_conflict(dialect, table, key)
        self._staged = bool(key) and not (empty and len(key) == 1)
        self._bloom: bytearray | None = None
        self._key_at = columns.index(key[0]) if len(key) == 1 else -1
        if self._staged:
            self._cursor.execute(
                f"CREATE TEMPORARY TABLE {STAGE} ON COMMIT DROP AS "  # noqa: S608  # nosec B608 - identifiers quoted or constant, values bound
                f"SELECT {self._columns} FROM {self._table} WITH NO DATA"
            )
            self._target = STAGE
        else:
            self._target = self._table
            if key:
                self._bloom = bytearray(BLOOM_BITS // 8)
        self._held: list[tuple[Any, ...]] = []  # rows whose key may have come before
        self._copy: Any = None  # the open COPY's context manager, and the COPY
        self._rows: Any = None

    def _open(self) -> Any:
        if self._rows is None:
            self._copy = self._cursor.copy(f"COPY {self._target} ({self._columns}) FROM STDIN")
            self._rows = self._copy.__enter__()
        return self._rows

    def write(self, checked: Checked) -> None:
        n, first = checked.good, self._base + checked.first
        columns: Sequence[Column] = [
            *(checked.columns or []),
            range(first, first + n),
            *([v] * n for v in self._tail),
        ]
        if self._bloom is not None:
            held = self._maybe_seen(columns[self._key_at])
            if held:
                self._held.extend(zip(*([c[i] for i in held] for c in columns), strict=True))
                keep = [True] * n
                for i in held:
                    keep[i] = False
                columns = [list(compress(c, keep)) for c in columns]
                n -= len(held)
        if n:
            self._open().write(copy_text_block(columns, self._kinds))
        if len(self._held) >= CHUNK:
            self.pause()
            self._flush_held()

    def _maybe_seen(self, keys: Column) -> list[int]:
        """The positions of keys the batch may have had before (two bits of the filter set
        by an earlier key); the others are added to the filter."""
        bloom, held = self._bloom, []
        assert bloom is not None
        for at, h in enumerate(map(hash, keys)):
            i, j = h & _BLOOM_MASK, (h >> 32) & _BLOOM_MASK
            bit_i, bit_j = 1 << (i & 7), 1 << (j & 7)
            if bloom[i >> 3] & bit_i and bloom[j >> 3] & bit_j:
                held.append(at)  # maybe a repeat: upserted after the rows before it
            else:
                bloom[i >> 3] |= bit_i
                bloom[j >> 3] |= bit_j
        return held

    def _flush_held(self) -> None:
        if self._held:
            self._cursor.executemany(self._upsert, self._held)
            self._held.clear()

    def pause(self) -> None:
        if self._copy is not None:
            copy, self._copy, self._rows = self._copy, None, None
            copy.__exit__(None, None, None)

    def close(self) -> None:
        self.pause()
        self._flush_held()
        if self._staged:
            self._merge()
        self._cursor.close()

    def _merge(self) -> None:
        """The staged rows into the pool. A key repeated in the batch makes the plain merge
        fail (a row cannot be updated twice in one statement): then only the last row of
        each key goes in."""
        from psycopg.errors import CardinalityViolation  # PostgreSQL only

        insert_sql = f"INSERT INTO {self._table} ({self._columns}) SELECT {self._columns} FROM "  # noqa: S608  # nosec B608 - identifiers quoted or constant, values bound
        self._cursor.execute("SAVEPOINT govshare_ingest_merge")
        try:
            self._cursor.execute(insert_sql + STAGE + self._on_conflict)
        except CardinalityViolation:
            self._cursor.execute("ROLLBACK TO SAVEPOINT govshare_ingest_merge")
            last = (
                f"(SELECT DISTINCT ON ({self._key}) {self._columns} FROM {STAGE} "  # noqa: S608  # nosec B608 - identifiers quoted or constant, values bound
                f"ORDER BY {self._key}, _seq DESC) AS last_of_key ORDER BY _seq"
            )
            self._cursor.execute(insert_sql + last + self._on_conflict)
        self._cursor.execute("RELEASE SAVEPOINT govshare_ingest_merge")

    def abandon(self) -> None:
        if self._copy is not None:
            copy, self._copy, self._rows = self._copy, None, None
            stop = _Abandoned("the ingest batch was abandoned")
            with contextlib.suppress(Exception):  # the transaction rolls back anyway
                copy.__exit__(_Abandoned, stop, None)
        with contextlib.suppress(Exception):
            self._cursor.close()
