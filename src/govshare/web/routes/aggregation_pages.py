"""Aggregation pages (/pools): the provider's page (its published resources with pool rows,
last load, freshness and quality), a resource's pool page (batches with their lineage, the
upload form, quarantine downloads), a batch's page (counts, quality, the reasons of rejected
rows, resubmission) and the authority's overview of every provider in its jurisdictions
(NX-31 quality indicators, NX-72 overdue flags).

Handlers stay thin: parse, call one query or service, render. The provider's staff and the
authority governing its jurisdiction see the pages (VIEW_POOLS); only the provider loads data
and downloads quarantined rows (they hold raw values).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from govshare.aggregation import ingest, quarantine
from govshare.aggregation import queries as agg_queries
from govshare.aggregation.pools import pools_of
from govshare.catalog import queries as catalog_queries
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.identity.policy import Permission, can
from govshare.kernel.actor import Actor, Role
from govshare.kernel.errors import DomainError, Forbidden
from govshare.platform import Platform
from govshare.web.deps import PlatformDep, flash, locale_of, policy, render
from govshare.web.routes.aggregation_api import (
    FORMATS,
    UploadLimit,
    check_loader,
    receive_upload,
    require_view,
    resource_of,
)

router = APIRouter(prefix="/pools", include_in_schema=False)

ViewPools = Annotated[Actor, policy(Permission.VIEW_POOLS)]
LoadData = Annotated[Actor, policy(Permission.LOAD_DATA)]
Govern = Annotated[Actor, policy(Permission.GOVERN_AGGREGATION)]  # the data authority

PAGE = 50
STAFF_ROLES = (Role.CATALOGUER, Role.DEPT_ADMIN)


def _msg(request: Request, zh: str, en: str) -> str:
    return en if locale_of(request) == "en" else zh


def _may_load(actor: Actor, dept: Department) -> bool:
    return can(
        actor, Permission.LOAD_DATA, department_id=dept.id, jurisdiction_id=dept.jurisdiction_id
    )


def _governs(actor: Actor) -> bool:
    return actor.has_role(Role.AUTHORITY_ADMIN) and bool(actor.governs)


def _staff_departments(actor: Actor) -> list[str]:
    return sorted({d for d, r in actor.roles if r in STAFF_ROLES})


@router.get("")
def home(platform: PlatformDep, actor: ViewPools) -> Response:
    """The provider's own page; the authority's overview for the authority."""
    own = _staff_departments(actor)
    if own:
        return RedirectResponse(f"/pools/departments/{own[0]}", status_code=303)
    if _governs(actor):
        return RedirectResponse("/pools/overview", status_code=303)
    raise Forbidden("没有可查看的数据池", "there are no pools for you to see")


@router.get("/departments/{department_id}")
def provider(
    request: Request, platform: PlatformDep, actor: ViewPools, department_id: str
) -> HTMLResponse:
    with platform.db.read() as conn:
        dept = require_view(conn, actor, department_id)
        page = agg_queries.provider_page(conn, dept.id, profiles=platform.profiles)
        own = [identity_queries.get_department(conn, d) for d in _staff_departments(actor)]
    return render(
        request,
        "aggregation/provider.html",
        {
            "page": page,
            "own": own,
            "may_load": _may_load(actor, dept),
            "governs": _governs(actor),
        },
    )


@router.get("/overview")
def overview(request: Request, platform: PlatformDep, actor: Govern) -> HTMLResponse:
    """The authority's overview (its policy says so, so that the matrix can tell)."""
    with platform.db.read() as conn:
        view = agg_queries.overview(conn, set(actor.governs), profiles=platform.profiles)
        depts = {d.id: d for d in identity_queries.list_departments(conn)}
        jurisdictions = {j.id: j for j in identity_queries.list_jurisdictions(conn)}
    return render(
        request,
        "aggregation/overview.html",
        {"view": view, "departments": depts, "jurisdictions": jurisdictions},
    )


def _resource_context(
    platform: Platform, actor: Actor, resource_id: str, offset: int = 0
) -> dict[str, Any]:
    with platform.db.read() as conn:
        res = resource_of(conn, resource_id)
        dept = require_view(conn, actor, res.provider_department_id)
        pool = agg_queries.resource_pool(conn, res.id, profiles=platform.profiles)
        batches = agg_queries.list_batches(conn, res.id, limit=PAGE, offset=offset)
        total = agg_queries.count_batches(conn, res.id)
        pools = pools_of(conn, res.id)
    return {
        "pool": pool,
        "department": dept,
        "batches": batches,
        "total": total,
        "offset": offset,
        "page_size": PAGE,
        "generations": pools,
        "may_load": _may_load(actor, dept),
        "formats": FORMATS,
    }


@router.get("/resources/{resource_id}")
def resource(
    request: Request,
    platform: PlatformDep,
    actor: ViewPools,
    resource_id: str,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    context = _resource_context(platform, actor, resource_id, offset)
    return render(request, "aggregation/resource.html", context)


@router.post("/resources/{resource_id}/upload", dependencies=[UploadLimit])
async def upload(
    request: Request, platform: PlatformDep, actor: LoadData, resource_id: str
) -> Response:
    """The upload form (CSV, XLSX, JSON Lines): a batch, then the batch's page."""
    with platform.db.read() as conn:
        res = resource_of(conn, resource_id)
        check_loader(conn, actor, res)
    try:
        path, name, fmt = await receive_upload(request, platform)
        try:
            result = await run_in_threadpool(
                ingest.ingest_file, platform.db, res.id, path, actor=actor, fmt=fmt, file_name=name
            )
        finally:
            path.unlink(missing_ok=True)
    except DomainError as exc:
        context = await run_in_threadpool(_resource_context, platform, actor, res.id)
        context["error"] = exc.message(locale_of(request))
        return render(request, "aggregation/resource.html", context, status=exc.status)
    b = result.batch
    if result.duplicate:
        flash(
            request,
            _msg(
                request,
                "该文件此前已加载过，未重复加载",
                "this file was loaded before: nothing was loaded again",
            ),
            "warning",
        )
    else:
        flash(
            request,
            _msg(
                request,
                f"已加载 {b.rows_loaded} 行，拒绝 {b.rows_rejected} 行",
                f"loaded {b.rows_loaded} rows, rejected {b.rows_rejected}",
            ),
            "success" if not b.rows_rejected else "warning",
        )
    return RedirectResponse(f"/pools/batches/{b.id}", status_code=303)


def _batch_context(platform: Platform, actor: Actor, batch_id: str) -> dict[str, Any]:
    with platform.db.read() as conn:
        b = agg_queries.get_batch(conn, batch_id)
        dept = require_view(conn, actor, b.department_id)
        res = catalog_queries.get_resource(conn, b.resource_id)
        version = catalog_queries.published_version(conn, res.id)
        rows = list(agg_queries.quarantine_rows(conn, b.id, limit=200))
        unresolved = agg_queries.unresolved_count(conn, b.id)
    return {
        "batch": b,
        "resource": res,
        "name": version.entry.name if version is not None else res.code,
        "department": dept,
        "rows": rows,
        "unresolved": unresolved,
        "may_load": _may_load(actor, dept),
        "formats": FORMATS,
    }


@router.get("/batches/{batch_id}")
def batch(request: Request, platform: PlatformDep, actor: ViewPools, batch_id: str) -> HTMLResponse:
    return render(request, "aggregation/batch.html", _batch_context(platform, actor, batch_id))


@router.post("/batches/{batch_id}/resubmit", dependencies=[UploadLimit])
async def resubmit(
    request: Request, platform: PlatformDep, actor: LoadData, batch_id: str
) -> Response:
    """Upload the corrected quarantine file: a new batch; the fixed rows are resolved."""
    with platform.db.read() as conn:
        b = agg_queries.get_batch(conn, batch_id)
        check_loader(conn, actor, catalog_queries.get_resource(conn, b.resource_id))
    try:
        path, name, fmt = await receive_upload(request, platform)
        try:
            done = await run_in_threadpool(
                quarantine.resubmit,
                platform.db,
                batch_id,
                path,
                actor=actor,
                fmt=fmt,
                file_name=name,
            )
        finally:
            path.unlink(missing_ok=True)
    except DomainError as exc:
        context = await run_in_threadpool(_batch_context, platform, actor, batch_id)
        context["error"] = exc.message(locale_of(request))
        return render(request, "aggregation/batch.html", context, status=exc.status)
    flash(
        request,
        _msg(
            request,
            f"重新提交完成：已解决 {done.resolved} 行，仍有 {done.remaining} 行待修正",
            f"resubmitted: {done.resolved} rows resolved, {done.remaining} still to fix",
        ),
        "success" if not done.remaining else "warning",
    )
    return RedirectResponse(f"/pools/batches/{done.result.batch.id}", status_code=303)
