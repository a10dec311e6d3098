"""Aggregation sources: source connectors (前置机) and aggregation agreements.

Pages under /sources and a JSON API under /api/v1/sources. The provider manages its
connectors (the URL is entered in a password field, stored encrypted and only ever shown
masked), runs them, and records its agreements, interface deliveries and extension requests;
the authority files agreements (NX-29), approves extensions (NX-13) and records offline
exchange approvals (HB-16). Handlers parse input, call one service, render.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from govshare.aggregation import agreements, connectors
from govshare.aggregation.agreements import AggregationMode, AgreementInput
from govshare.aggregation.connectors import Connector, ConnectorInput, SourceVault
from govshare.catalog import queries as catalog_queries
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department, InterfaceKind
from govshare.identity.policy import Permission, departments_where
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import NotFound, ValidationFailed
from govshare.platform import Platform
from govshare.web.deps import PlatformDep, act_then_redirect, flash, locale_of, policy, render
from govshare.web.routes.api import ERRORS

router = APIRouter()
PAGES = "/sources"
API = "/api/v1/sources"

ViewPools = Annotated[Actor, policy(Permission.VIEW_POOLS)]
LoadData = Annotated[Actor, policy(Permission.LOAD_DATA)]
Govern = Annotated[Actor, policy(Permission.GOVERN_AGGREGATION)]


def _done(request: Request, zh: str, en: str) -> str:
    return zh if locale_of(request) == "zh_CN" else en


def _vault(platform: Platform) -> SourceVault:
    return SourceVault.for_settings(platform.settings)


def _visible(conn: Connection, actor: Actor) -> list[Department]:
    """Departments whose sources ``actor`` may see: its own (provider staff) and those of
    the jurisdictions it governs."""
    return departments_where(actor, Permission.VIEW_POOLS, identity_queries.list_departments(conn))


def _loadable(conn: Connection, actor: Actor) -> list[Department]:
    return departments_where(actor, Permission.LOAD_DATA, identity_queries.list_departments(conn))


def _governed(conn: Connection, actor: Actor) -> list[Department]:
    return departments_where(
        actor, Permission.GOVERN_AGGREGATION, identity_queries.list_departments(conn)
    )


def _resources(conn: Connection, depts: list[Department]) -> list[catalog_queries.SearchHit]:
    out: list[catalog_queries.SearchHit] = []
    for d in depts:
        out.extend(
            catalog_queries.search_catalog(
                conn, catalog_queries.SearchQuery(provider_department_id=d.id, page_size=200)
            ).hits
        )
    return out


def _connector_or_404(conn: Connection, actor: Actor, connector_id: str) -> Connector:
    c = connectors.get_connector(conn, connector_id)
    if c.department_id not in {d.id for d in _visible(conn, actor)}:
        raise NotFound("数据源连接不存在", "no such source connector")
    return c


def _connector_view(conn: Connection, c: Connector) -> dict[str, Any]:
    interval = connectors.schedule_of(conn, c)
    nxt = connectors.next_run_at(c, interval, utcnow())
    body = c.public()
    body["interval_hours"] = interval.total_seconds() / 3600 if interval else None
    body["next_run_at"] = nxt.isoformat() if nxt else None
    return body


def _mapping(text: str) -> dict[str, str]:
    """``column=item`` per line (or separated by commas) → {column: item}."""
    out: dict[str, str] = {}
    for part in text.replace("，", ",").replace("\n", ",").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValidationFailed(
                "字段映射每项应为“源列=信息项”",
                "each mapping entry is 'column=item'",
                field="column_map",
            )
        col, item = part.split("=", 1)
        out[col.strip()] = item.strip()
    return out


def _int_or_none(value: str, field: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ValidationFailed("请输入整数", "enter a whole number", field=field) from exc


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError as exc:
        raise ValidationFailed(
            "日期格式应为YYYY-MM-DD", "dates are YYYY-MM-DD", field=field
        ) from exc


# Pages ------------------------------------------------------------------------------------
@router.get(PAGES, include_in_schema=False)
def sources_page(request: Request, platform: PlatformDep, actor: ViewPools) -> HTMLResponse:
    today = local_date(utcnow())
    with platform.db.read() as conn:
        visible = _visible(conn, actor)
        ids = {d.id for d in visible}
        loadable = _loadable(conn, actor)
        governed = _governed(conn, actor)
        resources = _resources(conn, visible)
        conns = [_connector_view(conn, c) for c in connectors.list_connectors(conn, ids)]
        agreed = {a.resource_id: a for a in agreements.list_agreements(conn, ids)}
        deliveries = agreements.list_deliveries(conn, ids)
        approvals = agreements.list_offline_approvals(conn, {r.resource_id for r in resources})
        gaps = agreements.front_end_gaps(conn, platform.profiles, ids)
        needs_approval = {
            d.id: agreements.offline_approval_required(conn, platform.profiles, d.id)
            for d in visible
        }
        front_ends = {
            d.id: [
                i
                for i in identity_queries.list_interfaces(conn, d.id)
                if i.active and i.kind is InterfaceKind.FRONT_END_PROCESSOR
            ]
            for d in loadable
        }
    by_id = {r.resource_id: r for r in resources}
    loadable_ids = {d.id for d in loadable}
    return render(
        request,
        "aggregation/sources.html",
        {
            "today": today,
            "departments": {d.id: d for d in visible},
            "resources": resources,
            "by_id": by_id,
            "own_resources": [r for r in resources if r.provider_department_id in loadable_ids],
            "connectors": conns,
            "agreements": agreed,
            "deliveries": deliveries,
            "approvals": approvals,
            "gaps": gaps,
            "needs_approval": needs_approval,
            "front_ends": front_ends,
            "governed_ids": {d.id for d in governed},
            "loadable_ids": loadable_ids,
            "modes": list(AggregationMode),
        },
    )


@router.get(PAGES + "/connectors/{connector_id}", include_in_schema=False)
def connector_page(
    request: Request, connector_id: str, platform: PlatformDep, actor: ViewPools
) -> HTMLResponse:
    with platform.db.read() as conn:
        c = _connector_or_404(conn, actor, connector_id)
        view = _connector_view(conn, c)
        runs = connectors.list_runs(conn, c.id)
        res = catalog_queries.get_resource(conn, c.resource_id)
        editable = c.department_id in {d.id for d in _loadable(conn, actor)}
    return render(
        request,
        "aggregation/sources_connector.html",
        {"c": view, "runs": runs, "resource": res, "editable": editable},
    )


class ConnectorForm(BaseModel):
    """The connector form as the pages post it (all text; parsed by ``to_input``)."""

    name: str = ""
    url: str = ""
    source_table: str = ""
    source_query: str = ""
    incremental_column: str = ""
    column_map: str = ""
    batch_rows: str = ""
    enabled: str = ""

    def to_input(self) -> ConnectorInput:
        return ConnectorInput(
            name=self.name,
            url=self.url,
            source_table=self.source_table,
            source_query=self.source_query,
            incremental_column=self.incremental_column,
            column_map=_mapping(self.column_map),
            batch_rows=_int_or_none(self.batch_rows, "batch_rows") or connectors.DEFAULT_BATCH_ROWS,
            enabled=bool(self.enabled),
        )


class NewConnectorForm(ConnectorForm):
    resource_id: str = ""


@router.post(PAGES + "/connectors", include_in_schema=False)
def create_connector_form(
    request: Request,
    platform: PlatformDep,
    actor: LoadData,
    form: Annotated[NewConnectorForm, Form()],
) -> Response:
    return act_then_redirect(
        request,
        PAGES,
        lambda: connectors.create_connector(
            platform.db,
            form.resource_id,
            form.to_input(),
            actor=actor,
            vault=_vault(platform),
        ),
        done=_done(request, "数据源连接已保存", "Connector saved"),
    )


@router.post(PAGES + "/connectors/{connector_id}", include_in_schema=False)
def update_connector_form(
    request: Request,
    connector_id: str,
    platform: PlatformDep,
    actor: LoadData,
    form: Annotated[ConnectorForm, Form()],
) -> Response:
    return act_then_redirect(
        request,
        f"{PAGES}/connectors/{connector_id}",
        lambda: connectors.update_connector(
            platform.db,
            connector_id,
            form.to_input(),
            actor=actor,
            vault=_vault(platform),
        ),
        done=_done(request, "已保存", "Saved"),
    )


@router.post(PAGES + "/connectors/{connector_id}/run", include_in_schema=False)
def run_connector_form(
    request: Request, connector_id: str, platform: PlatformDep, actor: LoadData
) -> Response:
    zh = locale_of(request) == "zh_CN"

    def run() -> None:
        r = connectors.run_connector(platform.db, connector_id, actor, vault=_vault(platform))
        if r.status == "failed":
            flash(request, (f"运行失败：{r.error}" if zh else f"Run failed: {r.error}"), "error")
        else:
            flash(request, (f"已汇聚{r.rows}行" if zh else f"{r.rows} rows pulled"))

    return act_then_redirect(request, f"{PAGES}/connectors/{connector_id}", run)


@router.post(PAGES + "/connectors/{connector_id}/reset", include_in_schema=False)
def reset_connector_form(
    request: Request, connector_id: str, platform: PlatformDep, actor: LoadData
) -> Response:
    return act_then_redirect(
        request,
        f"{PAGES}/connectors/{connector_id}",
        lambda: connectors.reset_cursor(platform.db, connector_id, actor=actor),
        done=_done(request, "游标已重置", "Cursor reset"),
    )


@router.post(PAGES + "/agreements/{resource_id}", include_in_schema=False)
def save_agreement_form(
    request: Request,
    resource_id: str,
    platform: PlatformDep,
    actor: LoadData,
    mode: Annotated[str, Form()] = "",
    interval_hours: Annotated[str, Form()] = "",
    agreed_cycle_days: Annotated[str, Form()] = "",
    front_end_interface_id: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    def save() -> None:
        try:
            m = AggregationMode(mode)
        except ValueError as exc:
            raise ValidationFailed(
                "汇聚方式无效", "unknown aggregation mode", field="mode"
            ) from exc
        agreements.save_agreement(
            platform.db,
            resource_id,
            AgreementInput(
                mode=m,
                interval_hours=_int_or_none(interval_hours, "interval_hours"),
                agreed_cycle_days=_int_or_none(agreed_cycle_days, "agreed_cycle_days"),
                front_end_interface_id=front_end_interface_id or None,
                note=note,
            ),
            actor=actor,
        )

    return act_then_redirect(request, PAGES, save, done=_done(request, "约定已保存", "Saved"))


@router.post(PAGES + "/agreements/{resource_id}/file", include_in_schema=False)
def file_agreement_form(
    request: Request,
    resource_id: str,
    platform: PlatformDep,
    actor: Govern,
    filing_ref: Annotated[str, Form()] = "",
) -> Response:
    return act_then_redirect(
        request,
        PAGES,
        lambda: agreements.file_agreement(
            platform.db, platform.profiles, resource_id, filing_ref=filing_ref, actor=actor
        ),
        done=_done(request, "已备案", "Filed"),
    )


@router.post(PAGES + "/deliveries", include_in_schema=False)
def record_delivery_form(
    request: Request,
    platform: PlatformDep,
    actor: Govern,
    resource_id: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    agreed_on: Annotated[str, Form()] = "",
) -> Response:
    return act_then_redirect(
        request,
        PAGES,
        lambda: agreements.record_interface_request(
            platform.db,
            resource_id,
            title=title,
            agreed_on=_date(agreed_on, "agreed_on"),
            actor=actor,
        ),
    )


@router.post(PAGES + "/deliveries/{delivery_id}/extensions", include_in_schema=False)
def request_extension_form(
    request: Request,
    delivery_id: str,
    platform: PlatformDep,
    actor: LoadData,
    working_days: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    return act_then_redirect(
        request,
        PAGES,
        lambda: agreements.request_extension(
            platform.db,
            delivery_id,
            working_days=_int_or_none(working_days, "working_days") or 0,
            reason=reason,
            actor=actor,
        ),
    )


@router.post(PAGES + "/deliveries/{delivery_id}/delivered", include_in_schema=False)
def delivered_form(
    request: Request, delivery_id: str, platform: PlatformDep, actor: LoadData
) -> Response:
    return act_then_redirect(
        request, PAGES, lambda: agreements.mark_delivered(platform.db, delivery_id, actor=actor)
    )


@router.post(PAGES + "/extensions/{extension_id}/decide", include_in_schema=False)
def decide_extension_form(
    request: Request,
    extension_id: str,
    platform: PlatformDep,
    actor: Govern,
    decision: Annotated[str, Form()] = "",
) -> Response:
    return act_then_redirect(
        request,
        PAGES,
        lambda: agreements.decide_extension(
            platform.db, extension_id, approve=decision == "approve", actor=actor
        ),
    )


@router.post(PAGES + "/offline-approvals", include_in_schema=False)
def record_approval_form(
    request: Request,
    platform: PlatformDep,
    actor: Govern,
    resource_id: Annotated[str, Form()] = "",
    approval_ref: Annotated[str, Form()] = "",
    agency: Annotated[str, Form()] = "",
    approved_on: Annotated[str, Form()] = "",
    valid_until: Annotated[str, Form()] = "",
) -> Response:
    return act_then_redirect(
        request,
        PAGES,
        lambda: agreements.record_offline_approval(
            platform.db,
            resource_id,
            approval_ref=approval_ref,
            agency=agency,
            approved_on=_date(approved_on, "approved_on"),
            valid_until=_date(valid_until, "valid_until") if valid_until.strip() else None,
            actor=actor,
        ),
    )


@router.post(PAGES + "/offline-approvals/{approval_id}/revoke", include_in_schema=False)
def revoke_approval_form(
    request: Request, approval_id: str, platform: PlatformDep, actor: Govern
) -> Response:
    return act_then_redirect(
        request,
        PAGES,
        lambda: agreements.revoke_offline_approval(platform.db, approval_id, actor=actor),
    )


# JSON API ---------------------------------------------------------------------------------
class ConnectorBody(BaseModel):
    """A source connector. ``url`` is write-only: responses carry it masked."""

    model_config = ConfigDict(extra="forbid")
    resource_id: str | None = Field(default=None, description="on create: the resource")
    name: str = Field(max_length=100)
    url: str | None = Field(
        default=None,
        max_length=2000,
        description="SQLAlchemy URL of the department's database; omit on update to keep it",
    )
    source_table: str | None = None
    source_query: str | None = Field(default=None, max_length=20_000)
    incremental_column: str
    column_map: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True
    batch_rows: int = connectors.DEFAULT_BATCH_ROWS

    def input(self) -> ConnectorInput:
        return ConnectorInput(
            name=self.name,
            url=self.url,
            source_table=self.source_table,
            source_query=self.source_query,
            incremental_column=self.incremental_column,
            column_map=self.column_map,
            enabled=self.enabled,
            batch_rows=self.batch_rows,
        )


@router.get(API + "/connectors", tags=["sources"], responses=ERRORS)
def api_list_connectors(platform: PlatformDep, actor: ViewPools) -> dict[str, Any]:
    with platform.db.read() as conn:
        ids = {d.id for d in _visible(conn, actor)}
        return {
            "connectors": [_connector_view(conn, c) for c in connectors.list_connectors(conn, ids)]
        }


@router.post(API + "/connectors", tags=["sources"], responses=ERRORS, status_code=201)
def api_create_connector(
    body: ConnectorBody, platform: PlatformDep, actor: LoadData
) -> dict[str, Any]:
    if not body.resource_id:
        raise ValidationFailed("请指明资源", "name the resource", field="resource_id")
    c = connectors.create_connector(
        platform.db, body.resource_id, body.input(), actor=actor, vault=_vault(platform)
    )
    with platform.db.read() as conn:
        return _connector_view(conn, c)


@router.get(API + "/connectors/{connector_id}", tags=["sources"], responses=ERRORS)
def api_get_connector(connector_id: str, platform: PlatformDep, actor: ViewPools) -> dict[str, Any]:
    with platform.db.read() as conn:
        c = _connector_or_404(conn, actor, connector_id)
        body = _connector_view(conn, c)
        body["runs"] = [_jsonable(asdict(r)) for r in connectors.list_runs(conn, c.id)]
        return body


@router.put(API + "/connectors/{connector_id}", tags=["sources"], responses=ERRORS)
def api_update_connector(
    connector_id: str, body: ConnectorBody, platform: PlatformDep, actor: LoadData
) -> dict[str, Any]:
    c = connectors.update_connector(
        platform.db, connector_id, body.input(), actor=actor, vault=_vault(platform)
    )
    with platform.db.read() as conn:
        return _connector_view(conn, c)


@router.post(API + "/connectors/{connector_id}/run", tags=["sources"], responses=ERRORS)
def api_run_connector(connector_id: str, platform: PlatformDep, actor: LoadData) -> dict[str, Any]:
    r = connectors.run_connector(platform.db, connector_id, actor, vault=_vault(platform))
    return {
        "connector_id": r.connector_id,
        "status": r.status,
        "rows": r.rows,
        "batches": [b.id for b in r.batches],
        "cursor_from": None if r.cursor_from is None else str(r.cursor_from),
        "cursor_to": None if r.cursor_to is None else str(r.cursor_to),
        "error_code": r.error_code,
        "error": r.error,
    }


@router.post(API + "/connectors/{connector_id}/reset-cursor", tags=["sources"], responses=ERRORS)
def api_reset_cursor(connector_id: str, platform: PlatformDep, actor: LoadData) -> dict[str, Any]:
    c = connectors.reset_cursor(platform.db, connector_id, actor=actor)
    with platform.db.read() as conn:
        return _connector_view(conn, c)


class AgreementBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: AggregationMode
    interval_hours: int | None = None
    agreed_cycle_days: int | None = None
    front_end_interface_id: str | None = None
    note: str = Field(default="", max_length=2000)


def _agreement_json(a: agreements.Agreement | None) -> dict[str, Any] | None:
    if a is None:
        return None
    body = asdict(a)
    body["mode"] = a.mode.value
    body["filed"] = a.filed
    for k in ("filed_at", "updated_at"):
        body[k] = body[k].isoformat() if body[k] else None
    return body


def _resource_visible(conn: Connection, actor: Actor, resource_id: str) -> None:
    res = catalog_queries.get_resource(conn, resource_id)
    if res.provider_department_id not in {d.id for d in _visible(conn, actor)}:
        raise NotFound("资源不存在", "no such resource")


@router.get(API + "/agreements/{resource_id}", tags=["sources"], responses=ERRORS)
def api_get_agreement(resource_id: str, platform: PlatformDep, actor: ViewPools) -> dict[str, Any]:
    with platform.db.read() as conn:
        _resource_visible(conn, actor, resource_id)
        return {
            "agreement": _agreement_json(agreements.get_agreement(conn, resource_id)),
            "agreed_cycle_days": agreements.agreed_cycle_days(conn, resource_id),
        }


@router.put(API + "/agreements/{resource_id}", tags=["sources"], responses=ERRORS)
def api_save_agreement(
    resource_id: str, body: AgreementBody, platform: PlatformDep, actor: LoadData
) -> dict[str, Any] | None:
    a = agreements.save_agreement(
        platform.db,
        resource_id,
        AgreementInput(
            mode=body.mode,
            interval_hours=body.interval_hours,
            agreed_cycle_days=body.agreed_cycle_days,
            front_end_interface_id=body.front_end_interface_id,
            note=body.note,
        ),
        actor=actor,
    )
    return _agreement_json(a)


class FilingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filing_ref: str = Field(default="", max_length=200)


@router.post(API + "/agreements/{resource_id}/filing", tags=["sources"], responses=ERRORS)
def api_file_agreement(
    resource_id: str, body: FilingBody, platform: PlatformDep, actor: Govern
) -> dict[str, Any] | None:
    a = agreements.file_agreement(
        platform.db, platform.profiles, resource_id, filing_ref=body.filing_ref, actor=actor
    )
    return _agreement_json(a)


class DeliveryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resource_id: str
    title: str = Field(max_length=200)
    agreed_on: date


class ExtensionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    working_days: int
    reason: str = Field(max_length=5000)


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool


def _delivery_json(d: agreements.Delivery) -> dict[str, Any]:
    return dict(_jsonable(asdict(d)))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):  # date and datetime
        return value.isoformat()
    return value


@router.get(API + "/deliveries", tags=["sources"], responses=ERRORS)
def api_list_deliveries(platform: PlatformDep, actor: ViewPools) -> dict[str, Any]:
    with platform.db.read() as conn:
        ids = {d.id for d in _visible(conn, actor)}
        return {"deliveries": [_delivery_json(d) for d in agreements.list_deliveries(conn, ids)]}


@router.post(API + "/deliveries", tags=["sources"], responses=ERRORS, status_code=201)
def api_record_delivery(body: DeliveryBody, platform: PlatformDep, actor: Govern) -> dict[str, Any]:
    d = agreements.record_interface_request(
        platform.db, body.resource_id, title=body.title, agreed_on=body.agreed_on, actor=actor
    )
    return _delivery_json(d)


@router.post(
    API + "/deliveries/{delivery_id}/extensions",
    tags=["sources"],
    responses=ERRORS,
    status_code=201,
)
def api_request_extension(
    delivery_id: str, body: ExtensionBody, platform: PlatformDep, actor: LoadData
) -> dict[str, Any]:
    e = agreements.request_extension(
        platform.db, delivery_id, working_days=body.working_days, reason=body.reason, actor=actor
    )
    return dict(_jsonable(asdict(e)))


@router.post(API + "/extensions/{extension_id}/decision", tags=["sources"], responses=ERRORS)
def api_decide_extension(
    extension_id: str, body: DecisionBody, platform: PlatformDep, actor: Govern
) -> dict[str, Any]:
    e = agreements.decide_extension(platform.db, extension_id, approve=body.approve, actor=actor)
    return dict(_jsonable(asdict(e)))


@router.post(API + "/deliveries/{delivery_id}/delivered", tags=["sources"], responses=ERRORS)
def api_delivered(delivery_id: str, platform: PlatformDep, actor: LoadData) -> dict[str, Any]:
    return _delivery_json(agreements.mark_delivered(platform.db, delivery_id, actor=actor))


class ApprovalBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resource_id: str
    approval_ref: str = Field(max_length=200)
    agency: str = Field(default="省大数据主管部门", max_length=200)
    approved_on: date
    valid_until: date | None = None
    note: str = Field(default="", max_length=2000)


@router.get(API + "/offline-approvals", tags=["sources"], responses=ERRORS)
def api_list_approvals(platform: PlatformDep, actor: ViewPools) -> dict[str, Any]:
    with platform.db.read() as conn:
        resources = _resources(conn, _visible(conn, actor))
        found = agreements.list_offline_approvals(conn, {r.resource_id for r in resources})
        return {"approvals": [_jsonable(asdict(a)) for a in found]}


@router.post(API + "/offline-approvals", tags=["sources"], responses=ERRORS, status_code=201)
def api_record_approval(body: ApprovalBody, platform: PlatformDep, actor: Govern) -> dict[str, Any]:
    a = agreements.record_offline_approval(
        platform.db,
        body.resource_id,
        approval_ref=body.approval_ref,
        agency=body.agency,
        approved_on=body.approved_on,
        valid_until=body.valid_until,
        note=body.note,
        actor=actor,
    )
    return dict(_jsonable(asdict(a)))


@router.post(API + "/offline-approvals/{approval_id}/revoke", tags=["sources"], responses=ERRORS)
def api_revoke_approval(approval_id: str, platform: PlatformDep, actor: Govern) -> dict[str, Any]:
    a = agreements.revoke_offline_approval(platform.db, approval_id, actor=actor)
    return dict(_jsonable(asdict(a)))


@router.get(API + "/front-end-gaps", tags=["sources"], responses=ERRORS)
def api_front_end_gaps(platform: PlatformDep, actor: ViewPools) -> dict[str, Any]:
    """YX-22: published resources without a recorded data-exchange front-end system."""
    with platform.db.read() as conn:
        ids = {d.id for d in _visible(conn, actor)}
        return {
            "gaps": [asdict(g) for g in agreements.front_end_gaps(conn, platform.profiles, ids)]
        }
