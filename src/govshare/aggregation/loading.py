"""Loading a batch's rows into its pool, inside the ingest transaction (``ingest.ingest``).

Rows are checked a chunk of ``CHUNK`` at a time, column by column: each column goes through
its item's compiled check (``cells.soft_checker``) and its pool column's bind processor,
resolved once per batch; cells that repeat a lot (dates, codes, flags) are checked once per
distinct text. A row with a bad cell goes to quarantine with the reason for every bad field
(``cells.checker`` names them). The good rows go to the database through the transaction's
own DB-API connection (the progress callback hears of each chunk):

- SQLite: ``executemany`` of an upsert on the pool's key, one row after another, so that a
  key repeated in the file is last-one-wins, as between batches;
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
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from itertools import compress, islice, repeat
from typing import Any

from sqlalchemy import Dialect, Table, insert, select, update

from govshare.aggregation import cells
from govshare.aggregation.model import FieldError, RejectedRow
from govshare.aggregation.pools import Pool
from govshare.aggregation.readers import RawRow, Records
from govshare.aggregation.tables import data_pool, quarantine_row
from govshare.catalog.model import DataItemInput, IdentifierKind, ItemType
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import ValidationFailed
from govshare.storage.engine import Transaction

CHUNK = 2000  # rows per write (and per progress call)
Progress = Callable[[int], None]
Bound = Callable[[Any], Any]
Column = Sequence[Any]
ColumnCheck = Callable[[Column], list[Any]]

SYSTEM_COLUMNS = ("_seq", "_batch_id", "_updated_batch_id", "_loaded_at", "_deleted")
# Items whose cells repeat a lot (dates, codes, flags): their checked and bound value is
# remembered per raw text, up to MEMO_MAX texts per column.
MEMO_TYPES = frozenset({ItemType.DATE, ItemType.DATETIME, ItemType.BOOLEAN, ItemType.CODE})
MEMO_MAX = 100_000
TEXT_TYPES = frozenset({ItemType.STRING, ItemType.CODE})  # checked cells: str or None
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

        by_position = codes is not None
        if codes is None:
            carried = list(items)
            self._positions: list[int] = []
        else:
            where = {c: n for n, c in enumerate(codes) if c is not None}
            carried = [i for i in items if i.code in where]
            self._positions = [where[i.code] for i in carried]
        self._carried = carried  # the items the rows hold, in item order
        today = date.today()
        self._checks = [cells.checker(i, today) for i in carried]  # they name the errors
        self._failed: list[int] = []  # the columns with a bad cell in the current chunk
        self._optional = [
            n
            for n, i in enumerate(carried)
            if not i.required and i.identifier is IdentifierKind.NONE
        ]
        in_pool = {c.code for c in pool.columns}
        written = [n for n, i in enumerate(carried) if i.code in in_pool]
        # items the pool no longer has are checked, not written (rare: None when all are)
        self._written = None if len(written) == len(carried) else written
        columns = [carried[n].code for n in written] + list(SYSTEM_COLUMNS)
        table = pool.table()
        dialect = tx.conn.dialect
        postgres = dialect.name == "postgresql"
        binds = {c: _bind(table, c, dialect) for c in columns}
        self._column_checks = [
            self._column_check(
                n,
                item,
                today,
                binds.get(item.code) if n in written else None,
                memo=by_position and item.type in MEMO_TYPES,
                as_text=postgres,
            )
            for n, item in enumerate(carried)
        ]
        kinds = [
            TEXT
            if i.type in TEXT_TYPES or (postgres and by_position and i.type in MEMO_TYPES)
            else ANY
            for i in (carried[n] for n in written)
        ]
        self._kinds = [*kinds, INT, CONST, CONST, CONST, CONST]
        constants = (batch_id, batch_id, self.now, False)  # after _seq
        self._tail = [
            _copy_text(proc(v) if proc is not None else v) if postgres else (proc or _same)(v)
            for proc, v in zip((binds[c] for c in SYSTEM_COLUMNS[1:]), constants, strict=True)
        ]
        self.writer = _writer(tx, table, columns, pool.key_columns)

    def _column_check(
        self,
        n: int,
        item: DataItemInput,
        today: date,
        bind: Bound | None,
        *,
        memo: bool,
        as_text: bool,
    ) -> ColumnCheck:
        """The check of the ``n``-th carried column: a column of raw cells in, a list of
        bound values out, ``cells.BAD`` for a bad cell (the column is then in ``_failed``).
        With ``memo``, each distinct text is checked once (the cells are text)."""
        failed = self._failed

        def fail(error: FieldError) -> Any:
            failed.append(n)
            return cells.BAD

        check = cells.soft_checker(item, today, fail)
        if not memo:
            if bind is None:
                return lambda column: list(map(check, column))

            def bound(raw: Any) -> Any:
                value = check(raw)
                return value if value is cells.BAD else bind(value)

            return lambda column: list(map(bound, column))

        final = _copy_text if as_text else _same
        seen: dict[Any, Any] = {}

        def first(raw: Any) -> Any:
            value = check(raw)
            if value is cells.BAD:  # not remembered: each bad cell must be seen
                return value
            value = final(bind(value) if bind is not None else value)
            if len(seen) < MEMO_MAX:
                seen[raw] = value
            return value

        def remembered(column: Column) -> list[Any]:
            out = list(map(seen.get, column, repeat(_UNSEEN, len(column))))
            if _UNSEEN in out:
                out = [
                    first(raw) if v is _UNSEEN else v for raw, v in zip(column, out, strict=True)
                ]
            return out

        return remembered

    def load(self, rows: Iterable[tuple[int, RawRow]] | Records, keep_rejected: int) -> None:
        """Check and write every row; the writer is closed, or abandoned on an error."""
        self._keep = keep_rejected
        try:
            if isinstance(rows, Records):
                self._load_records(rows)
            else:
                self._load_dicts(rows)
            self.writer.close()
        except BaseException:
            self.writer.abandon()
            raise
        self._flush_quarantine()

    def _load_dicts(self, rows: Iterable[tuple[int, RawRow]]) -> None:
        codes = [i.code for i in self._carried]
        it = iter(rows)
        while chunk := list(islice(it, CHUNK)):
            row_nos = [n for n, _ in chunk]
            raws = [raw for _, raw in chunk]
            columns = [[raw.get(c) for raw in raws] for c in codes]
            self._load_chunk(row_nos, columns, raws.__getitem__)

    def _load_records(self, records: Records) -> None:
        positions, codes = self._positions, records.codes
        width = max(positions, default=-1) + 1
        for row_nos, rows in records.chunks(CHUNK):
            full: Sequence[Sequence[Any]] = rows
            if min(map(len, rows)) < width:  # short rows: the cells they lack are empty
                full = [v if len(v) >= width else _padded(v, width) for v in rows]
            by_column = list(zip(*full, strict=False)) if positions else []

            def raw_of(i: int, rows: list[tuple[Any, ...]] = rows) -> RawRow:
                return _as_dict(codes, rows[i])

            self._load_chunk(row_nos, [by_column[p] for p in positions], raw_of)

    def _load_chunk(
        self,
        row_nos: Sequence[int],
        columns: Sequence[Column],
        raw_of: Callable[[int], RawRow],
    ) -> None:
        """Check a chunk of rows given as columns; quarantine the bad rows, write the rest."""
        n = len(row_nos)
        self.total += n
        out = [check(column) for check, column in zip(self._column_checks, columns, strict=True)]
        if self._failed:
            bad = sorted(
                {i for k in set(self._failed) for i, v in enumerate(out[k]) if v is cells.BAD}
            )
            self._failed.clear()
            for i in bad:
                self._reject(row_nos[i], raw_of(i), [column[i] for column in columns])
            keep = [True] * n
            for i in bad:
                keep[i] = False
            out = [list(compress(column, keep)) for column in out]
            n -= len(bad)
        if not n:
            return
        self.filled += n * len(out) - sum(out[k].count(None) for k in self._optional)
        if self._written is not None:
            out = [out[k] for k in self._written]
        first = self.seq + 1
        self.seq += n
        self.loaded += n
        self.cells += n * len(self.items)
        block = [*out, range(first, first + n), *([v] * n for v in self._tail)]
        self.writer.write(block, n, self._kinds)
        if self.progress is not None:
            self.progress(n)

    def _reject(self, row_no: int, raw: RawRow, cells_in: Iterable[Any]) -> None:
        """The row has a bad cell: name every bad field (each check again, one by one)."""
        errors: list[FieldError] = []
        for check, value in zip(self._checks, cells_in, strict=True):
            try:
                check(value)
            except cells.CellRejected as exc:
                errors.append(exc.error)
        self.rejected += 1
        values = {k: None if v is None else str(v) for k, v in raw.items()}
        bad = RejectedRow(row_no, values, tuple(errors))
        if len(self.rejects) < self._keep:
            self.rejects.append(bad)
        self._quarantined.append(
            {
                "batch_id": self.batch_id,
                "row_no": row_no,
                "resolved": False,
                "values": json.dumps(values, ensure_ascii=False),
                "errors": json.dumps([e.__dict__ for e in errors], ensure_ascii=False),
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
_UNSEEN: Any = object()


def _bind(table: Table, column: str, dialect: Dialect) -> Bound | None:
    """The column type's bind processor (what SQLAlchemy applies to a parameter), if any."""
    proc: Bound | None = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return proc


def _same(value: Any) -> Any:
    return value


def _copy_text(value: Any) -> Any:
    """A bound value as PostgreSQL reads it in COPY text and as an untyped parameter
    (None for NULL): text, numbers, dates, timestamps and flags."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    return str(value)  # int, Decimal (always finite here)


def _padded(values: Sequence[Any], width: int) -> list[Any]:
    """A short CSV row: the cells it lacks are empty (None), as with a dict row."""
    return [*values, *([None] * (width - len(values)))]


def _as_dict(codes: tuple[str | None, ...], values: Sequence[Any]) -> RawRow:
    return {c: v for c, v in zip(codes, values, strict=False) if c is not None}


def _upsert_sql(
    dialect: Dialect, table: Table, columns: list[str], key_columns: tuple[str, ...], mark: str
) -> str:
    """INSERT of ``columns`` with ``mark`` placeholders; with a key, the upsert that keeps
    ``_row_id``, ``_batch_id`` and the key, and sets every other column (those the rows do
    not carry to NULL, through ``excluded``)."""
    prep = dialect.identifier_preparer
    q = prep.quote
    sql = (
        f"INSERT INTO {prep.format_table(table)} ({', '.join(q(c) for c in columns)}) "  # noqa: S608 - quoted identifiers  # nosec B608 - identifiers quoted or constant, values bound
        f"VALUES ({', '.join([mark] * len(columns))})"
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
            texts.append(_escaped(column if kind == TEXT else list(map(_copy_text, column))))
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
    """Where checked rows go: ``write`` a chunk (columns, in ``_seq`` order), ``pause``
    before the transaction runs another statement, ``close`` at the end, ``abandon`` on an
    error."""

    def write(self, columns: Sequence[Column], n: int, kinds: list[str]) -> None:
        raise NotImplementedError

    def pause(self) -> None:
        """Nothing to do unless a COPY is open."""

    def close(self) -> None:
        raise NotImplementedError

    def abandon(self) -> None:
        raise NotImplementedError


def _writer(tx: Transaction, table: Table, columns: list[str], key: tuple[str, ...]) -> _Writer:
    if tx.conn.dialect.name == "postgresql":
        return _CopyWriter(tx, table, columns, key)
    return _ExecutemanyWriter(tx, table, columns, key)


SQLITE_LOAD_CACHE_KIB = 64 << 10  # the page cache while a batch loads (SQLite: 2 MiB)


class _ExecutemanyWriter(_Writer):
    """SQLite: the DB-API ``executemany`` of the upsert, on the transaction's connection.
    While the batch loads, the connection's page cache is ``SQLITE_LOAD_CACHE_KIB``: the
    key index of a large pool outgrows the default 2 MiB at once, and every insert into it
    then reads its pages back (a third of the load's time at a million rows)."""

    def __init__(
        self, tx: Transaction, table: Table, columns: list[str], key: tuple[str, ...]
    ) -> None:
        self._cursor: Any = tx.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        self._sql = _upsert_sql(tx.conn.dialect, table, columns, key, "?")
        self._cache = int(self._cursor.execute("PRAGMA cache_size").fetchone()[0])
        self._cursor.execute(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")

    def write(self, columns: Sequence[Column], n: int, kinds: list[str]) -> None:
        self._cursor.executemany(self._sql, zip(*columns, strict=True))

    def close(self) -> None:
        self._cursor.execute(f"PRAGMA cache_size = {self._cache}")
        self._cursor.close()

    def abandon(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


BLOOM_BITS = 1 << 26  # 8 MiB: about 1 false "maybe seen" in 1,000 keys at a million keys
_BLOOM_MASK = BLOOM_BITS - 1
STAGE = "govshare_ingest_stage"


class _CopyWriter(_Writer):
    """PostgreSQL: COPY, straight into an empty pool (or one without a key), else through a
    temporary table merged at the end. See the module docstring."""

    def __init__(
        self, tx: Transaction, table: Table, columns: list[str], key: tuple[str, ...]
    ) -> None:
        dialect = tx.conn.dialect
        prep = dialect.identifier_preparer
        self._cursor: Any = tx.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        self._table = prep.format_table(table)
        self._key = ", ".join(prep.quote(k) for k in key)
        self._columns = ", ".join(prep.quote(c) for c in columns)
        self._upsert = _upsert_sql(dialect, table, columns, key, "%s")
        self._on_conflict = _on_conflict(dialect, table, key)
        empty = self._cursor.execute(f"SELECT 1 FROM {self._table} LIMIT 1").fetchone() is None  # noqa: S608 - quoted identifiers  # nosec B608 - identifiers quoted or constant, values bound
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

    def write(self, columns: Sequence[Column], n: int, kinds: list[str]) -> None:
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
            self._open().write(copy_text_block(columns, kinds))
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
