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
class _Plan:
    sql: str
    positional: tuple[str, ...] | None  # parameter order (qmark / format), None: by name
    defaults: dict[str, Any]
    binds: dict[str, Processor]
    results: tuple[tuple[int, Processor], ...]  # (column index, processor)
    make: Callable[[Any], Any]  # a row tuple -> named tuple


class Prepared:
    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt
        self.names = tuple(stmt.selected_columns.keys())
        self._row: Any = namedtuple("Row", self.names, rename=True)  # type: ignore[misc]
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is not None:
            return plan
        compiled = self.stmt.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("Prepared does not support expanding or literal parameters")
        binds: dict[str, Processor] = {}
        for bind in compiled.binds.values():
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                binds[bind.key] = proc
        results = []
        for i, col in enumerate(self.stmt.selected_columns):
            proc = col.type.dialect_impl(dialect).result_processor(dialect, None)
            if proc is not None:
                results.append((i, proc))
        positional = compiled.positiontup
        plan = _Plan(
            sql=compiled.string,
            positional=tuple(positional) if positional is not None else None,
            defaults=dict(compiled.params),
            binds=binds,
            results=tuple(results),
            make=self._row._make,
        )
        with self._lock:
            self._plans[dialect.name] = plan
        return plan

    def _execute(self, conn: Connection, params: Mapping[str, Any]) -> tuple[_Plan, list[Any]]:
        plan = self._plan(conn.dialect)
        values = {**plan.defaults, **params} if plan.defaults else dict(params)
        for name, proc in plan.binds.items():
            if name in values:
                values[name] = proc(values[name])
        bound: Any = [values[n] for n in plan.positional] if plan.positional is not None else values
        driver: Any = conn.connection.driver_connection  # inside the caller's transaction
        cursor = driver.cursor()
        try:
            cursor.execute(plan.sql, bound)
            return plan, cursor.fetchall()
        finally:
            cursor.close()

    def _rows(self, plan: _Plan, raw: list[Any]) -> list[Any]:
        make, results = plan.make, plan.results
        if not results:
            return [make(r) for r in raw]
        out = []
        for r in raw:
            values = list(r)
            for i, proc in results:
                values[i] = proc(values[i])
            out.append(make(values))
        return out

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        plan, raw = self._execute(conn, params)
        return self._rows(plan, raw)

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        plan, raw = self._execute(conn, params)
        return self._rows(plan, raw[:1])[0] if raw else None

    def tuples(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Rows as plain tuples (result processors applied), for the hottest loops."""
        plan, raw = self._execute(conn, params)
        if not plan.results:
            return [tuple(r) for r in raw]
        out = []
        for r in raw:
            values = list(r)
            for i, proc in plan.results:
                values[i] = proc(values[i])
            out.append(tuple(values))
        return out


@dataclass(frozen=True)
class _WritePlan:
    sql: str
    positional: tuple[str, ...] | None
    defaults: dict[str, Any]
    binds: dict[str, Processor]


class PreparedWrite:
    """A DML statement (an insert or upsert given its rows as dicts) compiled once per
    dialect and set of keys, run with the driver's ``executemany`` on the caller's
    connection: the audit flush's hooks run one per flush, and SQLAlchemy's execution
    context cost more than the statement."""

    def __init__(self, stmt: Any) -> None:
        self.stmt = stmt
        self._plans: dict[tuple[str, tuple[str, ...]], _WritePlan] = {}
        self._lock = threading.Lock()

    def _plan(self, dialect: Dialect, keys: tuple[str, ...]) -> _WritePlan:
        plan = self._plans.get((dialect.name, keys))
        if plan is not None:
            return plan
        compiled = self.stmt.compile(dialect=dialect, column_keys=list(keys))
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("PreparedWrite does not support expanding or literal parameters")
        binds: dict[str, Processor] = {}
        for bind in compiled.binds.values():
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                binds[bind.key] = proc
        positional = compiled.positiontup
        plan = _WritePlan(
            sql=compiled.string,
            positional=tuple(positional) if positional is not None else None,
            defaults={k: v for k, v in compiled.params.items() if k not in keys},
            binds=binds,
        )
        with self._lock:
            self._plans[(dialect.name, keys)] = plan
        return plan

    def executemany(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        plan = self._plan(conn.dialect, tuple(rows[0]))
        params: list[Any] = []
        for row in rows:
            values = {**plan.defaults, **row} if plan.defaults else dict(row)
            for name, proc in plan.binds.items():
                if name in values:
                    values[name] = proc(values[name])
            params.append(
                [values[n] for n in plan.positional] if plan.positional is not None else values
            )
        driver: Any = conn.connection.driver_connection  # inside the caller's transaction
        cursor = driver.cursor()
        try:
            cursor.executemany(plan.sql, params)
        finally:
            cursor.close()
