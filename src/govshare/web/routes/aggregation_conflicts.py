"""Cross-source conflicts (一数一源 / 多元校核): the coordination pages (/conflicts) and the
JSON API (/api/v1/conflicts).

The authority (COORDINATE on the item's jurisdiction) sees the items of its jurisdictions,
names the authoritative source (数源部门) of an element, routes and settles items. A
provider's staff see the items that name their department and, for those routed to it,
mark them corrected after reloading or dispute them. Anyone else gets 404, as if the item
did not exist. Items show keys and values masked only; a raw 身份证号 typed into the lookup
is turned into its keyed fingerprint and never echoed back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from govshare.aggregation import crosscheck
from govshare.aggregation import crosscheck_coordination as coordination
from govshare.aggregation.crosscheck import CoordinationEvent, CoordinationItem, ItemStatus
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.identity.policy import Permission
from govshare.kernel.actor import Actor
from govshare.web.deps import PlatformDep, act_then_redirect, locale_of, policy, render
from govshare.web.routes.api import ERRORS

router = APIRouter()

ViewPools = Annotated[Actor, policy(Permission.VIEW_POOLS)]
Coordinate = Annotated[Actor, policy(Permission.COORDINATE)]
LoadData = Annotated[Actor, policy(Permission.LOAD_DATA)]

STATUSES = ("unresolved", "open", "routed", "resolved", "all")


@dataclass
class Names:
    departments: dict[str, Department]
    resources: dict[str, str]


def _names(conn: Connection, items: list[CoordinationItem]) -> Names:
    depts = {d.id: d for d in identity_queries.list_departments(conn)}
    rids = {i.a.resource_id for i in items} | {i.b.resource_id for i in items}
    return Names(depts, coordination.resource_names(conn, rids))


def _status(value: str) -> str:
    return "" if value in ("all", "") else value


# Pages -------------------------------------------------------------------------------
def _list_page(
    request: Request,
    platform: PlatformDep,
    actor: Actor,
    *,
    element: str = "",
    department_id: str = "",
    status: str = "unresolved",
    key: str | None = None,
) -> HTMLResponse:
    with platform.db.read() as conn:
        scope = coordination.scope_of(conn, actor)
        prints = None if key is None else crosscheck.key_fingerprints(conn, key)
        items = coordination.list_items(
            conn,
            scope,
            element=element,
            department_id=department_id,
            status=_status(status),
            key_fingerprints=prints,
        )
        names = _names(conn, items)
        sources = coordination.list_sources(conn, scope.jurisdictions)
        governed = [
            d
            for d in names.departments.values()
            if d.jurisdiction_id in scope.jurisdictions and not d.is_operator and d.active
        ]
        published = coordination.published_resources(conn, {d.id for d in governed})
        names.resources.update(
            {r.id: r.name for r in published if r.id not in names.resources}
            | coordination.resource_names(conn, {s.resource_id for s in sources if s.resource_id})
        )
        involved = sorted(
            {d for i in items for d in i.department_ids} | ({department_id} - {""}),
            key=lambda d: names.departments[d].short_name if d in names.departments else d,
        )
    routed_to_us = [
        i
        for i in items
        if i.status is ItemStatus.ROUTED and i.assignee_department_id in scope.acts_for
    ]
    return render(
        request,
        "aggregation/conflicts.html",
        {
            "items": items,
            "routed_to_us": routed_to_us,
            "names": names,
            "sources": sources,
            "governed": governed,
            "published": published,
            "involved": involved,
            "coordinates": bool(scope.jurisdictions),
            "filters": {
                "element": element,
                "department_id": department_id,
                "status": status,
                "lookup": key is not None,
            },
            "statuses": STATUSES,
        },
    )


@router.get("/conflicts", include_in_schema=False)
def conflicts_page(
    request: Request,
    platform: PlatformDep,
    actor: ViewPools,
    element: str = "",
    department_id: str = "",
    status: str = "unresolved",
) -> HTMLResponse:
    return _list_page(
        request, platform, actor, element=element, department_id=department_id, status=status
    )


@router.post("/conflicts/lookup", include_in_schema=False)
def lookup_page(
    request: Request,
    platform: PlatformDep,
    actor: ViewPools,
    key: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    """Find items by a 身份证号 or 统一社会信用代码 (posted, so it stays out of URLs and logs)."""
    return _list_page(request, platform, actor, status="all", key=key)


@router.get("/conflicts/{item_id}", include_in_schema=False)
def conflict_page(
    request: Request, item_id: str, platform: PlatformDep, actor: ViewPools
) -> HTMLResponse:
    with platform.db.read() as conn:
        item = coordination.visible_item(conn, actor, item_id)
        scope = coordination.scope_of(conn, actor)
        events = coordination.events_of(conn, item.id)
        names = _names(conn, [item])
    acts_for = set(item.department_ids) & scope.acts_for
    may_correct = bool(acts_for) and (
        item.status is ItemStatus.OPEN
        or (item.status is ItemStatus.ROUTED and item.assignee_department_id in acts_for)
    )
    return render(
        request,
        "aggregation/conflicts_detail.html",
        {
            "item": item,
            "events": events,
            "names": names,
            "coordinates": scope.coordinates(item),
            "may_correct": may_correct and item.status is not ItemStatus.RESOLVED,
            "may_dispute": item.status is ItemStatus.ROUTED
            and item.assignee_department_id in acts_for,
        },
    )


def _done(request: Request, zh: str, en: str) -> str:
    return zh if locale_of(request) == "zh_CN" else en


@router.post("/conflicts/sources", include_in_schema=False)
def name_source_form(
    request: Request,
    platform: PlatformDep,
    actor: Coordinate,
    element: Annotated[str, Form(max_length=100)] = "",
    department_id: Annotated[str, Form(max_length=26)] = "",
    resource_id: Annotated[str, Form(max_length=26)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    return act_then_redirect(
        request,
        "/conflicts",
        lambda: coordination.name_source(
            platform.db,
            actor=actor,
            element=element,
            department_id=department_id,
            resource_id=resource_id or None,
            note=note,
        ),
        done=_done(request, "已指定数源部门", "the authoritative source is named"),
    )


@router.post("/conflicts/{item_id}/route", include_in_schema=False)
def route_form(
    request: Request,
    item_id: str,
    platform: PlatformDep,
    actor: Coordinate,
    department_id: Annotated[str, Form(max_length=26)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    return act_then_redirect(
        request,
        f"/conflicts/{item_id}",
        lambda: coordination.route_item(
            platform.db, item_id, department_id, actor=actor, note=note
        ),
        done=_done(request, "已交办提供部门更正", "the item is routed to the provider"),
    )


@router.post("/conflicts/{item_id}/resolve", include_in_schema=False)
def resolve_form(
    request: Request,
    item_id: str,
    platform: PlatformDep,
    actor: Coordinate,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    return act_then_redirect(
        request,
        f"/conflicts/{item_id}",
        lambda: coordination.resolve_item(platform.db, item_id, actor=actor, note=note),
        done=_done(request, "协调事项已办结", "the item is resolved"),
    )


@router.post("/conflicts/{item_id}/corrected", include_in_schema=False)
def corrected_form(
    request: Request,
    item_id: str,
    platform: PlatformDep,
    actor: LoadData,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    return act_then_redirect(
        request,
        f"/conflicts/{item_id}",
        lambda: coordination.mark_corrected(platform.db, item_id, actor=actor, note=note),
        done=_done(request, "已标记为已更正", "the item is marked corrected"),
    )


@router.post("/conflicts/{item_id}/dispute", include_in_schema=False)
def dispute_form(
    request: Request,
    item_id: str,
    platform: PlatformDep,
    actor: LoadData,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    return act_then_redirect(
        request,
        f"/conflicts/{item_id}",
        lambda: coordination.dispute_item(platform.db, item_id, actor=actor, note=note),
        done=_done(request, "异议已提交数据主管部门", "the dispute went to the authority"),
    )


# JSON API ----------------------------------------------------------------------------
API = "/api/v1/conflicts"


class SideOut(BaseModel):
    department_id: str
    department: str
    resource_id: str
    resource: str
    item_code: str
    value_masked: str = Field(description="the value, masked by the element's sensitivity")


class EventOut(BaseModel):
    at: datetime
    action: str
    actor_name: str
    department_id: str | None
    batch_id: str | None
    note: str


class ItemOut(BaseModel):
    id: str
    jurisdiction_id: str
    element: str
    element_label: str
    key_kind: str
    key_masked: str = Field(description="the subject key, masked; never the raw key")
    sides: list[SideOut]
    status: ItemStatus
    assignee_department_id: str | None = Field(
        description="the provider that must correct (the responsible producer, NX-27)"
    )
    authoritative_department_id: str | None
    values_agree: bool
    disputed: bool
    opened_batch_id: str
    last_batch_id: str
    opened_at: datetime
    updated_at: datetime
    routed_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    resolved_by: str | None
    events: list[EventOut] | None = None


class ItemList(BaseModel):
    items: list[ItemOut]


class SourceOut(BaseModel):
    id: str
    jurisdiction_id: str
    element: str
    element_label: str
    department_id: str
    resource_id: str | None
    note: str
    named_by: str
    named_at: datetime


class SourceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    element: str = Field(max_length=100, description="数据元素 (data item name), e.g. 姓名")
    department_id: str = Field(max_length=26, description="the authoritative provider")
    resource_id: str | None = Field(default=None, max_length=26, description="or its resource")
    note: str = Field(default="", max_length=2000)


class RouteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department_id: str = Field(max_length=26)
    note: str = Field(default="", max_length=2000)


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000)


class LookupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=64, description="a 身份证号 or 统一社会信用代码")


def _out(
    item: CoordinationItem, names: Names, events: list[CoordinationEvent] | None = None
) -> ItemOut:
    def side(s: crosscheck.Side) -> SideOut:
        dept = names.departments.get(s.department_id)
        return SideOut(
            department_id=s.department_id,
            department=dept.name if dept else s.department_id,
            resource_id=s.resource_id,
            resource=names.resources.get(s.resource_id, s.resource_id),
            item_code=s.item_code,
            value_masked=s.value_masked,
        )

    plain: dict[str, Any] = {
        k: getattr(item, k) for k in ItemOut.model_fields if k not in ("sides", "events")
    }
    return ItemOut(
        **plain,
        sides=[side(item.a), side(item.b)],
        events=None
        if events is None
        else [
            EventOut(
                at=e.at,
                action=e.action.value,
                actor_name=e.actor_name,
                department_id=e.department_id,
                batch_id=e.batch_id,
                note=e.note,
            )
            for e in events
        ],
    )


def _one(platform: PlatformDep, actor: Actor, item_id: str) -> ItemOut:
    with platform.db.read() as conn:
        item = coordination.visible_item(conn, actor, item_id)
        return _out(item, _names(conn, [item]), coordination.events_of(conn, item.id))


@router.get(API, response_model=ItemList, tags=["aggregation"], responses=ERRORS)
def api_list(
    platform: PlatformDep,
    actor: ViewPools,
    element: Annotated[str, Query(max_length=100)] = "",
    department_id: Annotated[str, Query(max_length=26)] = "",
    status: Annotated[str, Query(pattern="^(unresolved|open|routed|resolved|all)$")] = "unresolved",
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> ItemList:
    """Coordination items the caller sees: its jurisdictions' (authority) or those naming
    its department (provider); unresolved ones unless ``status`` says otherwise."""
    with platform.db.read() as conn:
        items = coordination.list_items(
            conn,
            coordination.scope_of(conn, actor),
            element=element,
            department_id=department_id,
            status=_status(status),
            limit=limit,
        )
        names = _names(conn, items)
    return ItemList(items=[_out(i, names) for i in items])


@router.get(f"{API}/sources", response_model=list[SourceOut], tags=["aggregation"])
def api_sources(platform: PlatformDep, actor: ViewPools) -> list[SourceOut]:
    """Authoritative sources (数源部门) named in the caller's jurisdictions."""
    with platform.db.read() as conn:
        scope = coordination.scope_of(conn, actor)
        jurs = set(scope.jurisdictions) | {
            d.jurisdiction_id
            for d in identity_queries.list_departments(conn)
            if d.id in scope.departments
        }
        sources = coordination.list_sources(conn, jurs)
    return [SourceOut(**s.__dict__) for s in sources]


@router.post(f"{API}/sources", response_model=SourceOut, tags=["aggregation"], responses=ERRORS)
def api_name_source(platform: PlatformDep, actor: Coordinate, body: SourceBody) -> SourceOut:
    """Name the authoritative source of an element; open items on it are re-routed."""
    src = coordination.name_source(
        platform.db,
        actor=actor,
        element=body.element,
        department_id=body.department_id,
        resource_id=body.resource_id or None,
        note=body.note,
    )
    return SourceOut(**src.__dict__)


@router.post(f"{API}/lookup", response_model=ItemList, tags=["aggregation"], responses=ERRORS)
def api_lookup(platform: PlatformDep, actor: ViewPools, body: LookupBody) -> ItemList:
    """Items filed under a subject key (found by its keyed fingerprint; not echoed)."""
    with platform.db.read() as conn:
        items = coordination.list_items(
            conn,
            coordination.scope_of(conn, actor),
            key_fingerprints=crosscheck.key_fingerprints(conn, body.key),
        )
        names = _names(conn, items)
    return ItemList(items=[_out(i, names) for i in items])


@router.get(f"{API}/{{item_id}}", response_model=ItemOut, tags=["aggregation"], responses=ERRORS)
def api_item(item_id: str, platform: PlatformDep, actor: ViewPools) -> ItemOut:
    return _one(platform, actor, item_id)


@router.post(
    f"{API}/{{item_id}}/route", response_model=ItemOut, tags=["aggregation"], responses=ERRORS
)
def api_route(item_id: str, platform: PlatformDep, actor: Coordinate, body: RouteBody) -> ItemOut:
    """The authority assigns the item to one of its two providers to correct."""
    coordination.route_item(platform.db, item_id, body.department_id, actor=actor, note=body.note)
    return _one(platform, actor, item_id)


@router.post(
    f"{API}/{{item_id}}/resolve", response_model=ItemOut, tags=["aggregation"], responses=ERRORS
)
def api_resolve(item_id: str, platform: PlatformDep, actor: Coordinate, body: NoteBody) -> ItemOut:
    """The authority closes the item after joint verification (note required)."""
    coordination.resolve_item(platform.db, item_id, actor=actor, note=body.note)
    return _one(platform, actor, item_id)


@router.post(
    f"{API}/{{item_id}}/corrected", response_model=ItemOut, tags=["aggregation"], responses=ERRORS
)
def api_corrected(item_id: str, platform: PlatformDep, actor: LoadData, body: NoteBody) -> ItemOut:
    """The provider reloaded corrected data; refused while the values still differ."""
    coordination.mark_corrected(platform.db, item_id, actor=actor, note=body.note)
    return _one(platform, actor, item_id)


@router.post(
    f"{API}/{{item_id}}/dispute", response_model=ItemOut, tags=["aggregation"], responses=ERRORS
)
def api_dispute(item_id: str, platform: PlatformDep, actor: LoadData, body: NoteBody) -> ItemOut:
    """The provider holds its value right: back to the authority (note required)."""
    coordination.dispute_item(platform.db, item_id, actor=actor, note=body.note)
    return _one(platform, actor, item_id)
