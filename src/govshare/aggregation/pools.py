"""Data-pool tables: one per resource and pool generation, typed from the data items.

Columns: one per data item (its code), plus ``_row_id``, ``_seq`` (a per-pool change
counter, for feeds), ``_batch_id`` (the batch that first loaded the row), ``_updated_batch_id``
(the batch that last changed it), ``_loaded_at`` and ``_deleted`` (tombstones, so that feeds
see deletes). The upsert key is the resource's identifier items (身份证号, 统一社会信用代码).

A new published version that adds items migrates the pool in place (ALTER TABLE ADD COLUMN;
dropped items stay as nullable columns, so consumers of the old version keep working). A
version that changes an item's type or the key opens a new pool generation; the old pool
stays readable for the transition period.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from govshare.aggregation.tables import data_pool
from govshare.catalog.model import DataItemInput, IdentifierKind, ItemType, ResourceVersion
from govshare.kernel.clock import utcnow
from govshare.kernel.ids import new_id
from govshare.storage.engine import Transaction
from govshare.storage.prepared import Prepared
from govshare.storage.types import UTCDateTime


class DecimalText(TypeDecorator[Decimal]):
    """Exact decimals: NUMERIC on PostgreSQL, canonical text on SQLite (no float rounding)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(38, 10))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value if dialect.name == "postgresql" else format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None


@dataclass(frozen=True)
class PoolColumn:
    code: str
    type: str
    length: int | None
    identifier: str

    def sql_type(self) -> TypeEngine[Any]:
        t = ItemType(self.type)
        if t is ItemType.INTEGER:
            return BigInteger()
        if t is ItemType.DECIMAL:
            return DecimalText()
        if t is ItemType.DATE:
            return Date()
        if t is ItemType.DATETIME:
            return DateTime()
        if t is ItemType.BOOLEAN:
            return Boolean()
        if self.length is not None and self.length <= 4000:
            return String(self.length)
        return Text()


@dataclass(frozen=True)
class Pool:
    id: str
    resource_id: str
    generation: int
    table_name: str
    version_no: int
    columns: tuple[PoolColumn, ...]
    key_columns: tuple[str, ...]
    active: bool

    def table(self) -> Table:
        """The pool's SQLAlchemy table. The same object for the same pool schema (cached), so
        that statements built on it hit SQLAlchemy's compiled-statement cache; a schema change
        (a migrated column list, a new generation) gives a new one."""
        return _pool_table(
            self.id, self.generation, self.table_name, self.columns, self.key_columns
        )

    def column(self, code: str) -> PoolColumn | None:
        return next((c for c in self.columns if c.code == code), None)


@lru_cache(maxsize=512)
def _pool_table(
    pool_id: str,
    generation: int,
    table_name: str,
    columns: tuple[PoolColumn, ...],
    key_columns: tuple[str, ...],
) -> Table:
    md = MetaData()
    cols: list[Any] = [
        Column(
            "_row_id",
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("_seq", BigInteger, nullable=False),
        Column("_batch_id", String(26), nullable=False),
        Column("_updated_batch_id", String(26), nullable=False),
        Column("_loaded_at", UTCDateTime(), nullable=False),
        Column("_deleted", Boolean, nullable=False),
    ]
    cols += [Column(c.code, c.sql_type()) for c in columns]
    t = Table(table_name, md, *cols)
    Index(f"ix_{table_name}_seq", t.c._seq)
    if key_columns:
        Index(f"uq_{table_name}_key", *[t.c[k] for k in key_columns], unique=True)
    return t


def columns_of(items: tuple[DataItemInput, ...] | list[DataItemInput]) -> tuple[PoolColumn, ...]:
    return tuple(PoolColumn(i.code, i.type.value, i.length, i.identifier.value) for i in items)


def key_of(items: tuple[DataItemInput, ...] | list[DataItemInput]) -> tuple[str, ...]:
    """The upsert key: the natural-person identifier, else the organisation identifier."""
    for kind in (IdentifierKind.ID_CARD, IdentifierKind.USCC, IdentifierKind.ORG_CODE):
        codes = tuple(i.code for i in items if i.identifier is kind)
        if codes:
            return codes[:1]
    return ()


def _pool(row: Any) -> Pool:
    return Pool(
        id=row.id,
        resource_id=row.resource_id,
        generation=row.generation,
        table_name=row.table_name,
        version_no=row.version_no,
        columns=tuple(PoolColumn(**c) for c in json.loads(row.columns)),
        key_columns=tuple(json.loads(row.key_columns)),
        active=bool(row.active),
    )


_POOLS_OF = Prepared(  # every data-service call reads it (what ``_pool`` needs)
    select(
        data_pool.c.id,
        data_pool.c.resource_id,
        data_pool.c.generation,
        data_pool.c.table_name,
        data_pool.c.version_no,
        data_pool.c.columns,
        data_pool.c.key_columns,
        data_pool.c.active,
    )
    .where(data_pool.c.resource_id == bindparam("resource_id"))
    .order_by(data_pool.c.generation.desc())
)


_POOL_CACHE_MAX = 1024
_pools_by_row: dict[tuple[Any, ...], Pool] = {}


class PoolRow(NamedTuple):
    """A ``data_pool`` row as ``_pool`` reads it (and the cache key of its ``Pool``)."""

    id: str
    resource_id: str
    generation: int
    table_name: str
    version_no: int
    columns: str
    key_columns: str
    active: bool


def pool_of_row(row: PoolRow | tuple[Any, ...]) -> Pool:
    """The ``Pool`` of a row (parsed once per distinct row)."""
    pool = _pools_by_row.get(row)
    if pool is None:
        if len(_pools_by_row) >= _POOL_CACHE_MAX:
            _pools_by_row.clear()
        pool = _pools_by_row[row] = _pool(row)
    return pool


def serving_pool_id(resource_id: ColumnElement[Any], version_no: ColumnElement[Any]) -> Any:
    """The id of the pool that serves ``version_no`` of a resource, in SQL, to be read in
    another statement (the delivery grant's): ``pool_for_version``'s rule, the oldest
    generation whose newest served version is at least ``version_no``, else the newest.
    (The outer values appear in WHERE clauses only: SQLite resolves no outer column in a
    subquery's ORDER BY.)"""

    def first(serving: bool, order: Any) -> Any:
        candidate = data_pool.alias("candidate")
        query = select(candidate.c.id).where(candidate.c.resource_id == resource_id)
        if serving:
            query = query.where(candidate.c.version_no >= version_no)
        return query.order_by(order(candidate.c.generation)).limit(1).scalar_subquery()

    return func.coalesce(
        first(True, lambda g: g.asc()), first(False, lambda g: g.desc()), type_=String()
    )


def pools_of(conn: Any, resource_id: str) -> list[Pool]:
    """A resource's pools, newest generation first (read on every call; each distinct
    row is parsed once)."""
    return [pool_of_row(row) for row in _POOLS_OF.all(conn, {"resource_id": resource_id})]


def active_pool(conn: Any, resource_id: str) -> Pool | None:
    return next((p for p in pools_of(conn, resource_id) if p.active), None)


def _create(
    tx: Transaction, resource_id: str, code: str, generation: int, version: ResourceVersion
) -> Pool:
    items = list(version.entry.data_items)
    pool = Pool(
        id=new_id(),
        resource_id=resource_id,
        generation=generation,
        table_name=f"pool_{code.lower()}_g{generation}",
        version_no=version.version_no,
        columns=columns_of(items),
        key_columns=key_of(items),
        active=True,
    )
    pool.table().create(tx.conn)
    tx.conn.execute(
        insert(data_pool).values(
            id=pool.id,
            resource_id=resource_id,
            generation=generation,
            table_name=pool.table_name,
            version_no=version.version_no,
            columns=json.dumps([c.__dict__ for c in pool.columns]),
            key_columns=json.dumps(list(pool.key_columns)),
            active=True,
            row_count=0,
            last_seq=0,
            created_at=utcnow(),
        )
    )
    return pool


def ensure_pool(tx: Transaction, version: ResourceVersion) -> tuple[Pool, str]:
    """The active pool for ``version`` (a published version), creating or migrating it.
    Returns the pool and what happened: existing, created, migrated or new_generation."""
    current = active_pool(tx.conn, version.resource_id)
    if current is None:
        return _create(tx, version.resource_id, version.code, 1, version), "created"
    if current.version_no >= version.version_no:
        return current, "existing"
    wanted = columns_of(list(version.entry.data_items))
    key = key_of(list(version.entry.data_items))
    changed = [
        c
        for c in wanted
        if (old := current.column(c.code)) is not None
        and (
            old.type != c.type
            or (old.length or 0) < (c.length or 0)
            or old.identifier != c.identifier
        )
    ]
    if changed or key != current.key_columns:
        tx.conn.execute(update(data_pool).where(data_pool.c.id == current.id).values(active=False))
        return _create(
            tx, version.resource_id, version.code, current.generation + 1, version
        ), "new_generation"
    added = [c for c in wanted if current.column(c.code) is None]
    prep = tx.conn.dialect.identifier_preparer
    for c in added:
        coltype = c.sql_type().compile(dialect=tx.conn.dialect)
        tx.conn.execute(
            text(
                f"ALTER TABLE {prep.quote(current.table_name)} "
                f"ADD COLUMN {prep.quote(c.code)} {coltype}"
            )
        )
    merged = current.columns + tuple(added)
    tx.conn.execute(
        update(data_pool)
        .where(data_pool.c.id == current.id)
        .values(version_no=version.version_no, columns=json.dumps([c.__dict__ for c in merged]))
    )
    migrated = Pool(
        current.id,
        current.resource_id,
        current.generation,
        current.table_name,
        version.version_no,
        merged,
        current.key_columns,
        True,
    )
    return migrated, "migrated" if added else "existing"
