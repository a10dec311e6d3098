"""Read side of aggregation: pools, batches (lineage), quarantine rows, quality and freshness
per resource, quality indicators per department (NX-31) and the provider's page data.

Quality of a resource (its data pool, all generations' live rows in the active pool):
- completeness: filled cells / (live rows x data items of the published version);
- validity: live rows / (live rows + quarantined rows not yet resolved), i.e. the share of
  what the provider sent that is valid and on the platform;
- uniqueness: distinct identifier values / live rows (1.0 when the resource has no key);
- score: ``ingest.quality_score`` (50% validity, 30% completeness, 20% uniqueness).

Freshness (NX-72, SQ-20, HB-17): a resource is overdue (未按时限更新) when, in Asia/Shanghai
dates, today is later than the date of its last successful load plus the days its update
cycle allows (``catalog.model.UPDATE_CYCLE_DAYS``). A resource never loaded counts from its
first publication. Irregular (不定期) or unset cycles are never overdue, and neither is a
resource whose jurisdiction's rule profile does not enforce update cycles
(``catalog.update_cycle_enforced``: false for Yixing and Shuozhou). Any loaded batch counts as
a load, an empty one too: a provider may confirm "no changes today" with an empty push.

Department indicators (NX-31) are the means of its resources holding data (quality score,
completeness, validity), the count of overdue resources and the row counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select

from govshare.aggregation.agreements import agreed_cycle_days
from govshare.aggregation.ingest import quality_score
from govshare.aggregation.model import Batch, BatchSource, BatchStatus, FieldError
from govshare.aggregation.pools import Pool, pools_of
from govshare.aggregation.tables import data_pool, ingest_batch, quarantine_row
from govshare.catalog import queries as catalog_queries
from govshare.catalog.model import UPDATE_CYCLE_DAYS, ResourceStatus, UpdateCycle
from govshare.catalog.tables import data_item, resource, resource_version
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import NotFound
from govshare.rules import RuleProfile

LIVE_STATUSES = (ResourceStatus.PUBLISHED.value, ResourceStatus.RETIRING.value)


# Batches ------------------------------------------------------------------------------
def batch_from_row(row: Any) -> Batch:
    m = dict(row._mapping)
    m["source"] = BatchSource(m["source"])
    m["status"] = BatchStatus(m["status"])
    return Batch(**{k: m[k] for k in Batch.__dataclass_fields__})


def get_batch(conn: Connection, batch_id: str) -> Batch:
    row = conn.execute(select(ingest_batch).where(ingest_batch.c.id == batch_id)).first()
    if row is None:
        raise NotFound("批次不存在", "no such batch")
    return batch_from_row(row)


def list_batches(
    conn: Connection, resource_id: str, *, limit: int = 50, offset: int = 0
) -> list[Batch]:
    """The resource's batches, newest first: lineage (source, time, file, hash, encoding,
    actor, counts, quality)."""
    rows = conn.execute(
        select(ingest_batch)
        .where(ingest_batch.c.resource_id == resource_id)
        .order_by(ingest_batch.c.started_at.desc(), ingest_batch.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [batch_from_row(r) for r in rows]


def count_batches(conn: Connection, resource_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(ingest_batch)
            .where(ingest_batch.c.resource_id == resource_id)
        ).scalar_one()
    )


# Quarantine ---------------------------------------------------------------------------
@dataclass(frozen=True)
class QuarantineRow:
    batch_id: str
    row_no: int
    values: dict[str, str | None]  # item code -> the raw text as received
    errors: tuple[FieldError, ...]
    resolved: bool


def _quarantine(row: Any) -> QuarantineRow:
    m = row._mapping  # "values" would read like a method name on a Row
    return QuarantineRow(
        batch_id=m["batch_id"],
        row_no=m["row_no"],
        values=json.loads(m["values"]),
        errors=tuple(FieldError(**e) for e in json.loads(m["errors"])),
        resolved=bool(m["resolved"]),
    )


def quarantine_rows(
    conn: Connection, batch_id: str, *, unresolved_only: bool = False, limit: int | None = None
) -> Iterator[QuarantineRow]:
    """The batch's rejected rows in row order, streamed (a batch may hold millions)."""
    q = (
        select(quarantine_row)
        .where(quarantine_row.c.batch_id == batch_id)
        .order_by(quarantine_row.c.row_no)
    )
    if unresolved_only:
        q = q.where(quarantine_row.c.resolved.is_(False))
    if limit is not None:
        q = q.limit(limit)
    for row in conn.execute(q.execution_options(yield_per=1000)):
        yield _quarantine(row)


def unresolved_count(conn: Connection, batch_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(quarantine_row)
            .where(quarantine_row.c.batch_id == batch_id, quarantine_row.c.resolved.is_(False))
        ).scalar_one()
    )


# Freshness ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Freshness:
    update_cycle: UpdateCycle | None
    cycle_days: int | None  # None: irregular or unset, never overdue
    enforced: bool  # the jurisdiction's profile checks update cycles
    last_loaded_at: datetime | None
    reference_at: datetime | None  # the last load, else the first publication
    due_on: date | None  # the last local date still on time
    overdue: bool  # 未按时限更新
    overdue_days: int


def freshness(
    update_cycle: UpdateCycle | None,
    last_loaded_at: datetime | None,
    first_published_at: datetime | None,
    *,
    now: datetime,
    enforced: bool = True,
    agreed_days: int | None = None,
) -> Freshness:
    """``agreed_days``: the update cycle the provider and the authority agreed and filed
    (SQ-20, NX-29); it replaces the catalog's cycle when present."""
    days = UPDATE_CYCLE_DAYS.get(update_cycle) if update_cycle is not None else None
    if agreed_days is not None:
        days = agreed_days
    reference = last_loaded_at or first_published_at
    due_on = local_date(reference) + timedelta(days=days) if days and reference else None
    late = (local_date(now) - due_on).days if due_on is not None else 0
    overdue = enforced and due_on is not None and late > 0
    return Freshness(
        update_cycle=update_cycle,
        cycle_days=days,
        enforced=enforced,
        last_loaded_at=last_loaded_at,
        reference_at=reference,
        due_on=due_on,
        overdue=overdue,
        overdue_days=late if overdue else 0,
    )


def cycle_enforced(
    conn: Connection,
    profiles: Mapping[str, RuleProfile] | None,
    department: Department,
    _cache: dict[str, bool] | None = None,
) -> bool:
    """Does the provider's jurisdiction check update cycles (NX-72, SQ-20, HB-17)?"""
    if not profiles:
        return True
    if _cache is not None and department.jurisdiction_id in _cache:
        return _cache[department.jurisdiction_id]
    j = identity_queries.get_jurisdiction(conn, department.jurisdiction_id)
    profile = profiles.get(j.profile) or profiles.get("default")
    enforced = True if profile is None else profile.catalog.update_cycle_enforced
    if _cache is not None:
        _cache[department.jurisdiction_id] = enforced
    return enforced


# Quality ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolQuality:
    rows: int  # live rows in the active pool
    unresolved: int  # quarantined rows not yet resolved
    completeness: float
    validity: float
    uniqueness: float
    score: float


def pool_quality(
    conn: Connection, pool: Pool, item_codes: list[str], unresolved: int
) -> PoolQuality:
    """Quality of the pool's live rows over the published version's data items."""
    table = pool.table()
    codes = [c for c in item_codes if c in table.c]
    cols: list[Any] = [func.count().label("n")]
    cols += [func.count(table.c[c]).label(f"f{i}") for i, c in enumerate(codes)]
    if len(pool.key_columns) == 1:
        cols.append(func.count(table.c[pool.key_columns[0]].distinct()).label("keys"))
    row = conn.execute(select(*cols).where(table.c._deleted.is_(False))).one()
    m = row._mapping
    rows = int(m["n"])
    filled = sum(int(m[f"f{i}"]) for i in range(len(codes)))
    cells = rows * len(item_codes)
    completeness = filled / cells if cells else 0.0
    validity = rows / (rows + unresolved) if rows + unresolved else 1.0
    uniqueness = int(m["keys"]) / rows if rows and "keys" in m else 1.0
    return PoolQuality(
        rows=rows,
        unresolved=unresolved,
        completeness=completeness,
        validity=validity,
        uniqueness=uniqueness,
        score=quality_score(validity, completeness, uniqueness),
    )


@dataclass(frozen=True)
class ResourcePool:
    """One published resource of a provider, with its pool's state (the pages' row)."""

    resource_id: str
    code: str
    name: str
    department_id: str
    version_no: int
    update_cycle: UpdateCycle | None
    status: ResourceStatus
    pools: int  # pool generations
    rows: int  # live rows in the active pool
    batches: int
    rows_loaded: int  # over all batches
    rows_rejected: int
    unresolved: int
    last_loaded_at: datetime | None
    quality: PoolQuality | None  # None until data arrives
    latest_batch: Batch | None
    freshness: Freshness

    @property
    def has_data(self) -> bool:
        return self.batches > 0


def _published_resources(conn: Connection, *conds: Any) -> list[Any]:
    return list(
        conn.execute(
            select(
                resource.c.id,
                resource.c.code,
                resource.c.status,
                resource.c.provider_department_id,
                resource_version.c.id.label("version_id"),
                resource_version.c.name,
                resource_version.c.version_no,
                resource_version.c.update_cycle,
            )
            .join(resource_version, resource_version.c.id == resource.c.published_version_id)
            .where(resource.c.status.in_(LIVE_STATUSES), *conds)
            .order_by(resource.c.code)
        ).all()
    )


def resource_pools(
    conn: Connection,
    *,
    department_ids: set[str] | None = None,
    resource_ids: set[str] | None = None,
    profiles: Mapping[str, RuleProfile] | None = None,
    now: datetime | None = None,
) -> list[ResourcePool]:
    """Published resources (of ``department_ids`` / ``resource_ids``) with their pools'
    counts, last load, quality and freshness. Set-based: a few queries, plus one scan per
    pool holding data for its completeness."""
    now = now or utcnow()
    conds: list[Any] = []
    if department_ids is not None:
        conds.append(resource.c.provider_department_id.in_(sorted(department_ids)))
    if resource_ids is not None:
        conds.append(resource.c.id.in_(sorted(resource_ids)))
    res = _published_resources(conn, *conds)
    if not res:
        return []
    ids = [r.id for r in res]
    first_published: dict[str, datetime] = dict(
        conn.execute(
            select(resource_version.c.resource_id, func.min(resource_version.c.published_at))
            .where(
                resource_version.c.resource_id.in_(ids),
                resource_version.c.published_at.is_not(None),
            )
            .group_by(resource_version.c.resource_id)
        ).all()
    )
    stats = {
        r.resource_id: r
        for r in conn.execute(
            select(
                ingest_batch.c.resource_id,
                func.count().label("batches"),
                func.coalesce(func.sum(ingest_batch.c.rows_loaded), 0).label("loaded"),
                func.coalesce(func.sum(ingest_batch.c.rows_rejected), 0).label("rejected"),
                func.max(ingest_batch.c.finished_at)
                .filter(ingest_batch.c.status == BatchStatus.LOADED.value)
                .label("last_loaded"),
                func.max(ingest_batch.c.started_at).label("last_started"),
            )
            .where(ingest_batch.c.resource_id.in_(ids))
            .group_by(ingest_batch.c.resource_id)
        ).all()
    }
    unresolved: dict[str, int] = dict(
        conn.execute(
            select(ingest_batch.c.resource_id, func.count())
            .select_from(
                quarantine_row.join(ingest_batch, ingest_batch.c.id == quarantine_row.c.batch_id)
            )
            .where(ingest_batch.c.resource_id.in_(ids), quarantine_row.c.resolved.is_(False))
            .group_by(ingest_batch.c.resource_id)
        ).all()
    )
    latest: dict[str, Batch] = {}
    with_batches = [i for i in ids if i in stats]
    if with_batches:
        newest = (
            select(
                ingest_batch.c.resource_id,
                func.max(ingest_batch.c.started_at).label("at"),
            )
            .where(ingest_batch.c.resource_id.in_(with_batches))
            .group_by(ingest_batch.c.resource_id)
            .subquery()
        )
        for row in conn.execute(
            select(ingest_batch)
            .join(
                newest,
                and_(
                    newest.c.resource_id == ingest_batch.c.resource_id,
                    newest.c.at == ingest_batch.c.started_at,
                ),
            )
            .order_by(ingest_batch.c.id)
        ).all():
            latest[row.resource_id] = batch_from_row(row)
    pool_rows = conn.execute(select(data_pool).where(data_pool.c.resource_id.in_(ids))).all()
    generations: dict[str, int] = {}
    for p in pool_rows:
        generations[p.resource_id] = generations.get(p.resource_id, 0) + 1
    active: dict[str, Pool] = {}
    for rid in sorted(generations):
        for candidate in pools_of(conn, rid):
            if candidate.active:
                active[rid] = candidate
    item_codes: dict[str, list[str]] = {}
    for vid, code in conn.execute(
        select(data_item.c.version_id, data_item.c.code)
        .where(data_item.c.version_id.in_([r.version_id for r in res]))
        .order_by(data_item.c.version_id, data_item.c.position)
    ):
        item_codes.setdefault(vid, []).append(code)
    departments: dict[str, Department] = {}
    enforced_cache: dict[str, bool] = {}
    out: list[ResourcePool] = []
    for r in res:
        dept = departments.get(r.provider_department_id)
        if dept is None:
            dept = identity_queries.get_department(conn, r.provider_department_id)
            departments[dept.id] = dept
        s = stats.get(r.id)
        unres = int(unresolved.get(r.id, 0))
        pool = active.get(r.id)
        quality = (
            pool_quality(conn, pool, item_codes.get(r.version_id, []), unres)
            if pool is not None and s is not None
            else None
        )
        cycle = UpdateCycle(r.update_cycle) if r.update_cycle else None
        last_loaded = s.last_loaded if s is not None else None
        out.append(
            ResourcePool(
                resource_id=r.id,
                code=r.code,
                name=r.name,
                department_id=r.provider_department_id,
                version_no=r.version_no,
                update_cycle=cycle,
                status=ResourceStatus(r.status),
                pools=generations.get(r.id, 0),
                rows=quality.rows if quality is not None else 0,
                batches=int(s.batches) if s is not None else 0,
                rows_loaded=int(s.loaded) if s is not None else 0,
                rows_rejected=int(s.rejected) if s is not None else 0,
                unresolved=unres,
                last_loaded_at=last_loaded,
                quality=quality,
                latest_batch=latest.get(r.id),
                freshness=freshness(
                    cycle,
                    last_loaded,
                    first_published.get(r.id),
                    now=now,
                    enforced=cycle_enforced(conn, profiles, dept, enforced_cache),
                    agreed_days=agreed_cycle_days(conn, r.id),
                ),
            )
        )
    return out


def resource_pool(
    conn: Connection,
    resource_id: str,
    *,
    profiles: Mapping[str, RuleProfile] | None = None,
    now: datetime | None = None,
) -> ResourcePool:
    """One published resource's pool state; NotFound when it is not published (or retired)."""
    found = resource_pools(conn, resource_ids={resource_id}, profiles=profiles, now=now)
    if not found:
        catalog_queries.get_resource(conn, resource_id)  # NotFound for an unknown id
        raise NotFound(
            "该资源未发布或已下线，没有数据池", "the resource is not published: it has no pool"
        )
    return found[0]


# Departments (NX-31) ------------------------------------------------------------------
@dataclass(frozen=True)
class DepartmentQuality:
    department_id: str
    name: str
    short_name: str
    jurisdiction_id: str
    resources: int  # published resources
    with_data: int  # resources that received at least one batch
    overdue: int  # resources not updated on time (未按时限更新)
    rows: int  # live rows in its pools
    rows_loaded: int
    rows_rejected: int
    unresolved: int
    batches: int
    quality_score: float | None  # means over the resources holding data
    completeness: float | None
    validity: float | None
    last_loaded_at: datetime | None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarise(department: Department, pools: list[ResourcePool]) -> DepartmentQuality:
    mine = [p for p in pools if p.department_id == department.id]
    rated = [p.quality for p in mine if p.quality is not None]
    loads = [p.last_loaded_at for p in mine if p.last_loaded_at is not None]
    return DepartmentQuality(
        department_id=department.id,
        name=department.name,
        short_name=department.short_name,
        jurisdiction_id=department.jurisdiction_id,
        resources=len(mine),
        with_data=sum(1 for p in mine if p.has_data),
        overdue=sum(1 for p in mine if p.freshness.overdue),
        rows=sum(p.rows for p in mine),
        rows_loaded=sum(p.rows_loaded for p in mine),
        rows_rejected=sum(p.rows_rejected for p in mine),
        unresolved=sum(p.unresolved for p in mine),
        batches=sum(p.batches for p in mine),
        quality_score=_mean([q.score for q in rated]),
        completeness=_mean([q.completeness for q in rated]),
        validity=_mean([q.validity for q in rated]),
        last_loaded_at=max(loads) if loads else None,
    )


@dataclass(frozen=True)
class ProviderPage:
    department: Department
    quality: DepartmentQuality
    pools: list[ResourcePool]


def provider_page(
    conn: Connection,
    department_id: str,
    *,
    profiles: Mapping[str, RuleProfile] | None = None,
    now: datetime | None = None,
) -> ProviderPage:
    """A provider's published resources with pools, last load, freshness and quality."""
    dept = identity_queries.get_department(conn, department_id)
    pools = resource_pools(conn, department_ids={dept.id}, profiles=profiles, now=now)
    return ProviderPage(dept, summarise(dept, pools), pools)


def department_quality(
    conn: Connection,
    department_id: str,
    *,
    profiles: Mapping[str, RuleProfile] | None = None,
    now: datetime | None = None,
) -> DepartmentQuality:
    return provider_page(conn, department_id, profiles=profiles, now=now).quality


@dataclass(frozen=True)
class Overview:
    departments: list[DepartmentQuality]  # providers with published resources
    overdue: list[ResourcePool]  # every overdue resource, longest overdue first


def overview(
    conn: Connection,
    jurisdiction_ids: set[str],
    *,
    profiles: Mapping[str, RuleProfile] | None = None,
    now: datetime | None = None,
) -> Overview:
    """The authority's view of every provider in its jurisdictions (NX-31, NX-72)."""
    depts = [
        d
        for d in identity_queries.list_departments(conn, jurisdiction_ids=jurisdiction_ids)
        if not d.is_operator
    ]
    pools = resource_pools(conn, department_ids={d.id for d in depts}, profiles=profiles, now=now)
    by_dept = {p.department_id for p in pools}
    rows = [summarise(d, pools) for d in depts if d.id in by_dept]
    rows.sort(key=lambda q: (-q.overdue, q.quality_score if q.quality_score is not None else 101))
    late = sorted(
        (p for p in pools if p.freshness.overdue), key=lambda p: -p.freshness.overdue_days
    )
    return Overview(rows, late)
