"""Usage pages of the data services, and the provider's document store:

- ``/delivery/usage``: a consumer department's own usage per grant (calls, refusals by
  error code, rows, last day with a call), for the user's departments only;
- ``/delivery/provider``: who uses the provider's resources, for what purpose, how often,
  and its resources offered as documents / e-licences;
- ``/delivery/statistics`` (HB-26): the authority's statistics of authorisation handling,
  data calls and availability per provider department of its jurisdictions;
- ``/delivery/documents/{resource_id}``: the provider's staff store and list documents.

Handlers stay thin: parse, call one query or service, render. Department isolation is in
the queries' arguments: a page only ever asks for the actor's own departments (or, for the
authority, the jurisdictions it governs).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from govshare.catalog import queries as catalog_queries
from govshare.delivery import documents as documents_service
from govshare.delivery import usage
from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor, Role
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import DomainError
from govshare.web.deps import PlatformDep, act_then_redirect, flash, locale_of, policy, render
from govshare.web.routes.delivery_files import read_upload

router = APIRouter(prefix="/delivery", include_in_schema=False)

SignedIn = Annotated[Actor, policy(Permission.SIGNED_IN)]
Authority = Annotated[Actor, policy(Permission.REVIEW_CATALOG)]
LoadData = Annotated[Actor, policy(Permission.LOAD_DATA)]

PROVIDER_ROLES = (Role.DEPT_ADMIN, Role.CATALOGUER, Role.APPROVER)
PERIODS = {"7": 7, "30": 30, "90": 90, "all": None}
Period = Annotated[str, Query(pattern="^(7|30|90|all)$")]


def _since(period: str) -> date | None:
    days = PERIODS[period]
    return None if days is None else local_date(utcnow()) - timedelta(days=days - 1)


def _departments(actor: Actor, roles: tuple[Role, ...] | None = None) -> set[str]:
    return {d for d, r in actor.roles if roles is None or r in roles}


def _names(platform: PlatformDep, ids: set[str]) -> list[str]:
    with platform.db.read() as conn:
        return sorted(identity_queries.get_department(conn, d).short_name for d in ids)


@router.get("/usage")
def consumer_view(
    request: Request, platform: PlatformDep, actor: SignedIn, period: Period = "30"
) -> HTMLResponse:
    """The consumer's own usage: its departments' grants only."""
    own = _departments(actor)
    with platform.db.read() as conn:
        grants = usage.consumer_usage(conn, own, _since(period))
    return render(
        request,
        "delivery/usage.html",
        {
            "grants": grants,
            "errors": usage.errors_by_code(grants),
            "departments": _names(platform, own),
            "period": period,
            "periods": list(PERIODS),
        },
    )


@router.get("/provider")
def provider_view(
    request: Request, platform: PlatformDep, actor: SignedIn, period: Period = "30"
) -> HTMLResponse:
    """Who uses the provider's resources, for what purpose and how often."""
    own = _departments(actor, PROVIDER_ROLES)
    with platform.db.read() as conn:
        grants = usage.provider_usage(conn, own, _since(period))
        files = documents_service.file_resources(conn, own)
    return render(
        request,
        "delivery/provider.html",
        {
            "grants": grants,
            "files": files,
            "departments": _names(platform, own),
            "period": period,
            "periods": list(PERIODS),
        },
    )


@router.get("/statistics")
def authority_view(
    request: Request, platform: PlatformDep, actor: Authority, period: Period = "30"
) -> HTMLResponse:
    """HB-26: authorisation handling, data calls and availability per provider."""
    with platform.db.read() as conn:
        stats = usage.authority_statistics(
            conn, set(actor.governs), local_date(utcnow()), _since(period)
        )
    return render(
        request,
        "delivery/statistics.html",
        {"stats": stats, "period": period, "periods": list(PERIODS)},
    )


def _require_provider(platform: PlatformDep, actor: Actor, resource_id: str) -> None:
    with platform.db.read() as conn:
        res = catalog_queries.get_resource(conn, resource_id)
        dept = identity_queries.get_department(conn, res.provider_department_id)
    require(
        actor, Permission.LOAD_DATA, department_id=dept.id, jurisdiction_id=dept.jurisdiction_id
    )


@router.get("/documents/{resource_id}")
def documents_page(
    request: Request, platform: PlatformDep, actor: LoadData, resource_id: str
) -> HTMLResponse:
    _require_provider(platform, actor, resource_id)
    with platform.db.read() as conn:
        res = catalog_queries.get_resource(conn, resource_id)
        version = catalog_queries.published_version(conn, resource_id)
        docs = documents_service.documents_of(conn, resource_id)
    return render(
        request,
        "delivery/documents.html",
        {"resource": res, "version": version, "documents": docs},
    )


@router.post("/documents/{resource_id}")
async def upload(
    request: Request,
    platform: PlatformDep,
    actor: LoadData,
    resource_id: str,
    key: Annotated[str, Form(max_length=64)],
    file: Annotated[UploadFile, File()],
) -> Response:
    to = f"/delivery/documents/{resource_id}"
    try:
        data = await read_upload(file)
    except DomainError as exc:
        flash(request, exc.message(locale_of(request)), "error")
        return RedirectResponse(to, status_code=303)
    done = "文书已存储" if locale_of(request) == "zh_CN" else "Document stored"
    return await run_in_threadpool(
        act_then_redirect,
        request,
        to,
        lambda: documents_service.store_document(
            platform,
            resource_id,
            key=key,
            filename=file.filename or "document",
            data=data,
            actor=actor,
        ),
        done=done,
    )
