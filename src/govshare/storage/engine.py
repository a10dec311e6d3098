"""Engine and the unit of work. Nothing is created at import time.

SQLite: WAL, foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for write
transactions, so that the write lock is taken before anything is read and two
writers can never interleave (this is what keeps the audit chain from forking).
PostgreSQL (psycopg 3): writers that must serialise take an advisory lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from govshare.kernel.errors import DomainError

SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


_BEGIN = {mode: f"BEGIN {mode}" for mode in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")}


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's implicit transactions are off).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    def do_begin(fairy: Any) -> None:
        """The dialect's BEGIN (pysqlite's own does nothing): our mode, straight to the
        driver. Every unit of work and every read starts here. It is the dialect's hook
        rather than a ``begin`` event so that the engine has no connection events: with
        one, SQLAlchemy joins event dispatchers on every ``engine.connect()``, which cost
        a data-service call more than its BEGIN."""
        mode = fairy.info.get("begin_mode", "IMMEDIATE")
        fairy.dbapi_connection.execute(_BEGIN[mode])

    engine.dialect.do_begin = do_begin  # type: ignore[method-assign,assignment]


def is_sqlite(conn_or_engine: Connection | Engine) -> bool:
    return conn_or_engine.dialect.name == "sqlite"


@dataclass
class Transaction:
    """One unit of work: a connection inside one transaction, plus after-commit hooks."""

    conn: Connection
    _after_commit: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the transaction has committed (notifications, cache bumps)."""
        self._after_commit.append(fn)

    def serialize(self, key: int) -> None:
        """Serialise writers on ``key`` until commit (no-op on SQLite, which already is)."""
        if not is_sqlite(self.conn):
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


class Database:
    """Owns the engine; hands out units of work. Create one per process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self._local = threading.local()
        self._kept: set[Connection] = set()  # the read connections kept (``keep_reads``)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A write transaction; commits on success, rolls back on any exception."""
        with self.engine.connect() as conn:
            tx = Transaction(conn)
            with conn.begin():
                yield tx
            for fn in tx._after_commit:
                fn()

    @contextmanager
    def read(self, *, snapshot: bool = True) -> Iterator[Connection]:
        """A read-only snapshot (deferred BEGIN on SQLite, so readers never block writers).

        ``snapshot=False``: the reads need no transaction of their own. On PostgreSQL each
        statement then runs on its own (autocommit), which saves the BEGIN and COMMIT
        round trips; under READ COMMITTED, the platform's level, each statement sees the
        data committed when it starts whether or not a transaction encloses it, so the
        reads see what they would have seen. (Not for a read that uses ``SET LOCAL``.)
        SQLite keeps its deferred BEGIN, which costs no round trip.

        Inside ``keep_reads`` (the server's event-loop thread, where every data-service
        call reads) the snapshot runs on a connection kept for that thread: checking one
        out of the pool and back cost a call more than its indexed reads (and a round
        trip for the pre-ping on PostgreSQL). A read nested in another uses a pooled one;
        a failure other than a refused request (``DomainError``) drops the kept one."""
        local = self._local
        if not getattr(local, "keep", False) or getattr(local, "busy", False):
            with self.engine.connect() as pooled:
                yield from _read_on(pooled, snapshot)
            return
        kept: Connection | None = getattr(local, "conn", None)
        if kept is None or kept.closed or kept.invalidated:
            kept = local.conn = self.engine.connect()
            self._kept.add(kept)
        conn = kept
        local.busy = True
        try:
            yield from _read_on(conn, snapshot)
        except BaseException as exc:
            if not isinstance(exc, DomainError):
                self._drop(conn)
            raise
        finally:
            local.busy = False

    @contextmanager
    def keep_reads(self) -> Iterator[None]:
        """Reads on this thread reuse one connection until the block ends (the web app
        runs its event loop inside it; other threads keep using the pool)."""
        local = self._local
        local.keep = True
        try:
            yield
        finally:
            local.keep = False
            conn = getattr(local, "conn", None)
            if conn is not None:
                self._drop(conn)

    def _drop(self, conn: Connection) -> None:
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        self._kept.discard(conn)
        with suppress(Exception):
            conn.close()

    def dispose(self) -> None:
        for conn in list(self._kept):
            with suppress(Exception):
                conn.close()
        self._kept.clear()
        self.engine.dispose()


def _read_on(conn: Connection, snapshot: bool = True) -> Iterator[Connection]:
    if not snapshot and conn.dialect.name == "postgresql":
        yield from _autocommit_read(conn)
        return
    conn.info["begin_mode"] = "DEFERRED"
    try:
        with conn.begin():
            yield conn
    finally:
        conn.info.pop("begin_mode", None)


def _autocommit_read(conn: Connection) -> Iterator[Connection]:
    """Reads on a PostgreSQL connection in autocommit (``Database.read(snapshot=False)``):
    the driver sends no BEGIN, and ends what SQLAlchemy began with no COMMIT round trip."""
    driver: Any = conn.connection.driver_connection
    driver.autocommit = True
    try:
        try:
            yield conn
        finally:
            if conn.in_transaction():
                conn.rollback()  # nothing to undo: every statement has ended already
    finally:
        driver.autocommit = False


def null_pool_engine(url: str) -> Engine:
    """For one-off maintenance (migrations, backups) that must not keep connections."""
    return create_engine(url, poolclass=NullPool)
