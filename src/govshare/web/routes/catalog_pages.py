"""Catalog pages: the browser with facets, the entry page with versions and diffs, the
editor, the department's work list, the authority's review queue and the Excel import.

Handlers stay thin: parse, call one service or query, render. Who may see what is decided
by identity.policy; a department's unpublished versions are visible only to that
department's cataloguers and to the authority governing its jurisdiction.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from govshare.catalog import queries, services
from govshare.catalog.model import (
    Classification,
    OpenCategory,
    ResourceVersion,
    ReviewDecision,
    VersionState,
)
from govshare.catalog.queries import SearchQuery
from govshare.catalog.validation import check_entry
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.identity.policy import Permission, can
from govshare.kernel.actor import Actor, Role
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import DomainError, Forbidden, NotFound
from govshare.platform import Platform
from govshare.rules import RuleProfile
from govshare.web.deps import PlatformDep, flash, locale_of, policy, render
from govshare.web.routes.catalog_forms import (
    BLANK_ROWS,
    EditorForm,
    blank_item,
    choices,
    form_from_entry,
    items_from_entry,
    new_row_key,
    problems_of,
    read_editor_form,
)

router = APIRouter(prefix="/catalog", include_in_schema=False)

ViewCatalog = Annotated[Actor, policy(Permission.VIEW_CATALOG)]
EditCatalog = Annotated[Actor, policy(Permission.EDIT_CATALOG)]
ReviewCatalog = Annotated[Actor, policy(Permission.REVIEW_CATALOG)]

FACET_PARAMS = (
    "provider_department_id",
    "classification",
    "share_category",
    "open_category",
    "format_category",
    "update_cycle",
    "delivery_mode",
)
PUBLIC_STATES = (VersionState.PUBLISHED, VersionState.SUPERSEDED)
CATALOGUING_ROLES = (Role.CATALOGUER, Role.DEPT_ADMIN, Role.AUTHORITY_ADMIN)
RESULTS_TARGET = "catalog-results"


# Access ------------------------------------------------------------------------------
def _may_edit(actor: Actor, dept: Department) -> bool:
    return can(
        actor, Permission.EDIT_CATALOG, department_id=dept.id, jurisdiction_id=dept.jurisdiction_id
    )


def _may_review(actor: Actor, dept: Department) -> bool:
    return can(actor, Permission.REVIEW_CATALOG, jurisdiction_id=dept.jurisdiction_id)


def _may_see_unpublished(actor: Actor, dept: Department) -> bool:
    """The provider's cataloguers and the authority over its jurisdiction."""
    return _may_edit(actor, dept) or _may_review(actor, dept)


def _hidden() -> NotFound:
    return NotFound("目录条目不存在或无权查看", "no such catalog entry, or not yours to see")


def _visible_version(conn: Connection, actor: Actor, version_id: str) -> ResourceVersion:
    version = queries.get_version(conn, version_id)
    dept = identity_queries.get_department(conn, version.entry.provider_department_id)
    if version.state not in PUBLIC_STATES and not _may_see_unpublished(actor, dept):
        raise _hidden()
    return version


def _editable_departments(conn: Connection, actor: Actor) -> list[Department]:
    return [
        d
        for d in identity_queries.list_departments(conn, include_inactive=False)
        if _may_edit(actor, d) and not d.is_operator
    ]


def _own_departments(actor: Actor) -> list[str]:
    return sorted({d for d, r in actor.roles if r in CATALOGUING_ROLES})


def _profile(conn: Connection, profiles: dict[str, RuleProfile], dept: Department) -> RuleProfile:
    j = identity_queries.get_jurisdiction(conn, dept.jurisdiction_id)
    return profiles.get(j.profile) or profiles["default"]


def _departments(conn: Connection) -> dict[str, Department]:
    return {d.id: d for d in identity_queries.list_departments(conn)}


def _today() -> date:
    return local_date(utcnow())


def _msg(request: Request, zh: str, en: str) -> str:
    return en if locale_of(request) == "en" else zh


# Browser -----------------------------------------------------------------------------
def _url(params: dict[str, str], **changes: str) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v}
    return "/catalog" + ("?" + urlencode(merged) if merged else "")


@router.get("")
def browse(request: Request, platform: PlatformDep, actor: ViewCatalog) -> HTMLResponse:
    qp = request.query_params
    params = {k: qp.get(k, "").strip() for k in ("q", *FACET_PARAMS)}
    try:
        page = max(1, int(qp.get("page", "1")))
    except ValueError:
        page = 1
    query = SearchQuery(q=params["q"], page=page)
    for facet in FACET_PARAMS:
        setattr(query, facet, params[facet] or None)
    with platform.db.read() as conn:
        result = queries.search_catalog(conn, query)
        departments = _departments(conn)
    facets = []
    for facet in FACET_PARAMS:
        counts = result.facets.get(facet, {})
        values = [
            {
                "value": value,
                "count": count,
                "active": params[facet] == value,
                "href": _url(params, **{facet: "" if params[facet] == value else value}),
            }
            for value, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        facets.append((facet, values))
    active = [(f, params[f], _url(params, **{f: ""})) for f in FACET_PARAMS if params[f]]
    context = {
        "result": result,
        "params": params,
        "facets": facets,
        "active": active,
        "departments": departments,
        "prev_href": _url(params, page=str(page - 1)) if page > 1 else None,
        "next_href": _url(params, page=str(page + 1)) if page < result.pages else None,
        "clear_href": _url({"q": params["q"]}),
        "may_edit": can(actor, Permission.EDIT_CATALOG),
    }
    partial = request.headers.get("hx-target") == RESULTS_TARGET and not request.headers.get(
        "hx-history-restore-request"
    )
    return render(request, "catalog/_results.html" if partial else "catalog/browse.html", context)


# Entry page, versions, diff ----------------------------------------------------------
def _entry_context(
    conn: Connection, actor: Actor, resource_id: str, version: ResourceVersion | None
) -> dict[str, Any]:
    res = queries.get_resource(conn, resource_id)
    dept = identity_queries.get_department(conn, res.provider_department_id)
    privileged = _may_see_unpublished(actor, dept)
    if version is None:
        vid = res.published_version_id or (res.draft_version_id if privileged else None)
        if vid is None:
            raise _hidden()
        version = queries.get_version(conn, vid)
    versions = [
        v for v in queries.history(conn, resource_id) if privileged or v.state in PUBLIC_STATES
    ]
    replacement = (
        queries.get_resource(conn, res.replacement_resource_id)
        if res.replacement_resource_id
        else None
    )
    return {
        "resource": res,
        "version": version,
        "e": version.entry,
        "dept": dept,
        "departments": _departments(conn),
        "versions": versions,
        "replacement": replacement,
        "overlap_links": _overlap_links(conn, version.overlaps),
        "may_edit": _may_edit(actor, dept),
        "may_review": _may_review(actor, dept),
        "jurisdiction": identity_queries.get_jurisdiction(conn, dept.jurisdiction_id),
    }


def _overlap_links(conn: Connection, codes: tuple[str, ...]) -> list[tuple[str, str | None]]:
    out = []
    for code in codes:
        res = queries.resource_by_code(conn, code)
        out.append((code, res.id if res else None))
    return out


@router.get("/resources/{resource_id}")
def resource_page(
    request: Request, resource_id: str, platform: PlatformDep, actor: ViewCatalog
) -> HTMLResponse:
    with platform.db.read() as conn:
        context = _entry_context(conn, actor, resource_id, None)
    return render(request, "catalog/resource.html", context)


@router.get("/versions/{version_id}")
def version_page(
    request: Request, version_id: str, platform: PlatformDep, actor: ViewCatalog
) -> HTMLResponse:
    with platform.db.read() as conn:
        version = _visible_version(conn, actor, version_id)
        context = _entry_context(conn, actor, version.resource_id, version)
    return render(request, "catalog/resource.html", {**context, "viewing_version": True})


@router.get("/resources/{resource_id}/diff")
def diff_page(
    request: Request,
    resource_id: str,
    platform: PlatformDep,
    actor: ViewCatalog,
    from_: Annotated[int, Query(alias="from")] = 0,
    to: int = 0,
) -> HTMLResponse:
    with platform.db.read() as conn:
        context = _entry_context(conn, actor, resource_id, None)
    by_no = {v.version_no: v for v in context["versions"]}
    if not by_no:
        raise _hidden()
    latest = max(by_no)
    to = to or latest
    from_ = from_ or max(1, to - 1)
    if from_ not in by_no or to not in by_no:
        raise NotFound("版本不存在", "no such version")
    a, b = by_no[from_], by_no[to]
    return render(
        request,
        "catalog/diff.html",
        {**context, "a": a, "b": b, "changes": queries.diff(a, b)},
    )


@router.post("/resources/{resource_id}/revise")
def revise(
    request: Request, resource_id: str, platform: PlatformDep, actor: EditCatalog
) -> Response:
    try:
        version = services.start_revision(platform.db, resource_id, actor=actor)
    except DomainError as exc:
        flash(request, exc.message(locale_of(request)), "error")
        return RedirectResponse(f"/catalog/resources/{resource_id}", status_code=303)
    return RedirectResponse(f"/catalog/versions/{version.id}/edit", status_code=303)


@router.post("/resources/{resource_id}/retire")
def retire(
    request: Request,
    resource_id: str,
    platform: PlatformDep,
    actor: EditCatalog,
    reason: Annotated[str, Form()] = "",
    replacement_code: Annotated[str, Form()] = "",
    transition_days: Annotated[str, Form()] = "",
) -> Response:
    error: DomainError | None = None
    try:
        replacement_id = None
        if replacement_code.strip():
            with platform.db.read() as conn:
                rep = queries.resource_by_code(conn, replacement_code.strip())
            if rep is None:
                raise NotFound(
                    "替代资源代码不存在",
                    "no resource has that code",
                    field="replacement_resource_id",
                )
            replacement_id = rep.id
        days = int(transition_days) if transition_days.strip().isdigit() else None
        done = services.retire(
            platform.db,
            platform.profiles,
            resource_id,
            actor=actor,
            reason=reason,
            replacement_resource_id=replacement_id,
            transition_days=days,
        )
    except DomainError as exc:
        error = exc
    if error is None:
        flash(
            request,
            _msg(
                request,
                f"已下线，过渡期至 {done.transition_ends_on.isoformat()}",
                f"retiring; the transition ends on {done.transition_ends_on.isoformat()}",
            ),
        )
        return RedirectResponse(f"/catalog/resources/{resource_id}", status_code=303)
    with platform.db.read() as conn:
        context = _entry_context(conn, actor, resource_id, None)
    return render(
        request,
        "catalog/resource.html",
        {
            **context,
            "retire_error": error.message(locale_of(request)),
            "retire_form": {
                "reason": reason,
                "replacement_code": replacement_code,
                "transition_days": transition_days,
            },
        },
        status=error.status,
    )


# Editor ------------------------------------------------------------------------------
def _editor(
    request: Request,
    conn: Connection,
    platform: PlatformDep,
    actor: Actor,
    dept: Department,
    ef: EditorForm,
    *,
    version: ResourceVersion | None = None,
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> HTMLResponse:
    profile = _profile(conn, platform.profiles, dept)
    locale = locale_of(request)
    errors: dict[str, str] = {}
    for field, zh, en in ef.problems:
        errors.setdefault(field, en if locale == "en" else zh)
    departments = _departments(conn)
    overlaps = queries.overlapping_resources(conn, version) if version is not None else []
    return render(
        request,
        "catalog/editor.html",
        {
            "dept": dept,
            "profile": profile,
            "form": ef.values,
            "items": ef.items,
            "errors": errors,
            "problems": [(f, en if locale == "en" else zh) for f, zh, en in ef.problems],
            "version": version,
            "choices": choices(profile),
            "editable": _editable_departments(conn, actor) if version is None else [],
            "peers": [
                d
                for d in departments.values()
                if d.jurisdiction_id == dept.jurisdiction_id and d.id != dept.id and d.active
            ],
            "departments": departments,
            "overlaps": overlaps,
            "action": f"/catalog/versions/{version.id}/edit" if version else "/catalog/new",
            **(extra or {}),
        },
        status=status,
    )


def _pad(items: list[dict[str, Any]], n: int = BLANK_ROWS) -> list[dict[str, Any]]:
    return items + [blank_item() for _ in range(n)]


@router.get("/new")
def new_entry(
    request: Request, platform: PlatformDep, actor: EditCatalog, department_id: str = ""
) -> HTMLResponse:
    with platform.db.read() as conn:
        editable = _editable_departments(conn, actor)
        if not editable:
            raise Forbidden("没有可编目的部门", "you catalogue for no department", code="forbidden")
        own = _own_departments(actor)
        by_id = {d.id: d for d in editable}
        dept = by_id.get(department_id) or next((by_id[d] for d in own if d in by_id), editable[0])
        ef = EditorForm(
            values={
                "classification": Classification.DEPARTMENT.value,
                "open_category": OpenCategory.CLOSED.value,
            },
            items=_pad([]),
        )
        return _editor(request, conn, platform, actor, dept, ef)


@router.get("/versions/{version_id}/edit")
def edit_entry(
    request: Request, version_id: str, platform: PlatformDep, actor: EditCatalog
) -> Response:
    with platform.db.read() as conn:
        version = _visible_version(conn, actor, version_id)
        dept = identity_queries.get_department(conn, version.entry.provider_department_id)
        if not _may_edit(actor, dept):
            raise Forbidden("只有提供部门可以编辑", "only the provider edits its entries")
        if version.state not in (VersionState.DRAFT, VersionState.RETURNED):
            return RedirectResponse(f"/catalog/versions/{version_id}", status_code=303)
        ef = EditorForm(
            values=form_from_entry(version.entry),
            items=_pad(items_from_entry(version.entry), 2),
        )
        return _editor(request, conn, platform, actor, dept, ef, version=version)


@router.get("/editor/item-row")
def item_row(
    request: Request, platform: PlatformDep, actor: EditCatalog, department_id: str = ""
) -> HTMLResponse:
    """One empty data-item row (htmx appends it to the editor's table)."""
    with platform.db.read() as conn:
        depts = {d.id: d for d in _editable_departments(conn, actor)}
        dept = depts.get(department_id)
        if dept is None:
            raise _hidden()
        profile = _profile(conn, platform.profiles, dept)
    return render(
        request,
        "catalog/_item_row.html",
        {
            "row": blank_item(),
            "key": new_row_key(),
            "position": "",
            "errors": {},
            "choices": choices(profile),
        },
    )


@router.post("/new")
async def create_entry(request: Request, platform: PlatformDep, actor: EditCatalog) -> Response:
    ef = await read_editor_form(request)
    department_id = str(ef.values.get("provider_department_id", ""))
    with platform.db.read() as conn:
        by_id = {d.id: d for d in _editable_departments(conn, actor)}
    dept = by_id.get(department_id)
    if dept is None:
        raise Forbidden("不能为该部门编目", "you do not catalogue for that department")
    return await run_in_threadpool(_save, request, platform, actor, dept, ef, None)


@router.post("/versions/{version_id}/edit")
async def update_entry(
    request: Request, version_id: str, platform: PlatformDep, actor: EditCatalog
) -> Response:
    ef = await read_editor_form(request)
    with platform.db.read() as conn:
        version = _visible_version(conn, actor, version_id)
        dept = identity_queries.get_department(conn, version.entry.provider_department_id)
    if not _may_edit(actor, dept):
        raise Forbidden("只有提供部门可以编辑", "only the provider edits its entries")
    ef.values["provider_department_id"] = dept.id
    return await run_in_threadpool(_save, request, platform, actor, dept, ef, version)


def _save(
    request: Request,
    platform: Platform,
    actor: Actor,
    dept: Department,
    ef: EditorForm,
    version: ResourceVersion | None,
) -> Response:
    """Save (and submit) the editor's entry: run in a worker thread, as every write of a
    route is (on the event loop's thread it would stall every other request)."""
    if ef.action == "add_rows":
        ef.items = _pad(ef.items)
        ef.problems = []
        with platform.db.read() as conn:
            return _editor(request, conn, platform, actor, dept, ef, version=version)
    entry = ef.entry(dept.id)
    if ef.problems:  # unreadable values: show them together with every other rule it breaks
        with platform.db.read() as conn:
            profile = _profile(conn, platform.profiles, dept)
            ef.problems += [
                (p.field, p.zh, p.en) for p in check_entry(entry, profile, complete=False)
            ]
            ef.items = _pad(ef.items, 1)
            return _editor(request, conn, platform, actor, dept, ef, version=version, status=422)
    try:
        if version is None:
            saved = services.create_draft(platform.db, platform.profiles, entry, actor=actor)
        else:
            saved = services.update_draft(
                platform.db, platform.profiles, version.id, entry, actor=actor
            )
    except DomainError as exc:
        ef.problems = problems_of(exc)
        ef.items = _pad(ef.items, 1)
        with platform.db.read() as conn:
            return _editor(
                request, conn, platform, actor, dept, ef, version=version, status=exc.status
            )
    if ef.action != "submit":
        flash(request, _msg(request, "草稿已保存", "draft saved"))
        return RedirectResponse(f"/catalog/versions/{saved.id}/edit", status_code=303)
    try:
        services.submit(platform.db, platform.profiles, saved.id, actor=actor)
    except DomainError as exc:
        ef = EditorForm(
            values=form_from_entry(saved.entry),
            items=_pad(items_from_entry(saved.entry), 1),
            problems=problems_of(exc),
        )
        with platform.db.read() as conn:
            overlap_codes = tuple(exc.extra.get("overlaps", ()))
            return _editor(
                request,
                conn,
                platform,
                actor,
                dept,
                ef,
                version=queries.get_version(conn, saved.id),
                status=exc.status,
                extra={
                    "submit_failed": True,
                    "overlap_error": _overlap_links(conn, overlap_codes),
                },
            )
    flash(request, _msg(request, f"{saved.code} 已提交审核", f"{saved.code} submitted for review"))
    return RedirectResponse("/catalog/mine", status_code=303)


# The department's work -----------------------------------------------------------------
@router.get("/mine")
def mine(request: Request, platform: PlatformDep, actor: EditCatalog) -> HTMLResponse:
    with platform.db.read() as conn:
        departments = _departments(conn)
        rows = [
            r
            for d in _own_departments(actor)
            if d in departments and _may_edit(actor, departments[d])
            for r in queries.department_work(conn, d)
        ]
        comments = {
            r.version_id: queries.get_version(conn, r.version_id)
            for r in rows
            if r.state == VersionState.RETURNED.value
        }
    groups = {
        state: [r for r in rows if r.state == state.value]
        for state in (VersionState.RETURNED, VersionState.DRAFT, VersionState.SUBMITTED)
    }
    return render(
        request,
        "catalog/mine.html",
        {
            "groups": groups,
            "returned": comments,
            "departments": departments,
            "own": [departments[d] for d in _own_departments(actor) if d in departments],
            "today": _today(),
        },
    )


# Review ----------------------------------------------------------------------------------
@router.get("/review")
def review_queue(request: Request, platform: PlatformDep, actor: ReviewCatalog) -> HTMLResponse:
    with platform.db.read() as conn:
        departments = _departments(conn)
        governed = {d.id for d in departments.values() if d.jurisdiction_id in actor.governs}
        rows = queries.review_queue(conn, governed)
        overlaps = {
            r.version_id: _overlap_links(conn, queries.get_version(conn, r.version_id).overlaps)
            for r in rows
        }
    return render(
        request,
        "catalog/review_queue.html",
        {"rows": rows, "overlaps": overlaps, "departments": departments, "today": _today()},
    )


def _review_context(conn: Connection, actor: Actor, version_id: str) -> dict[str, Any]:
    version = queries.get_version(conn, version_id)
    dept = identity_queries.get_department(conn, version.entry.provider_department_id)
    if not _may_review(actor, dept):
        raise _hidden()
    published = (
        queries.published_version(conn, version.resource_id) if version.version_no > 1 else None
    )
    if published is not None and published.id == version.id:
        published = None
    context = _entry_context(conn, actor, version.resource_id, version)
    return {
        **context,
        "live_overlaps": queries.overlapping_resources(conn, version),
        "published": published,
        "changes": queries.diff(published, version) if published else None,
        "today": _today(),
    }


@router.get("/review/{version_id}")
def review_page(
    request: Request, version_id: str, platform: PlatformDep, actor: ReviewCatalog
) -> HTMLResponse:
    with platform.db.read() as conn:
        context = _review_context(conn, actor, version_id)
    return render(request, "catalog/review.html", context)


@router.post("/review/{version_id}")
def review_decide(
    request: Request,
    version_id: str,
    platform: PlatformDep,
    actor: ReviewCatalog,
    decision: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    try:
        choice = ReviewDecision(decision)
    except ValueError:
        choice = None
    error: DomainError | None = None
    if choice is None:
        error = DomainError("请选择审核结论", "choose approve or return", field="decision")
    else:
        try:
            done = services.review(platform.db, version_id, choice, actor=actor, comment=comment)
        except DomainError as exc:
            error = exc
    if error is None:
        if choice is ReviewDecision.APPROVE:
            message = _msg(request, f"{done.code} 已发布", f"{done.code} published")
        else:
            message = _msg(request, f"{done.code} 已退回", f"{done.code} returned")
        flash(request, message)
        return RedirectResponse("/catalog/review", status_code=303)
    with platform.db.read() as conn:
        context = _review_context(conn, actor, version_id)
    return render(
        request,
        "catalog/review.html",
        {**context, "review_error": error.message(locale_of(request)), "comment": comment},
        status=error.status,
    )


# Excel import ------------------------------------------------------------------------------
def _importer() -> Any:
    try:
        from govshare.catalog import importer
    except ImportError:
        return None
    return importer


@router.get("/import")
def import_page(request: Request, platform: PlatformDep, actor: EditCatalog) -> HTMLResponse:
    with platform.db.read() as conn:
        editable = _editable_departments(conn, actor)
    return render(
        request,
        "catalog/import.html",
        {"editable": editable, "available": _importer() is not None, "selected": ""},
    )


@router.get("/import/template.xlsx")
def import_template(
    request: Request, platform: PlatformDep, actor: ViewCatalog, department_id: str = ""
) -> Response:
    importer = _importer()
    if importer is None:
        raise NotFound("导入模板暂不可用", "the import template is not available yet")
    with platform.db.read() as conn:
        profile = platform.profiles["default"]
        if department_id:
            dept = identity_queries.get_department(conn, department_id)
            profile = _profile(conn, platform.profiles, dept)
    data: bytes = importer.build_template(profile)
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="catalog-template.xlsx"'},
    )


@router.post("/import")
async def import_upload(
    request: Request,
    platform: PlatformDep,
    actor: EditCatalog,
    file: Annotated[UploadFile | None, File()] = None,
    department_id: Annotated[str, Form()] = "",
    submit: Annotated[str, Form()] = "",
) -> HTMLResponse:
    importer = _importer()
    with platform.db.read() as conn:
        editable = _editable_departments(conn, actor)
    context: dict[str, Any] = {
        "editable": editable,
        "available": importer is not None,
        "selected": department_id,
    }
    if importer is None:
        return render(request, "catalog/import.html", context, status=503)
    data = await file.read() if file is not None else b""
    if not data:
        context["error"] = _msg(request, "请选择要导入的 Excel 文件", "choose an Excel file")
        return render(request, "catalog/import.html", context, status=422)
    if department_id not in {d.id for d in editable}:
        raise Forbidden("不能为该部门编目", "you do not catalogue for that department")
    try:
        result = await run_in_threadpool(  # parse and write off the event loop's thread
            importer.import_workbook,
            platform.db,
            platform.profiles,
            data,
            actor=actor,
            department_id=department_id,
            submit=bool(submit),
            filename=(file.filename or "") if file is not None else "",
        )
    except DomainError as exc:
        context["error"] = exc.message(locale_of(request))
        context["errors"] = exc.extra.get("errors", [])
        context["error_count"] = exc.extra.get("error_count", len(context["errors"]))
        return render(request, "catalog/import.html", context, status=exc.status)
    context["result"] = result
    context["imported"] = list(zip(result.codes, result.version_ids, strict=True))
    return render(request, "catalog/import.html", context)
