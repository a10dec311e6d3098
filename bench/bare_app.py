"""The practical limit: a bare Starlette endpoint doing the same point lookup (and the same
claim comparison for verification) on the same table, with no token, grant, masking, audit
or receipt. Served by uvicorn, one worker, like every contender.

Configured by environment: BENCH_DB (a SQLite file path or a postgresql:// URL),
BENCH_TABLE, BENCH_KEY (the identifier column) and BENCH_COLUMNS (comma-separated).

- ``GET /lookup/{key}``: the row's columns as JSON, 404 when absent.
- ``POST /verify``: ``{"key": ..., "claims": {column: value}}`` → ``{column: "match" |
  "mismatch"}``, or ``{"result": "no_record"}``.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _names() -> tuple[str, str, list[str]]:
    table, key = os.environ["BENCH_TABLE"], os.environ["BENCH_KEY"]
    columns = os.environ["BENCH_COLUMNS"].split(",")
    for n in (table, key, *columns):
        if not _NAME.match(n):
            raise ValueError(f"not a plain identifier: {n!r}")
    return table, key, columns


class Store:
    def __init__(self) -> None:
        table, key, self.columns = _names()
        target = os.environ["BENCH_DB"]
        cols = ", ".join(self.columns)
        self.pg = target.startswith("postgresql")
        if self.pg:
            import psycopg

            self.conn: Any = psycopg.connect(target.replace("+psycopg", ""), autocommit=True)
            self.sql = f"SELECT {cols} FROM {table} WHERE {key} = %s AND NOT _deleted"  # noqa: S608
        else:
            self.conn = sqlite3.connect(target, check_same_thread=False)
            self.conn.execute("PRAGMA query_only=ON")
            self.sql = f"SELECT {cols} FROM {table} WHERE {key} = ? AND _deleted = 0"  # noqa: S608

    def get(self, key: str) -> dict[str, Any] | None:
        if self.pg:
            row = self.conn.execute(self.sql, (key,), prepare=True).fetchone()
        else:
            row = self.conn.execute(self.sql, (key,)).fetchone()
        return None if row is None else dict(zip(self.columns, row, strict=True))


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data, default=str), status, media_type="application/json")


def build() -> Starlette:
    store: dict[str, Store] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        store["s"] = Store()
        yield
        store["s"].conn.close()

    async def lookup(request: Request) -> Response:
        row = store["s"].get(request.path_params["key"])
        if row is None:
            return _json({"error": "not_found"}, 404)
        return _json(row)

    async def verify(request: Request) -> Response:
        body = orjson.loads(await request.body())
        row = store["s"].get(str(body["key"]))
        if row is None:
            return _json({"result": "no_record"})
        return _json(
            {
                k: "match" if str(row.get(k)) == str(v) else "mismatch"
                for k, v in body["claims"].items()
            }
        )

    async def health(_request: Request) -> Response:
        return _json({"ok": True})

    return Starlette(
        routes=[
            Route("/lookup/{key}", lookup),
            Route("/verify", verify, methods=["POST"]),
            Route("/health", health),
        ],
        lifespan=lifespan,
    )


app = build()
