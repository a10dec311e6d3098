"""Alembic environment: one MetaData for every domain, batch mode for SQLite."""

from __future__ import annotations

from alembic import context

from govshare.storage.engine import make_engine
from govshare.storage.registry import all_tables

config = context.config
target_metadata = all_tables()
# Per-database search tables (FTS5 / tsvector) are created by raw DDL in the migrations.
UNMANAGED = {
    "catalog_fts",
    "catalog_search",
    "catalog_search_code",
    "catalog_search_doc",
    "catalog_search_token",
} | {f"catalog_fts_{s}" for s in ("data", "idx", "content", "docsize", "config")}


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # data-pool tables are created per resource at run time (aggregation/pools.py)
    return not (type_ == "table" and (name in UNMANAGED or (name or "").startswith("pool_")))


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
