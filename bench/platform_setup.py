"""The govshare side of every benchmark: a fresh, migrated database with the demo city's
departments and users (``govshare.demo.seed`` without its catalog and data) and one
published bench resource, 人口基础信息（基准测试）of 公安局, catalogued, submitted and
approved through the ordinary catalog services. Its data items are those of the CSV."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.data import ITEM_CODES
from govshare.catalog import services as catalog
from govshare.catalog.model import ReviewDecision
from govshare.config import Settings
from govshare.demo.catalog import build_entry
from govshare.demo.catalog_data import Spec
from govshare.demo.seed import CATALOG_EDITORS, CATALOG_REVIEWER, seed_demo
from govshare.identity import queries as identity_queries
from govshare.kernel.actor import Actor
from govshare.platform import Platform
from govshare.storage.migrate import upgrade

RESOURCE_NAME = "人口基础信息（基准测试）"
PROVIDER = "公安局"


@dataclass
class BenchPlatform:
    backend: str
    url: str
    settings: Settings
    platform: Platform
    resource_id: str
    resource_code: str
    loader: Actor  # the provider's user who loads the pool
    loader_username: str
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def sqlite_path(self) -> Path:
        return Path(make_url(self.url).database or "")

    pg_admin_url: str | None = None

    def close(self) -> None:
        """Close the platform and drop what the run created (its PostgreSQL database; the
        run directory is removed by the caller)."""
        self.platform.close()
        if self.backend == "postgresql" and self.pg_admin_url:
            with pg_admin(self.pg_admin_url) as admin:
                admin.execute(
                    f'DROP DATABASE IF EXISTS "{make_url(self.url).database}" WITH (FORCE)'
                )


def pg_admin(url: str) -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username or "postgres",
        password=u.password,
        dbname=u.database or "postgres",
        autocommit=True,
    )


def pg_url(admin_url: str, dbname: str) -> str:
    return (
        make_url(admin_url)
        .set(drivername="postgresql+psycopg", database=dbname)
        .render_as_string(hide_password=False)
    )


def pg_available(admin_url: str | None) -> str:
    """'' when the PostgreSQL at ``admin_url`` answers, else why not."""
    if not admin_url:
        return "no PostgreSQL configured (--no-postgres)"
    try:
        with pg_admin(admin_url) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL unreachable: {str(exc).strip().splitlines()[0]}"
    return ""


def fresh_database(backend: str, var_dir: Path, pg_admin_url: str | None, pg_database: str) -> str:
    if var_dir.exists():
        shutil.rmtree(var_dir)
    var_dir.mkdir(parents=True)
    if backend == "sqlite":
        return f"sqlite:///{var_dir / 'govshare.db'}"
    assert pg_admin_url
    with pg_admin(pg_admin_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{pg_database}"')
    return pg_url(pg_admin_url, pg_database)


def user_actor(platform: Platform, username: str) -> Actor:
    with platform.db.read() as conn:
        user = identity_queries.user_by_username(conn, username)
        actor = identity_queries.actor_for_user(conn, user.id) if user else None
    if actor is None:
        raise RuntimeError(f"the demo seed has no user {username}")
    return actor


def prepare(
    backend: str, var_dir: Path, pg_admin_url: str | None, pg_database: str
) -> BenchPlatform:
    url = fresh_database(backend, var_dir, pg_admin_url, pg_database)
    upgrade(url)
    settings = Settings(
        environment="development",
        var_dir=var_dir,
        database_url=url,
        checkpoint_interval_seconds=0,
        log_level="WARNING",
    )
    platform = Platform.open(settings)
    seed_demo(
        platform.db,
        known_profiles=set(platform.profiles),
        profiles=platform.profiles,
        catalog=False,
        data=False,
    )
    editor = user_actor(platform, CATALOG_EDITORS[PROVIDER])
    reviewer = user_actor(platform, CATALOG_REVIEWER)
    with platform.db.read() as conn:
        dept = next(d for d in identity_queries.list_departments(conn) if d.short_name == PROVIDER)
    spec = Spec(
        PROVIDER,
        RESOURCE_NAME,
        "D",
        "C",
        "X",
        " ".join(ITEM_CODES),
        "基准测试用人口基础信息：姓名、公民身份号码、性别、出生日期、户籍地址和联系电话",
        modes="qvb",
    )
    draft = catalog.create_draft(
        platform.db, platform.profiles, build_entry(spec, dept.id), actor=editor
    )
    catalog.submit(platform.db, platform.profiles, draft.id, actor=editor)
    version = catalog.review(
        platform.db, draft.id, ReviewDecision.APPROVE, actor=reviewer, comment="基准测试资源"
    )
    return BenchPlatform(
        backend=backend,
        url=url,
        settings=settings,
        platform=platform,
        resource_id=version.resource_id,
        resource_code=version.code,
        loader=editor,
        loader_username=CATALOG_EDITORS[PROVIDER],
        pg_admin_url=pg_admin_url,
    )
