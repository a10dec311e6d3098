"""The check half of a load: a chunk of raw rows in, their bound values and their rejects
out. No database: it runs in the ingest transaction's process (``loading.Loader``) or in the
checker process of a pipelined upload (``pipeline``), with the same result.

Rows are checked a chunk at a time, column by column: each column goes through its item's
compiled check (``cells.soft_checker``) and its pool column's bind processor, resolved once
per batch; cells that repeat a lot (dates, codes, flags) are checked once per distinct text.
A row with a bad cell is rejected with the reason for every bad field (``cells.checker``
names them). Each good row gets its ordinal among the batch's good rows (1, 2, …): the pool
row's ``_seq`` is the pool's last ``_seq`` before the batch plus that ordinal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import compress
from typing import Any

from sqlalchemy import Dialect

from govshare.aggregation import cells, cells_columns
from govshare.aggregation.model import FieldError, RejectedRow
from govshare.aggregation.pools import PoolColumn
from govshare.aggregation.readers import RawRow
from govshare.catalog.model import DataItemInput, IdentifierKind, ItemType

Bound = Callable[[Any], Any]
Column = Sequence[Any]
ColumnCheck = Callable[[Column], list[Any]]

# Items whose cells repeat a lot (dates, codes, flags): their checked and bound value is
# remembered per raw text, up to MEMO_MAX texts per column.
MEMO_TYPES = frozenset({ItemType.DATE, ItemType.DATETIME, ItemType.BOOLEAN, ItemType.CODE})
MEMO_MAX = 100_000
TEXT_TYPES = frozenset({ItemType.STRING, ItemType.CODE})  # checked cells: str or None


@dataclass
class Checked:
    """One checked chunk: ``total`` rows read, ``good`` of them loadable, as ``columns``
    (the written columns' bound values) or as ``rows`` (the same values a row at a time,
    each row ending with its ordinal); ``first`` is the first good row's ordinal."""

    total: int
    good: int
    first: int
    filled: int  # filled cells of the good rows (optional items; the others are always)
    rejects: list[RejectedRow] = field(default_factory=list)
    columns: list[list[Any]] | None = None
    rows: list[tuple[Any, ...]] | None = None

    def as_rows(self) -> list[tuple[Any, ...]]:
        """Each good row's written values and its ordinal."""
        if self.rows is None:
            cols = self.columns or []
            self.rows = list(zip(*cols, range(self.first, self.first + self.good), strict=True))
            self.columns = None
        return self.rows


@dataclass(frozen=True)
class CheckPlan:
    """Everything a ``Checker`` depends on, comparable and picklable (the checker process
    of a pipelined upload gets it; the loader compares it with its own before using it).

    ``codes``: the item code of each position when rows come as value lists
    (``readers.Records``); None when they come as dicts. ``columns``: each item's pool
    column, None for an item the pool lacks (it is checked, not written). ``driver``: the
    SQLAlchemy dialect and driver (``sqlite+pysqlite``) whose bind processors apply."""

    items: tuple[DataItemInput, ...]
    codes: tuple[str | None, ...] | None
    columns: tuple[PoolColumn | None, ...]
    driver: str
    today: date

    @classmethod
    def of(
        cls,
        items: Sequence[DataItemInput],
        codes: tuple[str | None, ...] | None,
        pool_columns: Sequence[PoolColumn],
        dialect: Dialect,
        today: date,
    ) -> CheckPlan:
        by_code = {c.code: c for c in pool_columns}
        columns = tuple(by_code.get(i.code) for i in items)
        return cls(tuple(items), codes, columns, f"{dialect.name}+{dialect.driver}", today)

    def dialect(self) -> Dialect:
        """A dialect object of ``driver`` (for its bind processors)."""
        from sqlalchemy.engine import URL

        made: Dialect = URL.create(self.driver).get_dialect()()
        return made


class Checker:
    """Checks chunks of one batch's rows, in file order (it numbers the good rows)."""

    def __init__(self, plan: CheckPlan, dialect: Dialect | None = None) -> None:
        """``dialect``: the connection's own, else one made from ``plan.driver``."""
        dialect = dialect or plan.dialect()
        items, codes, today = plan.items, plan.codes, plan.today
        by_code = {c.code: c for c in plan.columns if c is not None}
        self.codes = codes
        if codes is None:
            carried = list(items)
            self.positions: list[int] = []
        else:
            where = {c: n for n, c in enumerate(codes) if c is not None}
            carried = [i for i in items if i.code in where]
            self.positions = [where[i.code] for i in carried]
        self.carried = carried  # the items the rows hold, in item order
        self._checks = [cells.checker(i, today) for i in carried]  # they name the errors
        self._failed: list[int] = []  # the columns with a bad cell in the current chunk
        self._optional = [
            n
            for n, i in enumerate(carried)
            if not i.required and i.identifier is IdentifierKind.NONE
        ]
        written = [n for n, i in enumerate(carried) if i.code in by_code]
        self.written = written
        # items the pool no longer has are checked, not written (rare: None when all are)
        self._written = None if len(written) == len(carried) else written
        postgres = dialect.name == "postgresql"
        by_position = codes is not None
        self._column_checks = [
            self._column_check(
                n,
                item,
                today,
                _bind(by_code[item.code], dialect) if n in written else None,
                memo=by_position and item.type in MEMO_TYPES,
                as_text=postgres,
            )
            for n, item in enumerate(carried)
        ]
        self.good = 0  # good rows so far: the last ordinal given

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
        final = copy_text if as_text and memo else _same
        test = cells_columns.column_test(item, today)
        if test is not None and not _unchanged(item, bind, final):
            test = None  # the bound value of a cell that passes is not the cell
        if bind is None:
            one = check
        else:

            def one(raw: Any) -> Any:
                value = check(raw)
                return value if value is cells.BAD else bind(value)

        if not memo:
            if test is None:
                return lambda column: list(map(one, column))
            tested = test

            def screened(column: Column) -> list[Any]:
                suspects = tested(column)
                if suspects is None:
                    return list(map(one, column))
                out = list(column)  # the cells that pass are their own checked values
                for i in suspects:
                    out[i] = one(column[i])
                return out

            return screened

        seen: dict[Any, Any] = {}

        def first(raw: Any) -> Any:
            value = one(raw)
            if value is cells.BAD:  # not remembered: each bad cell must be seen
                return value
            value = final(value)
            if len(seen) < MEMO_MAX:
                seen[raw] = value
            return value

        get = seen.get

        def remembered(column: Column) -> list[Any]:
            suspects = test(column) if test is not None else None
            if suspects is not None:
                out = list(column)
                for i in suspects:
                    raw = column[i]
                    if (v := get(raw, _UNSEEN)) is _UNSEEN:
                        v = first(raw)
                    out[i] = v
                return out
            if len(seen) < MEMO_MAX:
                for raw in set(column).difference(seen):  # each new text checked once
                    first(raw)
                with contextlib.suppress(KeyError):  # a bad cell is never remembered
                    return list(map(seen.__getitem__, column))
            return [v if (v := get(raw, _UNSEEN)) is not _UNSEEN else first(raw) for raw in column]

        return remembered

    def records(self, row_nos: Sequence[int], rows: list[tuple[Any, ...]]) -> Checked:
        """A chunk of rows as value lists in file column order (``readers.Records``)."""
        codes, positions = self.codes, self.positions
        assert codes is not None
        width = max(positions, default=-1) + 1
        full: Sequence[Sequence[Any]] = rows
        if min(map(len, rows)) < width:  # short rows: the cells they lack are empty
            full = [v if len(v) >= width else _padded(v, width) for v in rows]
        by_column = list(zip(*full, strict=False)) if positions else []

        def raw_of(i: int) -> RawRow:
            return _as_dict(codes, rows[i])

        return self._check(row_nos, [by_column[p] for p in positions], raw_of)

    def dicts(self, chunk: Sequence[tuple[int, RawRow]]) -> Checked:
        """A chunk of (row number, row as a dict keyed by item code)."""
        row_nos = [n for n, _ in chunk]
        raws = [raw for _, raw in chunk]
        columns = [[raw.get(i.code) for raw in raws] for i in self.carried]
        return self._check(row_nos, columns, raws.__getitem__)

    def _check(
        self,
        row_nos: Sequence[int],
        columns: Sequence[Column],
        raw_of: Callable[[int], RawRow],
    ) -> Checked:
        n = total = len(row_nos)
        out = [check(column) for check, column in zip(self._column_checks, columns, strict=True)]
        rejects: list[RejectedRow] = []
        if self._failed:
            bad = sorted(
                {i for k in set(self._failed) for i, v in enumerate(out[k]) if v is cells.BAD}
            )
            self._failed.clear()
            rejects = [
                self._rejected(row_nos[i], raw_of(i), [column[i] for column in columns])
                for i in bad
            ]
            keep = [True] * n
            for i in bad:
                keep[i] = False
            out = [list(compress(column, keep)) for column in out]
            n -= len(bad)
        filled = n * len(out) - sum(out[k].count(None) for k in self._optional) if n else 0
        if self._written is not None:
            out = [out[k] for k in self._written]
        first = self.good + 1
        self.good += n
        return Checked(total, n, first, filled, rejects, columns=out)

    def _rejected(self, row_no: int, raw: RawRow, cells_in: Sequence[Any]) -> RejectedRow:
        """The row has a bad cell: name every bad field (each check again, one by one)."""
        errors: list[FieldError] = []
        for check, value in zip(self._checks, cells_in, strict=True):
            try:
                check(value)
            except cells.CellRejected as exc:
                errors.append(exc.error)
        values = {k: None if v is None else str(v) for k, v in raw.items()}
        return RejectedRow(row_no, values, tuple(errors))


# -- helpers -------------------------------------------------------------------------------
_UNSEEN: Any = object()


def _bind(column: PoolColumn, dialect: Dialect) -> Bound | None:
    """The pool column type's bind processor (what SQLAlchemy applies to a parameter)."""
    proc: Bound | None = column.sql_type().dialect_impl(dialect).bind_processor(dialect)
    return proc


def _same(value: Any) -> Any:
    return value


_PROBE_DATE = date(2000, 1, 2)


def _unchanged(item: DataItemInput, bind: Bound | None, final: Bound) -> bool:
    """Whether a cell that passes its column test (``cells_columns``) is its own bound value:
    text with no bind processor; an ISO date whose bound value is its ISO text."""
    if item.type is ItemType.DATE:
        bound = final(bind(_PROBE_DATE) if bind is not None else _PROBE_DATE)
        return isinstance(bound, str) and bound == _PROBE_DATE.isoformat()
    return bind is None and final in (_same, copy_text)


def copy_text(value: Any) -> Any:
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
