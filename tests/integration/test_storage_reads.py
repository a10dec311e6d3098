"""``Database.keep_reads``: reads on the server's loop thread reuse one connection; a read
nested in another, and every other thread, use the pool; a refused request keeps the
connection, any other failure drops it; leaving the block closes it. And ``Prepared``
statements give the rows ``conn.execute`` gives, on both databases."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import Connection, bindparam, select, text

from govshare.identity.tables import department
from govshare.kernel.errors import NotFound
from govshare.platform import Platform
from govshare.storage.engine import Database
from govshare.storage.prepared import Prepared


def test_kept_reads(db: Database) -> None:
    with db.keep_reads():
        with db.read() as first:
            raw = first.connection.dbapi_connection
            with db.read() as nested:  # nested: a pooled connection of its own
                assert nested.connection.dbapi_connection is not raw
        with db.read() as again:
            assert again.connection.dbapi_connection is raw
        with pytest.raises(NotFound), db.read():
            raise NotFound("无", "none")
        with db.read() as after_refusal:
            assert after_refusal.connection.dbapi_connection is raw
        elsewhere: list[object] = []

        def other_thread() -> None:
            with db.read() as conn:
                elsewhere.append(conn.connection.dbapi_connection)

        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        assert elsewhere and elsewhere[0] is not raw
        with pytest.raises(ZeroDivisionError), db.read():
            raise ZeroDivisionError
        with db.read() as after_failure:
            assert after_failure.connection.dbapi_connection is not raw
            kept = after_failure
    assert kept.closed  # closed when the block ends
    with db.read() as plain:  # outside the block: the pool, as ever
        assert plain.execute(text("SELECT 1")).scalar() == 1


def _one_transaction(conn: Connection) -> bool:
    """Whether two statements a little apart run in one transaction (PostgreSQL's now()
    is the transaction's start)."""
    first = conn.exec_driver_sql("SELECT now()").scalar()
    conn.exec_driver_sql("SELECT pg_sleep(0.01)")
    return bool(first == conn.exec_driver_sql("SELECT now()").scalar())


def test_reads_without_a_snapshot(db: Database) -> None:
    """``read(snapshot=False)``: on PostgreSQL the statements run in autocommit (no BEGIN
    or COMMIT round trip) and the connection is back to transactions afterwards, also
    after a failure; SQLite reads in its deferred transaction as ever."""
    pg = db.dialect == "postgresql"
    with db.keep_reads():
        for _ in range(2):  # the kept connection, twice
            with db.read(snapshot=False) as conn:
                driver = conn.connection.driver_connection
                assert conn.execute(text("SELECT 1")).scalar() == 1
                assert isinstance(conn.execute(select(department.c.id).limit(1)).all(), list)
                if pg:
                    assert driver.autocommit is True
                    assert not _one_transaction(conn)
            if pg:
                assert driver.autocommit is False
            with db.read() as conn:
                assert conn.connection.driver_connection is driver
                if pg:  # a snapshot read is in a transaction again
                    assert _one_transaction(conn)
        with pytest.raises(NotFound), db.read(snapshot=False) as conn:
            raise NotFound("无", "none")
        if pg:
            assert conn.connection.driver_connection.autocommit is False


def test_prepared_rows_equal_executed_rows(demo_platform: Platform) -> None:
    db = demo_platform.db
    stmt = select(department).where(department.c.short_name != bindparam("name"))
    prepared = Prepared(stmt.order_by(department.c.id).limit(50))
    with db.read() as conn:
        expected = conn.execute(stmt.order_by(department.c.id).limit(50), {"name": "-"}).all()
        got = prepared.all(conn, {"name": "-"})
        assert [tuple(r) for r in got] == [tuple(r) for r in expected]
        assert got and got[0].id == expected[0].id and prepared.names == tuple(expected[0]._fields)
        assert prepared.first(conn, {"name": "-"}) == got[0]
        one_day = Prepared(select(bindparam("d").label("d")))
        assert one_day.first(conn, {"d": str(date(2026, 11, 21))}).d == "2026-11-21"
