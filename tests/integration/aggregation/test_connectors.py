"""Source connectors (前置机) against real source databases (a SQLite file and a PostgreSQL
database on the local server): incremental pulls, the cursor committed with its batch,
failing sources, credentials at rest, the job runner's due-selection and huey."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from govshare.aggregation import agreements, connectors
from govshare.aggregation.agreements import AggregationMode, AgreementInput
from govshare.aggregation.connectors import ConnectorInput, SourceVault
from govshare.aggregation.pools import active_pool
from govshare.aggregation.sources_tables import source_connector
from govshare.audit.queries import AuditFilter, list_entries
from govshare.catalog.model import UpdateCycle
from govshare.jobs import runner
from govshare.jobs.queue import make_queue
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import ValidationFailed
from tests.integration.aggregation.conftest import id_card, publish
from tests.integration.catalog.conftest import City

PG_SERVER = (
    os.environ.get("GOVSHARE_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
)
PASSWORD = "Sekr3t-Pw-9f1c"  # must never be shown anywhere
REDIS_URL = "redis://127.0.0.1:6379/15"  # the local Redis, when it runs


def _people(n: int, start: int = 1, ts: str = "2026-01-01 00:00:{:02d}") -> list[tuple[Any, ...]]:
    """(pk, name, id card, sex, updated_at) rows; ``ts`` takes the row number."""
    return [(i, f"人{i}", id_card(seq=i), "1", ts.format(i)) for i in range(start, start + n)]


# Sources --------------------------------------------------------------------------------
class SqliteSource:
    def __init__(self, path: Path) -> None:
        self.path = path
        with sqlite3.connect(path) as conn:
            conn.execute(
                "CREATE TABLE people (pk INTEGER PRIMARY KEY, name TEXT, id_card TEXT, "
                "sex TEXT, updated_at TEXT)"
            )

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        with sqlite3.connect(self.path) as conn:
            conn.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?)", rows)


@pytest.fixture
def sqlite_source(tmp_path: Path) -> SqliteSource:
    return SqliteSource(tmp_path / "department.db")


def _pg_admin() -> Any:
    import psycopg

    url = make_url(PG_SERVER)
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
        connect_timeout=3,
    )


class PgSource:
    """A real database on the local PostgreSQL server, with Chinese column names mapped
    explicitly and a timestamp incremental column."""

    def __init__(self, name: str) -> None:
        self.name = name
        base = make_url(PG_SERVER)
        self.url = (
            base.set(drivername="postgresql", password=PASSWORD, database=name)
        ).render_as_string(hide_password=False)

    def connect(self) -> Any:
        import psycopg

        u = make_url(PG_SERVER)
        return psycopg.connect(
            host=u.host or "127.0.0.1",
            port=u.port or 5432,
            user=u.username or "postgres",
            dbname=self.name,
            autocommit=True,
        )

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        with self.connect() as conn:
            conn.cursor().executemany(
                'INSERT INTO people (pk, "姓名", sfzh, xb, updated_at) VALUES (%s, %s, %s, %s, %s)',
                [(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4])) for r in rows],
            )


@pytest.fixture
def pg_source() -> Iterator[PgSource]:
    name = f"gs_src_{uuid.uuid4().hex[:10]}"
    try:
        admin = _pg_admin()
    except Exception as exc:  # pragma: no cover - no local server
        pytest.skip(f"no local PostgreSQL server: {type(exc).__name__}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    src = PgSource(name)
    with src.connect() as conn:
        conn.execute(
            'CREATE TABLE people (pk integer primary key, "姓名" text, sfzh text, xb text, '
            "updated_at timestamp)"
        )
    yield src
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Helpers ---------------------------------------------------------------------------------
def _vault(city: City) -> SourceVault:
    return SourceVault.for_settings(city.platform.settings)


def _connector(city: City, resource_id: str, url: str, **changes: Any) -> connectors.Connector:
    data = ConnectorInput(
        name=changes.pop("name", "人口库前置机"),
        url=url,
        source_table=changes.pop("source_table", "people"),
        incremental_column=changes.pop("incremental_column", "updated_at"),
        **changes,
    )
    return connectors.create_connector(
        city.db, resource_id, data, actor=city.actor("ga_catalog"), vault=_vault(city)
    )


def _run(city: City, connector_id: str) -> connectors.RunResult:
    return connectors.run_connector(
        city.db, connector_id, city.actor("ga_catalog"), vault=_vault(city)
    )


def _pool_count(city: City, resource_id: str) -> int:
    with city.db.read() as conn:
        pool = active_pool(conn, resource_id)
        if pool is None:
            return 0
        t = pool.table()
        return int(conn.execute(select(func.count()).select_from(t)).scalar_one())


def _cursor(city: City, connector_id: str) -> Any:
    with city.db.read() as conn:
        return connectors.get_connector(conn, connector_id).cursor


# Incremental pulls ---------------------------------------------------------------------------
@pytest.mark.req("NX-29", "NX-30")
def test_sqlite_source_loads_only_new_rows(
    city: City, population: str, sqlite_source: SqliteSource
) -> None:
    sqlite_source.add(_people(3, ts="2026-01-01 08:00:0{}"))
    c = _connector(city, population, sqlite_source.url)
    first = _run(city, c.id)
    assert first.status == "loaded" and first.rows == 3
    assert first.batches[0].source.value == "connector"
    assert _cursor(city, c.id) == "2026-01-01 08:00:03"
    sqlite_source.add(_people(2, start=4, ts="2026-01-02 08:00:0{}"))
    second = _run(city, c.id)
    assert second.status == "loaded" and second.rows == 2  # only the new rows
    assert second.cursor_from == "2026-01-01 08:00:03"
    assert _pool_count(city, population) == 5
    third = _run(city, c.id)
    assert third.status == "no_rows" and not third.batches
    with city.db.read() as conn:
        runs = connectors.list_runs(conn, c.id)
        stored = connectors.get_connector(conn, c.id)
    assert [r.status for r in runs] == ["no_rows", "loaded", "loaded"]
    assert stored.last_status == "no_rows" and stored.running_since is None


@pytest.mark.req("NX-29")
def test_batches_end_at_a_change_of_the_incremental_value(
    city: City, population: str, sqlite_source: SqliteSource
) -> None:
    # 250 rows, ten per timestamp: batches of 100 may not split a run of equal values
    rows = [
        (i + 1, f"人{i}", id_card(seq=i + 1), "1", f"2026-01-01 08:{i // 10:02d}:00")
        for i in range(250)
    ]
    sqlite_source.add(rows)
    c = _connector(city, population, sqlite_source.url, batch_rows=100)
    result = _run(city, c.id)
    assert result.status == "loaded"
    assert result.rows == 250 and _pool_count(city, population) == 250
    assert len(result.batches) == 3
    assert all(b.rows_total % 10 == 0 for b in result.batches)


@pytest.mark.req("NX-29")
def test_cursor_advances_only_when_the_batch_commits(
    city: City, population: str, sqlite_source: SqliteSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_source.add(_people(3, ts="2026-01-01 08:00:0{}"))
    c = _connector(city, population, sqlite_source.url)
    real_ingest = connectors.ingest

    def failing_after_cursor(*args: Any, **kwargs: Any) -> Any:
        advance = kwargs["before_commit"]

        def then_fail(tx: Any, batch: Any) -> None:
            advance(tx, batch)  # the cursor is written ...
            raise RuntimeError("crash before commit")  # ... but the batch never commits

        kwargs["before_commit"] = then_fail
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(connectors, "ingest", failing_after_cursor)
    failed = _run(city, c.id)
    assert failed.status == "failed" and failed.error_code == "connector_failed"
    assert _cursor(city, c.id) is None  # rolled back with the batch
    assert _pool_count(city, population) == 0
    monkeypatch.setattr(connectors, "ingest", real_ingest)
    ok = _run(city, c.id)
    assert ok.status == "loaded" and ok.rows == 3  # the same rows come again


@pytest.mark.req("NX-29")
def test_a_source_failing_mid_stream_leaves_the_cursor_and_pool_unchanged(
    city: City, population: str, sqlite_source: SqliteSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_source.add(_people(3, ts="2026-01-01 08:00:0{}"))
    c = _connector(city, population, sqlite_source.url)
    assert _run(city, c.id).rows == 3
    sqlite_source.add(_people(5, start=4, ts="2026-01-03 08:00:0{}"))
    real_rows = connectors._Stream.rows

    def broken(self: Any) -> Iterator[Any]:
        for n, row in enumerate(real_rows(self)):
            if n == 2:
                raise sqlite3.OperationalError("disk I/O error")
            yield row

    monkeypatch.setattr(connectors._Stream, "rows", broken)
    failed = _run(city, c.id)
    assert failed.status == "failed" and "disk I/O error" in (failed.error or "")
    assert _cursor(city, c.id) == "2026-01-01 08:00:03"
    assert _pool_count(city, population) == 3
    monkeypatch.undo()
    # a source that is gone altogether: the failure is recorded, nothing moves
    sqlite_source.path.rename(sqlite_source.path.with_suffix(".moved"))
    gone = _run(city, c.id)
    assert gone.status == "failed" and gone.error_code == "connector_source_failed"
    with city.db.read() as conn:
        stored = connectors.get_connector(conn, c.id)
    assert stored.last_status == "failed" and stored.last_error
    assert stored.cursor == "2026-01-01 08:00:03"


@pytest.mark.req("NX-29", "NX-30")
def test_postgresql_source_with_mapped_columns(
    city: City, population: str, pg_source: PgSource
) -> None:
    pg_source.add(_people(4, ts="2026-02-01 09:00:0{}"))
    c = _connector(
        city,
        population,
        pg_source.url,
        source_table=None,
        source_query="SELECT pk, \"姓名\", sfzh, xb, updated_at FROM people WHERE xb = '1'",
        column_map={"sfzh": "公民身份号码", "xb": "sex"},
    )
    assert c.column_map == {"sfzh": "id_card", "xb": "sex"}
    first = _run(city, c.id)
    assert first.status == "loaded", first.error
    assert first.rows == 4
    assert _cursor(city, c.id) == datetime(2026, 2, 1, 9, 0, 4)
    pg_source.add(_people(2, start=5, ts="2026-02-02 09:00:0{}"))
    second = _run(city, c.id)
    assert second.status == "loaded" and second.rows == 2
    assert _pool_count(city, population) == 6
    with city.db.read() as conn:
        pool = active_pool(conn, population)
        assert pool is not None
        names = set(conn.execute(select(pool.table().c.name)).scalars())
    assert {"人1", "人6"} <= names
    assert _run(city, c.id).status == "no_rows"


def test_source_sessions_are_read_only(pg_source: PgSource, sqlite_source: SqliteSource) -> None:
    from sqlalchemy import text

    for url in (pg_source.url, sqlite_source.url):
        engine = connectors.source_engine(connectors.parse_source_url(url))
        try:
            with engine.connect() as conn, pytest.raises(Exception, match=r"(?i)read.?only"):
                conn.execute(text("CREATE TABLE x (a int)"))
        finally:
            engine.dispose()


def test_only_select_queries_and_foreign_databases_are_accepted(
    city: City, population: str, sqlite_source: SqliteSource
) -> None:
    for query in (
        "DELETE FROM people",
        "SELECT * FROM people; DROP TABLE people",
        "SELECT * INTO copy FROM people",
        "WITH x AS (UPDATE people SET name = '' RETURNING *) SELECT * FROM x",
    ):
        with pytest.raises(ValidationFailed) as info:
            _connector(city, population, sqlite_source.url, source_table=None, source_query=query)
        assert info.value.field == "source_query"
    own = city.platform.settings.effective_database_url
    if own.startswith("sqlite"):
        with pytest.raises(ValidationFailed, match="own database"):
            _connector(city, population, own)
    with pytest.raises(ValidationFailed, match="own database"):
        _connector(city, population, f"sqlite:///{city.platform.settings.var_dir}/x.db")
    production = SourceVault(city.platform.settings.keys_dir, allow_sqlite=False)
    with pytest.raises(ValidationFailed, match="production"):
        connectors.create_connector(
            city.db,
            population,
            ConnectorInput(
                name="x",
                url=sqlite_source.url,
                incremental_column="updated_at",
                source_table="people",
            ),
            actor=city.actor("ga_catalog"),
            vault=production,
        )
    with pytest.raises(ValidationFailed) as bad:
        _connector(city, population, f"nonsense://u:{PASSWORD}@h/db")
    assert PASSWORD not in json.dumps(bad.value.to_dict())


# Credentials ------------------------------------------------------------------------------------
@pytest.mark.req("NX-29")
def test_url_is_encrypted_at_rest_and_never_shown(
    city: City, population: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = make_url(PG_SERVER)
    url = base.set(
        drivername="postgresql", password=PASSWORD, database=f"gs_missing_{uuid.uuid4().hex[:6]}"
    ).render_as_string(hide_password=False)
    c = _connector(city, population, url)
    assert PASSWORD not in json.dumps(c.public()) and "***" in c.url_masked
    key = city.platform.settings.keys_dir / connectors.KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with city.db.read() as conn:
        row = conn.execute(select(source_connector).where(source_connector.c.id == c.id)).one()
    assert PASSWORD not in row.url_encrypted and PASSWORD not in row.url_masked
    assert _vault(city).decrypt(row.url_encrypted) == url
    result = _run(city, c.id)  # the database does not exist: the run fails
    assert result.status == "failed" and result.error
    with city.db.read() as conn:
        stored = connectors.get_connector(conn, c.id)
        audit_rows = list_entries(conn, AuditFilter(object_id=c.id)).entries
        runs = connectors.list_runs(conn, c.id)
    shown = json.dumps(
        [stored.public(), [e.details for e in audit_rows], [r.error for r in runs]],
        ensure_ascii=False,
        default=str,
    )
    assert PASSWORD not in shown and PASSWORD not in (result.error or "")
    captured = capsys.readouterr()
    assert PASSWORD not in captured.out + captured.err


# Job runner -----------------------------------------------------------------------------------
def test_interval_follows_the_update_cycle_and_the_agreement() -> None:
    assert connectors.interval_for(UpdateCycle.REALTIME) == timedelta(hours=1)
    assert connectors.interval_for(UpdateCycle.DAILY) == timedelta(days=1)
    assert connectors.interval_for(UpdateCycle.WEEKLY) == timedelta(days=7)
    assert connectors.interval_for(UpdateCycle.MONTHLY) == timedelta(days=31)
    assert connectors.interval_for(UpdateCycle.IRREGULAR) is None  # manual only
    assert connectors.interval_for(None) is None
    assert connectors.interval_for(UpdateCycle.MONTHLY, timedelta(hours=6)) == timedelta(hours=6)


@pytest.mark.req("NX-72", "NX-29")
def test_due_selection_by_update_cycle(
    city: City, population: str, sqlite_source: SqliteSource
) -> None:
    irregular = publish(city, name="不定期人口信息", update_cycle=UpdateCycle.IRREGULAR)
    daily = _connector(city, population, sqlite_source.url, name="daily")
    manual = _connector(city, irregular, sqlite_source.url, name="manual")
    off = _connector(city, population, sqlite_source.url, name="off", enabled=False)
    now = utcnow()

    def due(at: datetime) -> set[str]:
        with city.db.read() as conn:
            return {c.name for c in connectors.due_connectors(conn, at)}

    assert due(now) == {"daily"}  # never run: due at once; irregular and disabled never
    sqlite_source.add(_people(1))
    report = runner.run_due(city.platform)
    assert [r.status for r in report.ran] == ["loaded"]
    assert due(utcnow() + timedelta(hours=23)) == set()
    assert due(utcnow() + timedelta(hours=24, minutes=1)) == {"daily"}
    # SQ-20 / NX-29: an agreed interval of 6 hours makes it due sooner
    agreements.save_agreement(
        city.db,
        population,
        AgreementInput(AggregationMode.CONNECTOR, interval_hours=6),
        actor=city.actor("ga_catalog"),
    )
    assert due(utcnow() + timedelta(hours=6, minutes=1)) == {"daily"}
    # a failed run is retried after an hour, not a whole interval
    sqlite_source.path.unlink()
    with city.db.transaction() as tx:
        tx.conn.execute(
            source_connector.update()
            .where(source_connector.c.id == daily.id)
            .values(last_run_at=utcnow() - timedelta(hours=7))
        )
    assert runner.run_due(city.platform).ran[0].status == "failed"
    assert due(utcnow() + timedelta(minutes=30)) == set()
    assert due(utcnow() + timedelta(hours=1, minutes=1)) == {"daily"}
    assert {manual.id, off.id}.isdisjoint({c for c in runner.due_connector_ids(city.platform)})


def test_huey_task_runs_in_immediate_mode(
    city: City, population: str, sqlite_source: SqliteSource
) -> None:
    sqlite_source.add(_people(2))
    c = _connector(city, population, sqlite_source.url)
    queue = make_queue(city.platform.settings, platform=city.platform, immediate=True)
    assert queue.huey.immediate
    outcome = queue.run_connector(c.id).get()
    assert outcome["status"] == "loaded" and outcome["rows"] == 2
    assert _pool_count(city, population) == 2
    sqlite_source.add(_people(1, start=3, ts="2026-01-02 00:00:{:02d}"))
    queue.tick()  # just ran: not due, nothing pulled
    assert _pool_count(city, population) == 2
    with city.db.transaction() as tx:
        tx.conn.execute(
            source_connector.update()
            .where(source_connector.c.id == c.id)
            .values(last_run_at=utcnow() - timedelta(days=2))
        )
    queue.tick()  # due again: the tick enqueues the run, which runs at once
    assert _pool_count(city, population) == 3
    assert not city.platform.settings.jobs_db.exists()  # immediate mode stays in memory


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_queued_task_runs_from_the_real_queue(
    city: City, population: str, sqlite_source: SqliteSource, backend: str
) -> None:
    """Enqueue on the embedded SQLite queue or on Redis, then let one consumer step run it
    (no long-running worker)."""
    settings = city.platform.settings
    if backend == "redis":
        import redis

        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        except redis.RedisError:
            pytest.skip("no local Redis")
        settings = settings.model_copy(update={"redis_url": REDIS_URL})
    sqlite_source.add(_people(2))
    c = _connector(city, population, sqlite_source.url)
    queue = make_queue(settings, platform=city.platform, name=f"gs-test-{uuid.uuid4().hex[:8]}")
    try:
        queue.run_connector(c.id)
        assert queue.huey.pending_count() == 1 and _pool_count(city, population) == 0
        task = queue.huey.dequeue()
        outcome = queue.huey.execute(task)
        assert outcome["status"] == "loaded" and _pool_count(city, population) == 2
        if backend == "sqlite":
            assert settings.jobs_db.exists()
    finally:
        queue.huey.flush()
