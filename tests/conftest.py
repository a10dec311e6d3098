"""Shared fixtures.

- ``req`` marker: requirement IDs a test covers; ``reports/requirements.json`` is written
  after every run.
- ``database_url`` / ``db`` / ``platform``: a freshly migrated database per test, on SQLite
  and, when GOVSHARE_TEST_DATABASE_URL is set, on PostgreSQL too (tests that use them run
  once per database).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from govshare.audit.group_commit import GroupCommitWriter, PendingEntry
from govshare.audit.model import AuditEntry
from govshare.config import Settings
from govshare.platform import Platform
from govshare.storage.engine import Database, Transaction
from govshare.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "reports" / "requirements.json"
PG_URL = os.environ.get("GOVSHARE_TEST_DATABASE_URL")


# Requirement report ------------------------------------------------------------
_results: dict[str, dict[str, Any]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    ids = getattr(report, "req_ids", None)
    if not ids:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome = report.outcome
        for rid in ids:
            entry = _results.setdefault(rid, {"tests": [], "passed": 0, "failed": 0, "skipped": 0})
            if report.nodeid not in entry["tests"]:
                entry["tests"].append(report.nodeid)
            entry[outcome] += 1


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    ids: list[str] = []
    for mark in item.iter_markers("req"):
        ids.extend(mark.args)
    rep.req_ids = sorted(set(ids))
    if hasattr(rep, "user_properties"):
        rep.user_properties.append(("req_ids", rep.req_ids))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    if worker:  # each xdist worker writes a part; the controller merges them
        (REPORT.parent / f"requirements.{worker}.json").write_text(json.dumps(_results))
        return
    merged = {k: dict(v, tests=list(v["tests"])) for k, v in _results.items()}
    for part in REPORT.parent.glob("requirements.gw*.json"):
        for rid, v in json.loads(part.read_text()).items():
            e = merged.setdefault(rid, {"tests": [], "passed": 0, "failed": 0, "skipped": 0})
            e["tests"].extend(t for t in v["tests"] if t not in e["tests"])
            for k in ("passed", "failed", "skipped"):
                e[k] += v[k]
        part.unlink()
    REPORT.write_text(json.dumps(dict(sorted(merged.items())), ensure_ascii=False, indent=2))


# Databases ---------------------------------------------------------------------
_BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _pg_admin() -> Any:
    import psycopg

    assert PG_URL
    url = make_url(PG_URL)
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
    )


def _pg_url(dbname: str) -> str:
    assert PG_URL
    return (
        make_url(PG_URL)
        .set(drivername="postgresql+psycopg", database=dbname)
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str]:
    name = f"gs_tpl_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    upgrade(_pg_url(name))
    yield name
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _copy_of(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: str, pg_template: str
) -> Iterator[str]:
    """A fresh database copied from a session template (file copy on SQLite,
    CREATE DATABASE … TEMPLATE on PostgreSQL), dropped afterwards."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue(sqlite_template)
        path = tmp_path / "govshare.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    tpl: str = request.getfixturevalue(pg_template)
    name = f"gs_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"')
    yield _pg_url(name)
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database: copied from a migrated template."""
    yield from _copy_of(request, tmp_path, "_sqlite_template", "_pg_template")


def make_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        environment="test",
        var_dir=tmp_path / "var",
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-000",
        node_modules_dir=ROOT / "node_modules",
    )


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    p = Platform.open(settings)
    yield p
    p.close()


@pytest.fixture
def db(platform: Platform) -> Database:
    return platform.db


# The demo city, seeded once per backend into a template ---------------------------
KNOWN_PROFILES = {"default", "suqian", "shuozhou", "yixing", "hubei", "neixiang"}


def _seed(url: str, *, catalog: bool = False) -> Any:
    """Seed the demo city; the shared templates leave the demo catalog out (fast and
    deterministic for tests that build their own entries), and always the demo data (the
    tests that need it load a scaled-down city themselves, tests/integration/test_demo_data)."""
    from govshare.demo.seed import seed_demo

    database = Database(url)
    try:
        return seed_demo(database, known_profiles=KNOWN_PROFILES, catalog=catalog, data=False)
    finally:
        database.dispose()


@pytest.fixture(scope="session")
def _sqlite_demo_template(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copyfile(_sqlite_template, path)
    _seed(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_demo_template(_pg_template: str) -> Iterator[str]:
    name = f"gs_demo_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template}"')
    _seed(_pg_url(name))
    yield name
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=_BACKENDS)
def catalog_demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Any]]:
    """(url, DemoSummary, seconds): the demo city seeded once per backend WITH its catalog of
    ~220 published resources. Shared by the tests that use it: treat it as read-only."""
    import time

    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path_factory.mktemp("catalog_demo") / "demo.db"
        shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
        started = time.perf_counter()
        summary = _seed(url, catalog=True)
        yield url, summary, time.perf_counter() - started
        return
    tpl: str = request.getfixturevalue("_pg_template")
    name = f"gs_catdemo_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"')
    started = time.perf_counter()
    summary = _seed(_pg_url(name), catalog=True)
    yield _pg_url(name), summary, time.perf_counter() - started
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=_BACKENDS)
def demo_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database holding the demo city (copied from a template seeded once per run)."""
    yield from _copy_of(request, tmp_path, "_sqlite_demo_template", "_pg_demo_template")


@pytest.fixture
def demo_settings(tmp_path: Path, demo_database_url: str) -> Settings:
    return make_settings(tmp_path, demo_database_url)


@pytest.fixture
def demo_platform(demo_settings: Settings) -> Iterator[Platform]:
    p = Platform.open(demo_settings)
    yield p
    p.close()


@pytest.fixture
def sqlite_demo_platform(tmp_path: Path, _sqlite_demo_template: Path) -> Iterator[Platform]:
    """The demo city on SQLite only (for tests whose subject is not the database)."""
    path = tmp_path / "govshare.db"
    shutil.copyfile(_sqlite_demo_template, path)
    p = Platform.open(make_settings(tmp_path, f"sqlite:///{path}"))
    yield p
    p.close()


@pytest.fixture
def no_writes_on_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A write transaction, or a wait for an audit entry to be durable, on the event loop's
    thread stalls every other request the server is answering (an API call behind a form
    post would wait for its whole transaction): the routes run their writes in a worker
    thread. The HTTP tests check it (``tests/web``, ``tests/reliability``)."""
    seen: list[str] = []

    def on_loop(what: str) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        frames = [
            f"{f.filename.rsplit('/src/', 1)[-1]}:{f.lineno} {f.name}"
            for f in traceback.extract_stack()
            if "/govshare/web/" in f.filename
        ]
        seen.append(f"{what} from {' <- '.join(reversed(frames)) or '?'}")

    transaction = Database.transaction
    append = GroupCommitWriter.append

    @contextlib.contextmanager
    def checked_transaction(self: Database) -> Iterator[Transaction]:
        on_loop("a write transaction")
        with transaction(self) as tx:
            yield tx

    def checked_append(self: GroupCommitWriter, entry: PendingEntry, **kw: Any) -> AuditEntry:
        on_loop("a wait for a durable audit entry")
        return append(self, entry, **kw)

    monkeypatch.setattr(Database, "transaction", checked_transaction)
    monkeypatch.setattr(GroupCommitWriter, "append", checked_append)
    yield
    assert not seen, "on the event loop's thread: " + "; ".join(dict.fromkeys(seen))
