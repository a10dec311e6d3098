"""Catalog files: the XLSX import template and the import, the XLSX / JSON exports of the
published catalog, and the DCAT-AP catalog of open resources (JSON-LD and Turtle)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from govshare.catalog import dcat, exporter, importer
from govshare.catalog.workbook import MAX_BYTES, XLSX_MEDIA_TYPE
from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import NotFound, ValidationFailed
from govshare.platform import Platform
from govshare.rules import RuleProfile
from govshare.web.deps import PlatformDep, policy
from govshare.web.routes.api import ERRORS

router = APIRouter(tags=["catalog"], responses=ERRORS)

SignedIn = Annotated[Actor, policy(Permission.SIGNED_IN)]
ViewCatalog = Annotated[Actor, policy(Permission.VIEW_CATALOG)]
EditCatalog = Annotated[Actor, policy(Permission.EDIT_CATALOG)]
Public = Annotated[Actor, policy(Permission.PUBLIC)]

_MULTIPART_OVERHEAD = 64 * 1024
_TRUE = {"1", "true", "on", "yes", "是"}


def _download(data: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content=data,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


def _jurisdiction_id(platform: Platform, value: str | None) -> str | None:
    """A jurisdiction named by id or by its six-digit division code."""
    if not value:
        return None
    with platform.db.read() as conn:
        found = identity_queries.jurisdiction_by_code(conn, value)
        if found is not None:
            return found.id
        return identity_queries.get_jurisdiction(conn, value).id


def _profile_for(platform: Platform, actor: Actor, name: str | None) -> RuleProfile:
    if name:
        if name not in platform.profiles:
            raise NotFound(f"规则配置“{name}”不存在", f"no rule profile named '{name}'")
        return platform.profiles[name]
    if actor.department_id:
        with platform.db.read() as conn:
            dept = identity_queries.get_department(conn, actor.department_id)
            j = identity_queries.get_jurisdiction(conn, dept.jurisdiction_id)
        if j.profile in platform.profiles:
            return platform.profiles[j.profile]
    return platform.profiles["default"]


def _file(media_type: str, json: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a route outside /api/ that answers with a document of
    ``media_type``: its refusals are the HTML error page, or JSON when the caller asks."""
    schema = {"type": "object"} if json else {"type": "string", "format": "binary"}
    html = {"text/html": {"schema": {"type": "string"}}}
    return {
        200: {"content": {media_type: {"schema": schema}}},
        **{status: {**error, "content": html} for status, error in ERRORS.items()},
    }


@router.get("/catalog/template.xlsx", response_class=Response, responses=_file(XLSX_MEDIA_TYPE))
def template(
    platform: PlatformDep,
    actor: SignedIn,
    profile: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The XLSX import template, with the drop-down lists and rules of the rule profile
    (``profile``, or that of the user's jurisdiction)."""
    rules = _profile_for(platform, actor, profile)
    data = importer.build_template(rules)
    return _download(data, XLSX_MEDIA_TYPE, f"政务信息资源目录导入模板-{rules.name}.xlsx")


async def _limit_upload(request: Request) -> None:
    """Refuse an oversized upload before its body is read."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BYTES + _MULTIPART_OVERHEAD:
        raise importer.ImportFailed(
            [
                importer.RowError(
                    None,
                    None,
                    None,
                    "catalog_import_too_large",
                    f"文件超过 {MAX_BYTES // (1024 * 1024)} MB",
                    f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB",
                )
            ]
        )


_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "department_id": {"type": "string"},
                        "submit": {"type": "boolean", "default": False},
                    },
                }
            }
        },
    }
}


@router.post(
    "/api/v1/catalog/import",
    status_code=201,
    dependencies=[Depends(_limit_upload)],
    openapi_extra=_IMPORT_BODY,
)
async def import_catalog(request: Request, platform: PlatformDep, actor: EditCatalog) -> Any:
    """Import the entries of a filled-in template for a department (the user's own unless
    ``department_id`` is given), as drafts, or submitted for review when ``submit`` is true.
    All or nothing: 422 ``catalog_import_failed`` with every error (sheet, row, column)."""
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed("请选择要导入的文件", "attach the workbook to import", field="file")
    data = await upload.read(MAX_BYTES + 1)
    dept_value = form.get("department_id")
    department_id = dept_value if isinstance(dept_value, str) and dept_value else None
    department_id = department_id or actor.department_id
    if not department_id:
        raise ValidationFailed(
            "请指定提供部门", "give the providing department", field="department_id"
        )
    submit_value = form.get("submit")
    submit = isinstance(submit_value, str) and submit_value.strip().lower() in _TRUE
    result = await run_in_threadpool(
        importer.import_workbook,
        platform.db,
        platform.profiles,
        data,
        actor=actor,
        department_id=department_id,
        submit=submit,
        filename=upload.filename or "",
    )
    return JSONResponse(result.as_dict(), status_code=201)


@router.get("/catalog/export.xlsx", response_class=Response, responses=_file(XLSX_MEDIA_TYPE))
def export_xlsx(
    platform: PlatformDep,
    actor: ViewCatalog,
    jurisdiction: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The published catalog (《目录》) as XLSX in the template's layout; ``jurisdiction``
    (id or division code) keeps that jurisdiction and those below it."""
    jid = _jurisdiction_id(platform, jurisdiction)
    data = exporter.export_xlsx(platform.db, actor=actor, jurisdiction_id=jid)
    name = f"政务信息资源目录-{local_date(utcnow()).isoformat()}.xlsx"
    return _download(data, XLSX_MEDIA_TYPE, name)


@router.get("/api/v1/catalog/export.json")
def export_json(
    platform: PlatformDep,
    actor: ViewCatalog,
    jurisdiction: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """The published catalog (《目录》) as JSON."""
    jid = _jurisdiction_id(platform, jurisdiction)
    return exporter.export_json(platform.db, actor=actor, jurisdiction_id=jid)


def _dcat(
    request: Request,
    platform: Platform,
    fmt: dcat.Format,
    page: int,
    page_size: int,
    jurisdiction: str | None,
) -> Response:
    jid = _jurisdiction_id(platform, jurisdiction)
    with platform.db.read() as conn:
        result = dcat.catalog_page(
            conn,
            base_url=str(request.base_url),
            fmt=fmt,
            page=page,
            page_size=page_size,
            jurisdiction_id=jid,
        )
    return Response(
        content=result.serialize(fmt),
        media_type=f"{dcat.MEDIA_TYPES[fmt]}; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


Page = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=dcat.MAX_PAGE_SIZE)]
JurisdictionParam = Annotated[str | None, Query(max_length=40)]


@router.get(
    "/catalog.jsonld",
    response_class=Response,
    responses=_file(dcat.MEDIA_TYPES["jsonld"], json=True),
)
def catalog_jsonld(
    request: Request,
    platform: PlatformDep,
    _: Public,
    page: Page = 1,
    page_size: PageSize = dcat.DEFAULT_PAGE_SIZE,
    jurisdiction: JurisdictionParam = None,
) -> Response:
    """DCAT-AP 3 catalog of the open and open-on-request resources, as JSON-LD (Hydra
    paging)."""
    return _dcat(request, platform, "jsonld", page, page_size, jurisdiction)


@router.get("/catalog.ttl", response_class=Response, responses=_file(dcat.MEDIA_TYPES["ttl"]))
def catalog_ttl(
    request: Request,
    platform: PlatformDep,
    _: Public,
    page: Page = 1,
    page_size: PageSize = dcat.DEFAULT_PAGE_SIZE,
    jurisdiction: JurisdictionParam = None,
) -> Response:
    """The same DCAT-AP 3 catalog as Turtle."""
    return _dcat(request, platform, "ttl", page, page_size, jurisdiction)
