"""The aggregation JSON API (/api/v1/pools): upload a file into a resource's data pool, push
rows from a client system, read batches (lineage), quarantined rows, quality and freshness.

Writes: the provider's staff (session + CSRF) or the provider's own client systems (bearer
token from ``POST /oauth/token``; HB-14: another department's system is refused). Reads: the
provider's catalog staff and the authority governing its jurisdiction (VIEW_POOLS).
Quarantined rows hold raw values, so only the provider downloads them.

Limits: an upload streams to a temporary file under ``var/uploads`` (never into memory) and
is refused past ``GOVSHARE_UPLOAD_MAX_BYTES``; a push carries at most 10,000 rows (upserts
plus deletes) and 32 MiB. A resource is named by its id or its resource code.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import Connection
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import Message

from govshare.aggregation import ingest, quarantine
from govshare.aggregation import queries as agg_queries
from govshare.aggregation.model import Batch, BatchSource, BatchStatus, IngestResult
from govshare.catalog import queries as catalog_queries
from govshare.catalog.model import Resource, ResourceStatus, UpdateCycle
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.identity.policy import Permission, can
from govshare.kernel.actor import Actor, ActorKind
from govshare.kernel.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from govshare.platform import Platform
from govshare.web.deps import PlatformDep, get_platform, policy
from govshare.web.routes.api import ERRORS

router = APIRouter(prefix="/api/v1/pools", tags=["aggregation"], responses=ERRORS)

LoadData = Annotated[Actor, policy(Permission.LOAD_DATA)]
ViewPools = Annotated[Actor, policy(Permission.VIEW_POOLS)]

PUSH_MAX_ROWS = 10_000
PUSH_MAX_BYTES = 32 * 1024 * 1024
FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the small fields
REJECTED_SAMPLE = 100  # rejected rows (reasons only) returned with a batch
FORMATS = ("csv", "xlsx", "jsonl", "ndjson")


class ContentTooLarge(DomainError):
    status = 413
    code = "content_too_large"


# Request bodies: streamed, limited -----------------------------------------------------
def body_limit(limit: Callable[[Platform], int]) -> Any:
    """A route dependency that refuses a request body larger than ``limit(platform)``
    bytes: at once by its Content-Length, else while it streams in. Declared in the route's
    ``dependencies`` so that it runs before the policy (which may read a form for CSRF)."""

    async def dependency(request: Request) -> None:
        max_bytes = limit(get_platform(request))
        too_large = ContentTooLarge(
            f"请求内容超过上限（{max_bytes} 字节）",
            f"the request body exceeds the limit of {max_bytes} bytes",
            extra={"limit_bytes": max_bytes},
        )
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise too_large
        receive = request._receive
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise too_large
            return message

        request._receive = limited

    return Depends(dependency)


UploadLimit = body_limit(lambda p: p.settings.upload_max_bytes + FORM_OVERHEAD)
PushLimit = body_limit(lambda _: PUSH_MAX_BYTES)


def uploads_dir(platform: Platform) -> Path:
    path = platform.settings.var_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _copy(src: IO[bytes], path: Path) -> None:
    src.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)


def _format_of(name: str, given: str) -> str:
    fmt = (given or Path(name).suffix).lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValidationFailed(
            "仅支持 CSV、XLSX、JSON Lines 文件",
            "only CSV, XLSX and JSON Lines files are accepted",
            code="ingest_file_rejected",
            field="file",
        )
    return fmt


async def receive_upload(
    request: Request, platform: Platform, fmt: str = ""
) -> tuple[Path, str, str]:
    """The multipart ``file`` field saved to a temporary file: (path, file name, format).
    Starlette spools the part to disk past 1 MiB; the body limit applies while it streams.
    The caller deletes the file."""
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed("请选择要上传的文件", "choose a file to upload", field="file")
        name = Path(upload.filename.replace("\\", "/")).name[:300]
        given = form.get("format")
        fmt = _format_of(name, fmt or (given if isinstance(given, str) else ""))
        if upload.size is not None and upload.size > platform.settings.upload_max_bytes:
            raise ContentTooLarge(
                "文件超过上传大小上限", "the file exceeds the upload size limit", field="file"
            )
        fd, tmp = tempfile.mkstemp(suffix=f".{fmt}", dir=uploads_dir(platform))
        os.close(fd)
        path = Path(tmp)
        try:
            await run_in_threadpool(_copy, upload.file, path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path, name, fmt
    finally:
        await form.close()


# Access --------------------------------------------------------------------------------
def resource_of(conn: Connection, ref: str) -> Resource:
    """A resource by its id or its resource code."""
    try:
        return catalog_queries.get_resource(conn, ref)
    except NotFound:
        found = catalog_queries.resource_by_code(conn, ref)
        if found is None:
            raise
        return found


def check_loader(conn: Connection, actor: Actor, res: Resource) -> None:
    """Refuse early (before reading a file) whoever may not load the resource's pool."""
    version = catalog_queries.published_version(conn, res.id)
    if version is None or res.status is ResourceStatus.RETIRED:
        raise Conflict(
            "只能向已发布且未下线的资源汇聚数据",
            "data can be aggregated only into a published, live resource",
            code="ingest_not_published",
        )
    ingest.require_provider(conn, actor, version)


def may_view(actor: Actor, dept: Department) -> bool:
    """The provider's catalog staff and the authority governing its jurisdiction."""
    return can(
        actor, Permission.VIEW_POOLS, department_id=dept.id, jurisdiction_id=dept.jurisdiction_id
    )


def require_view(conn: Connection, actor: Actor, department_id: str) -> Department:
    dept = identity_queries.get_department(conn, department_id)
    if not may_view(actor, dept):
        raise Forbidden(
            "只有提供部门及其数据主管部门可以查看数据池",
            "only the provider and its data authority see its pools",
            code="pool_not_visible",
        )
    return dept


# Response models -----------------------------------------------------------------------
class FieldErrorOut(BaseModel):
    field: str
    code: str
    message_zh: str
    message_en: str


class RejectedOut(BaseModel):
    row_no: int
    errors: list[FieldErrorOut]
    resolved: bool = False


class BatchOut(BaseModel):
    """One batch and its lineage: source, time, file, hash, encoding, actor, counts, quality."""

    id: str
    pool_id: str
    resource_id: str
    source: BatchSource
    status: BatchStatus
    file_name: str
    file_sha256: str
    encoding: str
    idempotency_key: str | None
    actor_id: str
    actor_name: str
    department_id: str
    started_at: datetime
    finished_at: datetime
    rows_total: int
    rows_loaded: int
    rows_rejected: int
    rows_deleted: int
    completeness: float
    validity: float
    uniqueness: float
    quality_score: float
    quarantine_url: str | None = None

    @classmethod
    def of(cls, b: Batch) -> BatchOut:
        values = {k: getattr(b, k) for k in Batch.__dataclass_fields__}
        url = f"/api/v1/pools/batches/{b.id}/quarantine.csv" if b.rows_rejected else None
        return cls(**values, quarantine_url=url)


class IngestOut(BatchOut):
    duplicate: bool = Field(description="the same file or idempotency key was loaded before")
    rejected: list[RejectedOut] = Field(description=f"the first {REJECTED_SAMPLE} rejected rows")

    @classmethod
    def of_result(cls, result: IngestResult) -> IngestOut:
        base = BatchOut.of(result.batch).model_dump()
        rejected = [
            RejectedOut(row_no=r.row_no, errors=[FieldErrorOut(**e.__dict__) for e in r.errors])
            for r in result.rejected[:REJECTED_SAMPLE]
        ]
        return cls(**base, duplicate=result.duplicate, rejected=rejected)


def _ingest_response(result: IngestResult, extra: dict[str, Any] | None = None) -> JSONResponse:
    body = IngestOut.of_result(result).model_dump(mode="json")
    return JSONResponse({**body, **(extra or {})}, status_code=200 if result.duplicate else 201)


class BatchDetailOut(BatchOut):
    unresolved: int
    rejected: list[RejectedOut]


class BatchPage(BaseModel):
    total: int
    items: list[BatchOut]


class FreshnessOut(BaseModel):
    update_cycle: UpdateCycle | None
    cycle_days: int | None
    enforced: bool
    last_loaded_at: datetime | None
    due_on: date | None
    overdue: bool = Field(description="未按时限更新 (NX-72, SQ-20, HB-17)")
    overdue_days: int


class PoolQualityOut(BaseModel):
    rows: int
    unresolved: int
    completeness: float
    validity: float
    uniqueness: float
    score: float


class ResourceQualityOut(BaseModel):
    resource_id: str
    code: str
    name: str
    department_id: str
    version_no: int
    pools: int
    rows: int
    batches: int
    rows_loaded: int
    rows_rejected: int
    unresolved: int
    quality: PoolQualityOut | None
    latest_batch: BatchOut | None
    freshness: FreshnessOut

    @classmethod
    def of(cls, p: agg_queries.ResourcePool) -> ResourceQualityOut:
        f = p.freshness
        return cls(
            resource_id=p.resource_id,
            code=p.code,
            name=p.name,
            department_id=p.department_id,
            version_no=p.version_no,
            pools=p.pools,
            rows=p.rows,
            batches=p.batches,
            rows_loaded=p.rows_loaded,
            rows_rejected=p.rows_rejected,
            unresolved=p.unresolved,
            quality=PoolQualityOut(**p.quality.__dict__) if p.quality is not None else None,
            latest_batch=BatchOut.of(p.latest_batch) if p.latest_batch is not None else None,
            freshness=FreshnessOut(
                update_cycle=f.update_cycle,
                cycle_days=f.cycle_days,
                enforced=f.enforced,
                last_loaded_at=f.last_loaded_at,
                due_on=f.due_on,
                overdue=f.overdue,
                overdue_days=f.overdue_days,
            ),
        )


class DepartmentQualityOut(BaseModel):
    """Quality indicators of one provider department (NX-31)."""

    department_id: str
    name: str
    resources: int
    with_data: int
    overdue: int
    rows: int
    rows_loaded: int
    rows_rejected: int
    unresolved: int
    batches: int
    quality_score: float | None
    completeness: float | None
    validity: float | None
    last_loaded_at: datetime | None
    pools: list[ResourceQualityOut]


class ResubmitOut(IngestOut):
    resolved: int = Field(description="rows of the original batch this file fixed")
    carried: int = Field(description="rows still wrong: now open under this batch")
    remaining: int = Field(description="rows of the original batch still open")


class PushBody(BaseModel):
    """Rows keyed by data item name (Chinese) or code; deletes by identifier value."""

    model_config = ConfigDict(extra="forbid")
    upserts: list[dict[str, str | int | float | bool | None]] = Field(
        default_factory=list, max_length=PUSH_MAX_ROWS
    )
    deletes: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=PUSH_MAX_ROWS
    )


# Writes --------------------------------------------------------------------------------
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "format": {"type": "string", "enum": list(FORMATS)},
                    },
                }
            }
        },
    }
}


@router.post(
    "/{resource_id}/upload",
    status_code=201,
    response_model=IngestOut,
    dependencies=[UploadLimit],
    openapi_extra=UPLOAD_BODY,
)
async def upload(
    request: Request,
    platform: PlatformDep,
    actor: LoadData,
    resource_id: str,
    fmt: Annotated[str, Query(alias="format", max_length=10)] = "",
) -> JSONResponse:
    """Upload a CSV (UTF-8, UTF-8 with BOM, GBK or GB18030), XLSX or JSON Lines file into
    the resource's pool (NX-29 manual upload). 201 with the batch; 200 with
    ``duplicate: true`` when the same file was loaded before; 422 when the file as a whole
    is unreadable (encoding, headers, format)."""
    with platform.db.read() as conn:
        res = resource_of(conn, resource_id)
        check_loader(conn, actor, res)
    path, name, fmt = await receive_upload(request, platform, fmt)
    try:
        result = await run_in_threadpool(
            ingest.ingest_file, platform.db, res.id, path, actor=actor, fmt=fmt, file_name=name
        )
    finally:
        path.unlink(missing_ok=True)
    return _ingest_response(result)


PUSH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": PushBody.model_json_schema()}},
    }
}


async def _push_body(request: Request) -> PushBody:
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ValidationFailed("请求体不是有效的 JSON", "the body is not valid JSON") from exc
    try:
        body = PushBody.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc
    if len(body.upserts) + len(body.deletes) > PUSH_MAX_ROWS:
        raise ContentTooLarge(
            f"每次推送最多 {PUSH_MAX_ROWS} 条记录（新增/更新与删除合计）",
            f"a push carries at most {PUSH_MAX_ROWS} rows (upserts and deletes together)",
            field="upserts",
        )
    return body


@router.post(
    "/{resource_id}/rows",
    status_code=201,
    response_model=IngestOut,
    dependencies=[PushLimit],
    openapi_extra=PUSH_BODY,
)
async def push(
    request: Request,
    platform: PlatformDep,
    actor: LoadData,
    resource_id: str,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> JSONResponse:
    """Real-time push from the provider's business system (NX-29, YX-22): upserts keyed by
    the resource's identifier, and deletes by identifier value, in one atomic batch. Client
    systems must send an ``Idempotency-Key`` header; a repeated key returns the first
    batch with ``duplicate: true`` and changes nothing."""
    if actor.kind is ActorKind.CLIENT_SYSTEM and not idempotency_key:
        raise ValidationFailed(
            "业务系统推送数据须提供 Idempotency-Key 请求头",
            "a client system's push needs an Idempotency-Key header",
            code="idempotency_key_required",
            field="Idempotency-Key",
        )
    with platform.db.read() as conn:
        res = resource_of(conn, resource_id)
        check_loader(conn, actor, res)
    body = await _push_body(request)
    result = await run_in_threadpool(
        ingest.push_rows,
        platform.db,
        res.id,
        [dict(u) for u in body.upserts],
        list(body.deletes),
        actor=actor,
        idempotency_key=idempotency_key,
    )
    return _ingest_response(result)


@router.post(
    "/batches/{batch_id}/resubmit",
    status_code=201,
    response_model=ResubmitOut,
    dependencies=[UploadLimit],
    openapi_extra=UPLOAD_BODY,
)
async def resubmit(
    request: Request,
    platform: PlatformDep,
    actor: LoadData,
    batch_id: str,
    fmt: Annotated[str, Query(alias="format", max_length=10)] = "",
) -> JSONResponse:
    """Upload the corrected quarantine file of a batch: a normal ingest, after which the
    batch's quarantined rows that it fixed are marked resolved."""
    with platform.db.read() as conn:
        batch = agg_queries.get_batch(conn, batch_id)
        check_loader(conn, actor, catalog_queries.get_resource(conn, batch.resource_id))
    path, name, fmt = await receive_upload(request, platform, fmt)
    try:
        done = await run_in_threadpool(
            quarantine.resubmit, platform.db, batch_id, path, actor=actor, fmt=fmt, file_name=name
        )
    finally:
        path.unlink(missing_ok=True)
    return _ingest_response(
        done.result,
        {"resolved": done.resolved, "carried": done.carried, "remaining": done.remaining},
    )


# Reads ---------------------------------------------------------------------------------
@router.get("/{resource_id}/batches", response_model=BatchPage)
def batches(
    platform: PlatformDep,
    actor: ViewPools,
    resource_id: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> BatchPage:
    """The resource's batches, newest first, with their lineage."""
    with platform.db.read() as conn:
        res = resource_of(conn, resource_id)
        require_view(conn, actor, res.provider_department_id)
        items = agg_queries.list_batches(conn, res.id, limit=limit, offset=offset)
        total = agg_queries.count_batches(conn, res.id)
    return BatchPage(total=total, items=[BatchOut.of(b) for b in items])


@router.get("/{resource_id}/quality", response_model=ResourceQualityOut)
def resource_quality(platform: PlatformDep, actor: ViewPools, resource_id: str) -> Any:
    """Quality of the resource's pool and of its latest batch, and its freshness against
    the update cycle (overdue = 未按时限更新)."""
    with platform.db.read() as conn:
        res = resource_of(conn, resource_id)
        require_view(conn, actor, res.provider_department_id)
        pool = agg_queries.resource_pool(conn, res.id, profiles=platform.profiles)
    return ResourceQualityOut.of(pool)


@router.get("/batches/{batch_id}", response_model=BatchDetailOut)
def batch(platform: PlatformDep, actor: ViewPools, batch_id: str) -> BatchDetailOut:
    """One batch: lineage, counts, quality and the reasons of its first rejected rows."""
    with platform.db.read() as conn:
        b = agg_queries.get_batch(conn, batch_id)
        require_view(conn, actor, b.department_id)
        rows = list(agg_queries.quarantine_rows(conn, b.id, limit=REJECTED_SAMPLE))
        unresolved = agg_queries.unresolved_count(conn, b.id)
    rejected = [
        RejectedOut(
            row_no=r.row_no,
            errors=[FieldErrorOut(**e.__dict__) for e in r.errors],
            resolved=r.resolved,
        )
        for r in rows
    ]
    return BatchDetailOut(**BatchOut.of(b).model_dump(), unresolved=unresolved, rejected=rejected)


def quarantine_file(platform: Platform, batch_id: str, actor: Actor) -> tuple[Path, str]:
    """Write the batch's quarantine CSV to a temporary file: (path, download name)."""
    fd, tmp = tempfile.mkstemp(suffix=".csv", dir=uploads_dir(platform))
    path = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            quarantine.export_csv(platform.db, batch_id, out, actor=actor)
        with platform.db.read() as conn:
            code = catalog_queries.get_resource(
                conn, agg_queries.get_batch(conn, batch_id).resource_id
            ).code
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, f"quarantine-{code}-{batch_id}.csv"


@router.get(
    "/batches/{batch_id}/quarantine.csv",
    response_class=FileResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def quarantine_csv(platform: PlatformDep, actor: ViewPools, batch_id: str) -> FileResponse:
    """The batch's unresolved rejected rows as CSV (UTF-8 with BOM): the original columns
    and 错误原因, formula-like cells neutralised. The provider only; audited."""
    path, name = await run_in_threadpool(quarantine_file, platform, batch_id, actor)
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        filename=name,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get("/departments/{department_id}/quality", response_model=DepartmentQualityOut)
def department_quality(
    platform: PlatformDep, actor: ViewPools, department_id: str
) -> DepartmentQualityOut:
    """Quality indicators of a provider department (NX-31): mean quality score, validity
    and completeness of its pools, resources overdue, rows loaded and rejected."""
    with platform.db.read() as conn:
        dept = require_view(conn, actor, department_id)
        page = agg_queries.provider_page(conn, dept.id, profiles=platform.profiles)
    q = page.quality
    return DepartmentQualityOut(
        department_id=q.department_id,
        name=q.name,
        resources=q.resources,
        with_data=q.with_data,
        overdue=q.overdue,
        rows=q.rows,
        rows_loaded=q.rows_loaded,
        rows_rejected=q.rows_rejected,
        unresolved=q.unresolved,
        batches=q.batches,
        quality_score=q.quality_score,
        completeness=q.completeness,
        validity=q.validity,
        last_loaded_at=q.last_loaded_at,
        pools=[ResourceQualityOut.of(p) for p in page.pools],
    )
