"""Hot read statements run on the driver's cursor, compiled once per dialect.

``conn.execute(select(...), params)`` builds an execution context per call: parameter
construction, result metadata and row processing cost SQLAlchemy far more than the
indexed lookup itself costs the database (on a data-service call, four such statements
took about a quarter of the request's CPU). A ``Prepared`` statement keeps the query
written once with SQLAlchemy's expression language, compiles it once per dialect, and
each call then binds the values in the driver's own parameter style, executes on the
same connection (so inside the caller's transaction), and applies the types' result
processors itself (dates stored as text on SQLite, booleans, and so on): its rows carry
the same values, by name and by position, as ``conn.execute(stmt).all()`` would give.

Usage::

    _GRANT = Prepared(select(share_grant.c.id, ...).where(share_grant.c.id == bindparam("id")))
    row = _GRANT.first(conn, {"id": grant_id})   # a named tuple, or None
    rows = _GRANT.all(conn, {"id": grant_id})

Only statements with plain bound parameters are supported (no expanding ``IN``); a
parameter left out takes the value given in the statement (for example ``limit(n)``).
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Bound:
    """A statement compiled for one dialect, and how to bind its values there."""

    sql: str
    positional: tuple[str, ...] | None  # parameter order (qmark / format), None: by name
    defaults: dict[str, Any]  # values given in the statement, for parameters left out
    binds: dict[str, Processor]

    @classmethod
    def compile(cls, stmt: Any, dialect: Dialect, keys: tuple[str, ...] = ()) -> _Bound:
        """``keys``: an insert's columns, given with every row."""
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if keys else None)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("prepared statements take no expanding or literal parameters")
        binds: dict[str, Processor] = {}
        for bind in compiled.binds.values():
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                binds[bind.key] = proc
        positional = compiled.positiontup
        return cls(
            sql=compiled.string,
            positional=tuple(positional) if positional is not None else None,
            defaults={k: v for k, v in compiled.params.items() if k not in keys},
            binds=binds,
        )

    def values(self, params: Mapping[str, Any]) -> Any:
        """``params`` in the driver's parameter style, each through its type's processor."""
        values = {**self.defaults, **params} if self.defaults else dict(params)
        for name, proc in self.binds.items():
            if name in values:
                values[name] = proc(values[name])
        return [values[n] for n in self.positional] if self.positional is not None else values


def _run(conn: Connection, call: Callable[[Any], Any]) -> Any:
    """``call(cursor)`` on a cursor of the driver's connection (inside the caller's
    transaction), the cursor closed afterwards."""
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor()
    try:
        return call(cursor)
    finally:
        cursor.close()


@dataclass(frozen=True)
class _Plan:
    bound: _Bound
    results: tuple[tuple[int, Processor], ...]  # (column index, processor)

    def processed(self, raw: list[Any]) -> list[Any]:
        """Driver rows with the result processors applied (as lists when any applies)."""
        if not self.results:
            return raw
        out = []
        for r in raw:
            values = list(r)
            for i, proc in self.results:
                values[i] = proc(values[i])
            out.append(values)
        return out


class Prepared:
    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt
        self.names = tuple(stmt.selected_columns.keys())
        row: Any = namedtuple("Row", self.names, rename=True)  # type: ignore[misc]
        self._make: Callable[[Any], Any] = row._make
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is not None:
            return plan
        results = []
        for i, col in enumerate(self.stmt.selected_columns):
            proc = col.type.dialect_impl(dialect).result_processor(dialect, None)
            if proc is not None:
                results.append((i, proc))
        plan = _Plan(_Bound.compile(self.stmt, dialect), tuple(results))
        with self._lock:
            self._plans[dialect.name] = plan
        return plan

    def _rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        plan = self._plan(conn.dialect)
        bound = plan.bound
        raw = _run(conn, lambda c: c.execute(bound.sql, bound.values(params)).fetchall())
        return plan.processed(raw)

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        return [self._make(r) for r in self._rows(conn, params)]

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        rows = self._rows(conn, params)
        return self._make(rows[0]) if rows else None

    def tuples(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Rows as plain tuples (result processors applied), for the hottest loops."""
        return [tuple(r) for r in self._rows(conn, params)]


class PreparedWrite:
    """A DML statement (an insert or upsert given its rows as dicts) compiled once per
    dialect and set of keys, run with the driver's ``executemany`` on the caller's
    connection: the audit flush's hooks run one per flush, and SQLAlchemy's execution
    context cost more than the statement."""

    def __init__(self, stmt: Any) -> None:
        self.stmt = stmt
        self._plans: dict[tuple[str, tuple[str, ...]], _Bound] = {}
        self._lock = threading.Lock()

    def executemany(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        keys = tuple(rows[0])
        bound = self._plans.get((conn.dialect.name, keys))
        if bound is None:
            bound = _Bound.compile(self.stmt, conn.dialect, keys)
            with self._lock:
                self._plans[(conn.dialect.name, keys)] = bound
        params = [bound.values(row) for row in rows]
        _run(conn, lambda c: c.executemany(bound.sql, params))
