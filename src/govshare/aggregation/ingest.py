"""The ingest pipeline: validate a stream of rows, quarantine the bad ones, and upsert the
good ones into the resource's data pool, all in ONE transaction (the batch commits whole or
not at all). Re-sending the same file (same SHA-256) or the same idempotency key is a no-op
that says so. Every step writes its audit entry (SQ-25: collect, clean, transform, load,
destroy)."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from govshare.aggregation import agreements, crosscheck, pipeline
from govshare.aggregation.checking import CheckPlan
from govshare.aggregation.loading import CHUNK as CHUNK  # re-exported: callers import them here
from govshare.aggregation.loading import Loader
from govshare.aggregation.loading import Progress as Progress
from govshare.aggregation.model import Batch, BatchSource, BatchStatus, IngestResult
from govshare.aggregation.pipeline import Pipeline
from govshare.aggregation.pools import active_pool, columns_of, ensure_pool
from govshare.aggregation.readers import RawRow, Records, open_reader
from govshare.aggregation.tables import data_pool, ingest_batch
from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries as catalog_queries
from govshare.catalog.model import ResourceStatus, ResourceVersion
from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor, ActorKind
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import Conflict, Forbidden, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.storage.engine import Database, Transaction


@dataclass(frozen=True)
class Source:
    kind: BatchSource
    file_name: str = ""
    file_sha256: str = ""
    encoding: str = ""
    idempotency_key: str | None = None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _batch(row: Any) -> Batch:
    m = dict(row._mapping)
    m["source"] = BatchSource(m["source"])
    m["status"] = BatchStatus(m["status"])
    return Batch(**{k: m[k] for k in Batch.__dataclass_fields__})


def _published(conn: Any, resource_id: str) -> ResourceVersion:
    res = catalog_queries.get_resource(conn, resource_id)
    if res.published_version_id is None or res.status is ResourceStatus.RETIRED:
        raise Conflict(
            "只能向已发布且未下线的资源汇聚数据",
            "data can be aggregated only into a published, live resource",
            code="ingest_not_published",
        )
    return catalog_queries.get_version(conn, res.published_version_id)


def require_provider(conn: Any, actor: Actor, version: ResourceVersion) -> None:
    """Only the provider department (its users or its client systems) loads a pool."""
    dept = identity_queries.get_department(conn, version.entry.provider_department_id)
    if actor.kind is ActorKind.CLIENT_SYSTEM:
        if actor.department_id != dept.id:
            raise Forbidden(
                "业务系统不属于该资源的提供部门",
                "the client system does not belong to the provider",
                code="ingest_not_provider",
            )
        return
    require(
        actor, Permission.LOAD_DATA, department_id=dept.id, jurisdiction_id=dept.jurisdiction_id
    )


def _existing(tx: Transaction, resource_id: str, source: Source) -> Batch | None:
    if source.idempotency_key:
        row = tx.conn.execute(
            select(ingest_batch).where(
                ingest_batch.c.resource_id == resource_id,
                ingest_batch.c.idempotency_key == source.idempotency_key,
            )
        ).first()
        if row is not None:
            return _batch(row)
    if source.file_sha256:
        row = tx.conn.execute(
            select(ingest_batch).where(
                ingest_batch.c.resource_id == resource_id,
                ingest_batch.c.file_sha256 == source.file_sha256,
                ingest_batch.c.status == BatchStatus.LOADED.value,
            )
        ).first()
        if row is not None:
            return _batch(row)
    return None


def ingest(
    db: Database,
    resource_id: str,
    rows: Iterable[tuple[int, RawRow]]
    | Records
    | Pipeline
    | Callable[[], Iterable[tuple[int, RawRow]]],
    *,
    actor: Actor,
    source: Source,
    deletes: list[str] | None = None,
    progress: Progress | None = None,
    keep_rejected: int = 1000,
    before_commit: Callable[[Transaction, Batch], None] | None = None,
) -> IngestResult:
    """Load a batch of rows into the resource's pool. One transaction for the whole batch.

    ``before_commit`` runs inside that transaction once the batch is written (a source
    connector advances its cursor there); if it raises, the whole batch rolls back."""
    started = utcnow()
    with db.transaction() as tx:
        version = _published(tx.conn, resource_id)
        require_provider(tx.conn, actor, version)
        if source.kind is BatchSource.UPLOAD:  # HB-16: offline exchange needs an approval
            agreements.require_offline_approval(tx.conn, resource_id)
        tx.serialize(zlib.crc32(resource_id.encode()))
        existing = _existing(tx, resource_id, source)
        if existing is not None:
            return IngestResult(existing, duplicate=True)
        pool, change = ensure_pool(tx, version)
        batch_id = new_id()
        tx.conn.execute(
            insert(ingest_batch).values(  # filled in below, same transaction
                id=batch_id,
                pool_id=pool.id,
                resource_id=resource_id,
                source=source.kind.value,
                status=BatchStatus.LOADED.value,
                actor_id=actor.id,
                actor_name=actor.name,
                department_id=version.entry.provider_department_id,
                started_at=started,
                finished_at=started,
                rows_total=0,
                rows_loaded=0,
                rows_rejected=0,
                rows_deleted=0,
                completeness=0.0,
                validity=0.0,
                uniqueness=0.0,
                quality_score=0.0,
            )
        )
        stream = rows() if callable(rows) else rows
        loader = Loader(
            tx,
            pool,
            batch_id,
            list(version.entry.data_items),
            progress,
            codes=stream.records.codes
            if isinstance(stream, Pipeline)
            else stream.codes
            if isinstance(stream, Records)
            else None,
        )
        loader.load(stream, keep_rejected)
        deleted = loader.delete(deletes or [])
        table = pool.table()
        if loader.was_empty:  # every row is the batch's: the live ones are those not deleted
            rows_in = tx.conn.execute(select(func.count()).select_from(table)).scalar_one()
            live = touched = int(rows_in) - deleted
        else:
            live, touched = tx.conn.execute(  # one pass over the pool for both counts
                select(
                    func.count(), func.count().filter(table.c._updated_batch_id == batch_id)
                ).where(table.c._deleted.is_(False))
            ).one()
        row_count, touched = int(live), int(touched)
        validity = loader.loaded / loader.total if loader.total else 1.0
        completeness = loader.filled / loader.cells if loader.cells else 0.0
        uniqueness = touched / loader.loaded if loader.loaded else 1.0
        score = quality_score(validity, completeness, uniqueness)
        status = (
            BatchStatus.LOADED
            if loader.loaded or deleted or not loader.total
            else (BatchStatus.REJECTED)
        )
        finished = utcnow()
        values = dict(
            id=batch_id,
            pool_id=pool.id,
            resource_id=resource_id,
            source=source.kind.value,
            status=status.value,
            file_name=source.file_name,
            file_sha256=source.file_sha256,
            encoding=source.encoding,
            idempotency_key=source.idempotency_key,
            actor_id=actor.id,
            actor_name=actor.name,
            department_id=version.entry.provider_department_id,
            started_at=started,
            finished_at=finished,
            rows_total=loader.total,
            rows_loaded=loader.loaded,
            rows_rejected=loader.rejected,
            rows_deleted=deleted,
            completeness=completeness,
            validity=validity,
            uniqueness=uniqueness,
            quality_score=score,
        )
        tx.conn.execute(update(ingest_batch).where(ingest_batch.c.id == batch_id).values(**values))
        tx.conn.execute(
            update(data_pool)
            .where(data_pool.c.id == pool.id)
            .values(
                last_seq=loader.seq,
                row_count=row_count,
                last_loaded_at=finished if loader.loaded or deleted else data_pool.c.last_loaded_at,
            )
        )
        crosscheck.check_after_load(tx, resource_id, batch_id)  # 多元校核 (SQ-15, HB-17)
        common = {"resource": version.code, "batch": batch_id, "source": source.kind.value}
        audit.record(
            tx,
            actor,
            AuditAction.COLLECT,
            "ingest_batch",
            batch_id,
            details={
                **common,
                "rows": loader.total,
                "file": source.file_name,
                "sha256": source.file_sha256,
                "encoding": source.encoding,
            },
        )
        if change != "existing":
            audit.record(
                tx,
                actor,
                AuditAction.TRANSFORM,
                "data_pool",
                pool.id,
                details={**common, "pool": pool.table_name, "change": change},
            )
        audit.record(
            tx,
            actor,
            AuditAction.CLEAN,
            "ingest_batch",
            batch_id,
            details={**common, "rejected": loader.rejected, "quarantined": loader.rejected},
        )
        audit.record(
            tx,
            actor,
            AuditAction.LOAD,
            "data_pool",
            pool.id,
            details={**common, "loaded": loader.loaded, "pool": pool.table_name, "quality": score},
        )
        if deleted:
            audit.record(
                tx,
                actor,
                AuditAction.DESTROY,
                "data_pool",
                pool.id,
                details={**common, "deleted": deleted},
            )
        batch = _batch(
            tx.conn.execute(select(ingest_batch).where(ingest_batch.c.id == batch_id)).one()
        )
        if before_commit is not None:
            before_commit(tx, batch)
    return IngestResult(batch, duplicate=False, rejected=loader.rejects)


def quality_score(validity: float, completeness: float, uniqueness: float) -> float:
    """0-100: 50% validity (rows that passed), 30% completeness (filled cells of loaded
    rows), 20% uniqueness of identifiers within the batch."""
    return round(100 * (0.5 * validity + 0.3 * completeness + 0.2 * uniqueness), 1)


def ingest_file(
    db: Database,
    resource_id: str,
    path: Path,
    *,
    actor: Actor,
    fmt: str | None = None,
    file_name: str | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Upload path: CSV (encoding detected), XLSX or JSON Lines, streamed. A large CSV
    bound for SQLite is checked in a checker process alongside the load (``pipeline``)."""
    fmt = (fmt or path.suffix).lower().lstrip(".")
    with db.read() as conn:
        version = _published(conn, resource_id)
        pool = active_pool(conn, resource_id)
    items = list(version.entry.data_items)
    reader = open_reader(path, fmt, items)
    rows: Records | Pipeline | Iterator[tuple[int, RawRow]] = reader.rows
    if reader.records is not None:
        rows = reader.records
        dialect = db.engine.dialect
        if dialect.name == "sqlite" and path.stat().st_size >= pipeline.MIN_BYTES:
            # the plan the loader will make, unless the pool changes first (then it checks
            # the file itself): the pool's columns, or those a new pool will have
            columns = pool.columns if pool is not None else columns_of(items)
            plan = CheckPlan.of(items, reader.records.codes, columns, dialect, date.today())
            rows = pipeline.start(path, plan, reader.records) or rows
    try:
        digest = file_sha256(path)
        src = Source(BatchSource.UPLOAD, file_name or path.name, digest, reader.encoding)
        return ingest(db, resource_id, rows, actor=actor, source=src, progress=progress)
    finally:
        if isinstance(rows, Pipeline):
            rows.close()
        close = getattr(reader.rows, "close", None)
        if close is not None:
            close()


def push_rows(
    db: Database,
    resource_id: str,
    upserts: list[dict[str, Any]],
    deletes: list[str],
    *,
    actor: Actor,
    idempotency_key: str | None,
) -> IngestResult:
    """API push from a client system: upserts keyed by item name or code, deletes by key."""
    with db.read() as conn:
        version = _published(conn, resource_id)
    by_key = {}
    from govshare.catalog.standards import normalise

    for item in version.entry.data_items:
        by_key[normalise(item.name)] = item.code
        by_key[normalise(item.code)] = item.code

    def rows() -> Iterator[tuple[int, RawRow]]:
        for n, obj in enumerate(upserts, start=1):
            out: RawRow = {}
            for k, v in obj.items():
                code = by_key.get(normalise(str(k)))
                if code is None:
                    raise ValidationFailed(
                        f"第{n}条记录的字段“{k}”不是该资源的信息项",
                        f"record {n}: '{k}' is not a data item",
                        field=f"upserts[{n}].{k}",
                    )
                out[code] = v
            yield n, out

    return ingest(
        db,
        resource_id,
        rows,
        actor=actor,
        deletes=deletes,
        source=Source(BatchSource.API, idempotency_key=idempotency_key),
    )
