"""Catalog upkeep and collection pages: demand and duty lists (NX-19, NX-21, YX-19),
change triggers with their update deadlines (SQ-8, SZ-7, NX-22, NX-23, YX-13) and the
annual full maintenance (SQ-7). Handlers parse the form, call one service, render."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from govshare.catalog import collection, queries, upkeep
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.identity.policy import Permission, departments_where
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import DomainError
from govshare.rules import RuleProfile
from govshare.web.deps import PlatformDep, act_then_redirect, flash, locale_of, policy, render

router = APIRouter(prefix="/catalog", include_in_schema=False)

ViewCatalog = Annotated[Actor, policy(Permission.VIEW_CATALOG)]
EditCatalog = Annotated[Actor, policy(Permission.EDIT_CATALOG)]
ReviewCatalog = Annotated[Actor, policy(Permission.REVIEW_CATALOG)]
FileDemand = Annotated[Actor, policy(Permission.FILE_DEMAND)]


def _where(actor: Actor, depts: list[Department], permission: Permission) -> list[Department]:
    return departments_where(actor, permission, depts)


def _lines(text: str) -> list[str]:
    return [
        p.strip()
        for p in text.replace("，", ",").replace("、", ",").replace("\n", ",").split(",")
        if p.strip()
    ]


def _fail(request: Request, exc: DomainError) -> None:
    flash(request, exc.message(locale_of(request)), "error")


# Demand and duty lists -----------------------------------------------------------------
@router.get("/demands")
def demands_page(request: Request, platform: PlatformDep, actor: ViewCatalog) -> HTMLResponse:
    today = local_date(utcnow())
    with platform.db.read() as conn:
        depts = identity_queries.list_departments(conn)
        by_id = {d.id: d for d in depts}
        consumer = _where(actor, depts, Permission.FILE_DEMAND)
        producer = _where(actor, depts, Permission.EDIT_CATALOG)
        governed = [d for d in depts if d.jurisdiction_id in actor.governs]
        mine = queries.list_demands(conn, {d.id for d in consumer})
        suggestions = {
            d.id: queries.suggest_for_demand(conn, d) for d in mine if d.status == "open"
        }
        unmet = (
            [d for d in queries.list_demands(conn, {d.id for d in governed}) if d.status == "open"]
            if actor.governs
            else []
        )
        duties = queries.list_duties(conn, {d.id for d in producer} | {d.id for d in governed})
        own_published = {
            d.id: queries.search_catalog(
                conn, queries.SearchQuery(provider_department_id=d.id, page_size=100)
            ).hits
            for d in producer
        }
    return render(
        request,
        "catalog/demands.html",
        {
            "today": today,
            "departments": by_id,
            "consumer": consumer,
            "demands": mine,
            "suggestions": suggestions,
            "unmet": unmet,
            "duties": duties,
            "governed": governed,
            "own_published": own_published,
        },
    )


@router.post("/demands")
def file_demand(
    request: Request,
    platform: PlatformDep,
    actor: FileDemand,
    consumer_department_id: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    duty: Annotated[str, Form()] = "",
    items: Annotated[str, Form()] = "",
) -> Response:
    return act_then_redirect(
        request,
        "/catalog/demands",
        lambda: collection.file_demand(
            platform.db,
            actor=actor,
            consumer_department_id=consumer_department_id,
            title=title,
            duty_text=duty,
            items=_lines(items),
        ),
    )


@router.post("/demands/{demand_id}/match")
def match_demand(
    request: Request,
    demand_id: str,
    platform: PlatformDep,
    actor: FileDemand,
    resource_id: Annotated[str, Form()] = "",
) -> Response:
    return act_then_redirect(
        request,
        "/catalog/demands",
        lambda: collection.match_demand(platform.db, demand_id, resource_id, actor=actor),
    )


@router.post("/duties")
def assign_duty(
    request: Request,
    platform: PlatformDep,
    actor: ReviewCatalog,
    producer_department_id: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    items: Annotated[str, Form()] = "",
    due_on: Annotated[str, Form()] = "",
    demand_id: Annotated[str, Form()] = "",
) -> Response:
    try:
        due = date.fromisoformat(due_on)
    except ValueError:
        flash(
            request,
            "完成期限格式不正确" if locale_of(request) == "zh_CN" else "the due date is not a date",
            "error",
        )
        return RedirectResponse("/catalog/demands", status_code=303)
    return act_then_redirect(
        request,
        "/catalog/demands",
        lambda: collection.assign_duty(
            platform.db,
            actor=actor,
            producer_department_id=producer_department_id,
            title=title,
            items=_lines(items),
            due_on=due,
            demand_id=demand_id or None,
        ),
    )


@router.post("/duties/{duty_id}/fulfil")
def fulfil_duty(
    request: Request,
    duty_id: str,
    platform: PlatformDep,
    actor: EditCatalog,
    resource_id: Annotated[str, Form()] = "",
) -> Response:
    return act_then_redirect(
        request,
        "/catalog/demands",
        lambda: collection.fulfil_duty(platform.db, duty_id, resource_id, actor=actor),
    )


# Change triggers and annual maintenance ---------------------------------------------------
@router.get("/changes")
def changes_page(request: Request, platform: PlatformDep, actor: EditCatalog) -> HTMLResponse:
    today = local_date(utcnow())
    with platform.db.read() as conn:
        depts = identity_queries.list_departments(conn)
        editable = _where(actor, depts, Permission.EDIT_CATALOG)
        visible = {d.id for d in editable} | {
            d.id for d in depts if d.jurisdiction_id in actor.governs
        }
        triggers = queries.change_triggers(conn, visible)
        needs_maintenance = [
            d
            for d in depts
            if d.id in visible
            and not d.is_operator
            and d.active
            and _profile_of(platform, conn, d).catalog.min_full_maintenance_per_year
        ]
        ids = [d.id for d in needs_maintenance]
        this_year = queries.maintenance_status(conn, ids, today.year)
        last_year = {
            m.department_id: m for m in queries.maintenance_status(conn, ids, today.year - 1)
        }
        notice = {
            d.id: _profile_of(platform, conn, d).catalog.change_needs_written_notice
            for d in editable
        }
    return render(
        request,
        "catalog/changes.html",
        {
            "today": today,
            "departments": {d.id: d for d in depts},
            "editable": editable,
            "triggers": triggers,
            "this_year": this_year,
            "last_year": last_year,
            "needs_notice": any(notice.values()),
            "governs": bool(actor.governs),
        },
    )


def _profile_of(platform: PlatformDep, conn: Connection, dept: Department) -> RuleProfile:
    j = identity_queries.get_jurisdiction(conn, dept.jurisdiction_id)
    return platform.profiles.get(j.profile) or platform.profiles["default"]


@router.post("/changes")
def record_change(
    request: Request,
    platform: PlatformDep,
    actor: EditCatalog,
    department_id: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    occurred_on: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    written_notice_ref: Annotated[str, Form()] = "",
) -> Response:
    try:
        when = date.fromisoformat(occurred_on)
        upkeep.record_change(
            platform.db,
            platform.profiles,
            actor=actor,
            department_id=department_id,
            kind=kind,
            occurred_on=when,
            description=description,
            written_notice_ref=written_notice_ref,
        )
    except ValueError:
        flash(request, "日期格式不正确" if locale_of(request) == "zh_CN" else "not a date", "error")
    except DomainError as exc:
        _fail(request, exc)
    return RedirectResponse("/catalog/changes", status_code=303)


@router.post("/changes/{trigger_id}/resolve")
def resolve_change(
    request: Request,
    trigger_id: str,
    platform: PlatformDep,
    actor: EditCatalog,
    resolution: Annotated[str, Form()] = "",
) -> Response:
    return act_then_redirect(
        request,
        "/catalog/changes",
        lambda: upkeep.resolve_change(platform.db, trigger_id, actor=actor, resolution=resolution),
    )


@router.post("/changes/{trigger_id}/report")
def report_change(
    request: Request, trigger_id: str, platform: PlatformDep, actor: ReviewCatalog
) -> Response:
    return act_then_redirect(
        request,
        "/catalog/changes",
        lambda: upkeep.report_change(platform.db, trigger_id, actor=actor),
    )


@router.post("/maintenance")
def record_maintenance(
    request: Request,
    platform: PlatformDep,
    actor: EditCatalog,
    department_id: Annotated[str, Form()] = "",
    completed_on: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        upkeep.record_maintenance(
            platform.db,
            actor=actor,
            department_id=department_id,
            completed_on=date.fromisoformat(completed_on),
            note=note,
        )
    except ValueError:
        flash(request, "日期格式不正确" if locale_of(request) == "zh_CN" else "not a date", "error")
    except DomainError as exc:
        _fail(request, exc)
    return RedirectResponse("/catalog/changes", status_code=303)
