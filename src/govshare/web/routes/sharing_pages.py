"""Sharing pages (共享): the inbox (待办) sorted by due date, the application lists, the
application wizard, and the application page with its timeline, the action forms of whoever
may act, the negotiation thread and the attachments. Grants are in ``sharing_grants``.

Handlers stay thin: parse, call one service or query, render. The services decide every
action; the page only shows a form to those the services would admit. An application is
seen by its consumer and provider departments, the provider's delegated reviewer and the
authority over the provider; anyone else gets 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from govshare.catalog import queries as catalog_queries
from govshare.catalog.model import ResourceStatus
from govshare.catalog.queries import SearchQuery
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.identity.policy import Permission, departments_where
from govshare.kernel.actor import Actor
from govshare.kernel.errors import DomainError, NotFound, ValidationFailed
from govshare.platform import Platform
from govshare.rules import RuleProfile
from govshare.sharing import negotiation as negotiation_services
from govshare.sharing import pages, queries, services
from govshare.sharing.attachments import MAX_BYTES, add_attachment, read_attachment, sniff
from govshare.sharing.model import (
    ApplicationState,
    AttachmentKind,
    Masking,
    NegotiationState,
    Purpose,
    StepKind,
)
from govshare.web.deps import PlatformDep, flash, locale_of, policy, render
from govshare.web.routes.sharing_common import (
    SIDES,
    act,
    client_system_or_none,
    departments_by_id,
    download,
    msg,
    posted_file,
    profile_of,
    read_upload,
    side_filter,
    store_dir,
    text,
    today,
)
from govshare.web.routes.sharing_forms import WizardForm, decision_from_form

router = APIRouter(prefix="/sharing", include_in_schema=False)

# Every government user may open the sharing pages; what each sees and may do is decided
# per application by its parties (sharing.pages) and, for every action, by the services.
ViewSharing = Annotated[Actor, policy(Permission.VIEW_CATALOG)]
FileApplication = Annotated[Actor, policy(Permission.FILE_DEMAND)]


# Inbox and lists -------------------------------------------------------------------------
@router.get("")
def home(actor: ViewSharing) -> Response:
    return RedirectResponse("/sharing/inbox", status_code=303)


@router.get("/inbox")
def inbox(request: Request, platform: PlatformDep, actor: ViewSharing) -> HTMLResponse:
    """The open steps of the user's departments, soonest due first; the authority also
    sees every overdue step in the jurisdictions it governs."""
    with platform.db.read() as conn:
        governed = actor.governs if pages.governs_any(actor) else frozenset()
        rows = pages.tasks(conn, pages.member_departments(actor), governed, today())
        labels = pages.resource_labels(conn, [r.resource_id for r in rows])
        departments = departments_by_id(conn)
        destruction = [
            g
            for d in sorted(pages.member_departments(actor))
            if pages.files_for(actor, d)
            for g in queries.destruction_due(conn, d)
        ]
        grant_labels = pages.resource_labels(conn, [g.resource_id for g in destruction])
    return render(
        request,
        "sharing/inbox.html",
        {
            "rows": [r for r in rows if r.mine],
            "supervised": [r for r in rows if not r.mine],
            "labels": labels,
            "departments": departments,
            "destruction": destruction,
            "grant_labels": grant_labels,
            "tab": "inbox",
        },
    )


@router.get("/applications")
def applications(
    request: Request,
    platform: PlatformDep,
    actor: ViewSharing,
    side: str = "consumer",
    state: str = "",
) -> HTMLResponse:
    side = side if side in SIDES else "consumer"
    states = tuple(s for s in ApplicationState if s.value == state)
    with platform.db.read() as conn:
        departments = departments_by_id(conn)
        where = side_filter(actor, departments, side)
        rows = queries.applications_where(conn, **where, states=states)
        labels = pages.resource_labels(conn, [r.resource_id for r in rows])
    return render(
        request,
        "sharing/applications.html",
        {
            "rows": rows,
            "side": side,
            "state": state,
            "states": list(ApplicationState),
            "labels": labels,
            "departments": departments,
            "may_govern": pages.governs_any(actor),
            "tab": f"applications-{side}",
        },
    )


# The wizard --------------------------------------------------------------------------------
def _filer_departments(conn: Connection, actor: Actor) -> list[Department]:
    return departments_where(actor, Permission.FILE_DEMAND, identity_queries.list_departments(conn))


def _wizard_context(
    conn: Connection,
    platform: Platform,
    actor: Actor,
    resource_id: str,
    form: WizardForm,
    q: str = "",
) -> dict[str, Any]:
    filers = _filer_departments(conn, actor)
    ctx: dict[str, Any] = {
        "filers": filers,
        "form": form,
        "q": q,
        "purposes": list(Purpose),
        "tab": "apply",
    }
    if not resource_id:
        if q.strip():
            ctx["hits"] = catalog_queries.search_catalog(conn, SearchQuery(q=q, page_size=30)).hits
        return ctx
    try:
        res = catalog_queries.get_resource(conn, resource_id)
    except NotFound:
        raise NotFound("目录条目不存在", "no such catalog entry") from None
    version = catalog_queries.published_version(conn, resource_id)
    provider = identity_queries.get_department(conn, res.provider_department_id)
    ctx.update({"resource": res, "version": version, "provider": provider})
    if version is None or res.status is not ResourceStatus.PUBLISHED:
        ctx["unpublished"] = True
        return ctx
    entry = version.entry
    profile = profile_of(conn, platform.profiles, provider)
    rules = profile.sharing
    category = entry.share_category.value if entry.share_category else ""
    consumers = [d for d in filers if d.id != provider.id]
    dedicated = rules.dedicated_resources and any(
        d.id in entry.dedicated_department_ids for d in consumers
    )
    offered = [m.value for m in entry.delivery_modes]
    if category == "not_shared":  # it offers no mode; coordination may grant any the rules know
        offered = [str(m) for m in profile.delivery.modes]
    systems = identity_queries.list_client_systems(conn, department_ids={d.id for d in consumers})
    clients = [c for c in systems if c.active and c.revoked_at is None]
    if not form.values.get("department_id") and consumers:
        form.values["department_id"] = consumers[0].id
    if not form.values.get("valid_until"):
        form.values["valid_until"] = (today() + timedelta(days=365)).isoformat()
    if not form.modes and len(offered) == 1:
        form.modes = list(offered)
    ctx.update(
        {
            "e": entry,
            "profile": profile,
            "category": category,
            "consumers": consumers,
            "clients": clients,
            "offered": offered,
            "not_shared": category == "not_shared",
            "direct_use": category == "unconditional"
            and not rules.unconditional_needs_application
            and not dedicated,
            "dedicated": dedicated,
            "batch_reason": profile.delivery.batch_only_when_query_or_verify_insufficient
            and "batch" in offered,
            "preferred": [m for m in profile.delivery.preference if m != "batch"],
            "controlled": bool(entry.controlled_parameters.strip()),
            "coordination_path": (services.COORDINATION_PATH_ZH, services.COORDINATION_PATH_EN),
        }
    )
    return ctx


def _prefill_renewal(conn: Connection, actor: Actor, grant_id: str, form: WizardForm) -> str:
    """A renewal starts from the grant (and its application): same resource, items, modes,
    purpose, scenario and basis; the consumer states a new validity."""
    g, p, _ = pages.visible_grant(conn, actor, grant_id)
    if not p.consumer_filer:
        raise NotFound("授权不存在或无权查看", "no such grant, or not yours to see")
    form.values.update(
        {
            "department_id": g.consumer_department_id,
            "purpose": g.purpose,
            "client_system_id": g.client_system_id or "",
            "renews_grant_id": g.id,
            "controlled_parameters": g.controlled_parameters,
        }
    )
    form.items = [i.code for i in g.items]
    form.modes = list(g.modes)
    if g.application_id:
        app = queries.get_application(conn, g.application_id)
        form.values.update({"scenario": app.scenario, "legal_basis": app.legal_basis})
        form.values["batch_justification"] = app.batch_justification
    return g.resource_id


@router.get("/apply")
def apply_page(
    request: Request,
    platform: PlatformDep,
    actor: FileApplication,
    resource_id: str = "",
    q: str = "",
    renews: str = "",
) -> HTMLResponse:
    form = WizardForm(values={"resource_id": resource_id})
    with platform.db.read() as conn:
        if renews:
            resource_id = _prefill_renewal(conn, actor, renews, form)
            form.values["resource_id"] = resource_id
        context = _wizard_context(conn, platform, actor, resource_id, form, q)
    return render(request, "sharing/apply.html", context)


def _check_files(files: list[tuple[str, bytes]]) -> None:
    """Refuse a bad attachment before the application is stored."""
    for name, data in files:
        if not data:
            raise ValidationFailed(
                "文件为空", "the file is empty", code="attachment_empty", field="files"
            )
        if len(data) > MAX_BYTES:
            raise ValidationFailed(
                "文件超过 20 MB",
                "the file exceeds 20 MB",
                code="attachment_too_large",
                field="files",
            )
        try:
            sniff(name, data)
        except ValidationFailed as exc:
            raise ValidationFailed(
                exc.message_zh, exc.message_en, code=exc.code, field="files"
            ) from None


@router.post("/apply")
async def apply_submit(request: Request, platform: PlatformDep, actor: FileApplication) -> Response:
    form = WizardForm.read(await request.form())
    files = [(f.filename or "", await read_upload(f)) for f in form.files]
    # the writes: in a worker thread, not on the event loop's
    return await run_in_threadpool(_apply, request, platform, actor, form, files)


def _apply(
    request: Request,
    platform: Platform,
    actor: Actor,
    form: WizardForm,
    files: list[tuple[str, bytes]],
) -> Response:
    try:
        _check_files(files)
        data = form.application()
        if form.action == "coordinate":
            app = negotiation_services.request_coordination(
                platform.db, platform.profiles, data, actor=actor, reason=form.values["reason"]
            )
        else:
            app = services.submit_application(platform.db, platform.profiles, data, actor=actor)
    except DomainError as exc:
        with platform.db.read() as conn:
            context = _wizard_context(conn, platform, actor, form.values["resource_id"], form)
        context["error"] = exc.message(locale_of(request))
        context["errors"] = {exc.field or "_": exc.message(locale_of(request))}
        return render(request, "sharing/apply.html", context, status=exc.status)
    failed = []
    for name, content in files:  # supporting documents, each audited on its own
        try:
            add_attachment(
                platform.db,
                store_dir(platform),
                owner_kind="application",
                owner_id=app.id,
                kind=AttachmentKind.SUPPORTING,
                filename=name,
                data=content,
                actor=actor,
            )
        except DomainError:
            failed.append(name)
    if failed:
        flash(
            request,
            msg(
                request,
                f"申请已提交，但以下附件未能保存，请在申请页重新上传：{'、'.join(failed)}",
                "submitted, but these files were not saved; upload them again: "
                + ", ".join(failed),
            ),
            "error",
        )
    elif form.action == "coordinate":
        flash(request, msg(request, "已提请数据主管部门协调", "sent to the data authority"))
    else:
        flash(request, msg(request, "共享申请已提交", "share application submitted"))
    return RedirectResponse(f"/sharing/applications/{app.id}", status_code=303)


# The application page ----------------------------------------------------------------------
def application_context(
    conn: Connection, platform: Platform, actor: Actor, application_id: str
) -> dict[str, Any]:
    app, p = pages.visible_application(conn, actor, application_id)
    departments = departments_by_id(conn)
    provider = departments[app.provider_department_id]
    profile = profile_of(conn, platform.profiles, provider)
    version = catalog_queries.get_version(conn, app.version_id)
    items = {i.code: i for i in version.entry.data_items}
    case = queries.negotiation_of(conn, app.id)
    grant = queries.get_grant(conn, app.grant_id) if app.grant_id else None
    open_steps = {s.kind: s for s in app.steps if s.at is None}
    decision = open_steps.get(StepKind.DECISION)
    decided_by_authority = (
        decision is not None
        and decision.department_id is not None
        and decision.department_id != provider.id
        and departments[decision.department_id].is_authority
    )
    may_agent = (
        p.agent and profile.sharing.delegated_reviewer and app.share_category == "conditional"
    )
    may_decide = decision is not None and (
        p.authority if decided_by_authority else (p.provider or may_agent)
    )
    party = p.consumer_filer or p.provider or p.agent
    live = case is not None and case.state is not NegotiationState.CLOSED
    negotiating = case is not None and case.state is NegotiationState.OPEN
    client = client_system_or_none(conn, app.client_system_id)
    may = {
        "review": StepKind.COMPLIANCE_REVIEW in open_steps and p.authority,
        "authorise": StepKind.DIRECT_AUTHORISATION in open_steps and p.authority,
        "decide": may_decide,
        "notice": StepKind.CONSUMER_NOTICE in open_steps and p.authority,
        "negotiate": app.state is ApplicationState.REFUSED and case is None and p.consumer_filer,
        "post": live
        and (
            party
            or (p.authority and case is not None and case.state is NegotiationState.COORDINATION)
        ),
        "agree": negotiating and (p.provider or p.agent),
        "withdraw": live and p.consumer_filer,
        "escalate": negotiating and party,
        "coordinate": case is not None
        and case.state is NegotiationState.COORDINATION
        and p.authority,
        "attach": party or p.authority,
    }
    return {
        "app": app,
        "parties": p,
        "may": may,
        "departments": departments,
        "provider": provider,
        "profile": profile,
        "version": version,
        "e": version.entry,
        "items": items,
        "case": case,
        "grant": grant,
        "client": client,
        "attachments": queries.attachments_of(conn, "application", app.id),
        "basis_types": _basis_types(profile),
        "agreement_choice": profile.security.security_agreement == "provider_decides",
        "maskings": [m.value for m in Masking],
        "today": today(),
        "action_error": None,
        "posted": {},
    }


def _basis_types(profile: RuleProfile) -> list[str]:
    types = [str(t) for t in profile.classification.basis.accepted_types]
    return [*types, *([] if "department_internal_rule" in types else ["department_internal_rule"])]


@router.get("/applications/{application_id}")
def application_page(
    request: Request, application_id: str, platform: PlatformDep, actor: ViewSharing
) -> HTMLResponse:
    with platform.db.read() as conn:
        context = application_context(conn, platform, actor, application_id)
    return render(request, "sharing/application.html", context)


async def _act(
    request: Request,
    platform: Platform,
    actor: Actor,
    application_id: str,
    form_name: str,
    call: Callable[[FormData], object],
    done: tuple[str, str],
) -> Response:
    """Run one action form of the application page (see ``sharing_common.act``)."""
    return await act(
        request,
        platform,
        check=lambda conn: pages.visible_application(conn, actor, application_id),
        context_of=lambda conn: application_context(conn, platform, actor, application_id),
        template="sharing/application.html",
        url=f"/sharing/applications/{application_id}",
        form_name=form_name,
        call=call,
        done=done,
    )


def _case_id(platform: Platform, application_id: str) -> str:
    with platform.db.read() as conn:
        case = queries.negotiation_of(conn, application_id)
    if case is None:
        raise NotFound("该申请没有协商记录", "this application has no negotiation")
    return case.id


def _application(platform: Platform, application_id: str) -> Any:
    with platform.db.read() as conn:
        return queries.get_application(conn, application_id)


@router.post("/applications/{application_id}/review")
async def review(
    request: Request, application_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """The authority's compliance review (符合性审查): pass and forward, or refuse."""
    return await _act(
        request,
        platform,
        actor,
        application_id,
        "review",
        lambda f: services.review_compliance(
            platform.db,
            platform.profiles,
            application_id,
            actor=actor,
            passed=text(f, "outcome") == "pass",
            reason=text(f, "reason"),
        ),
        ("符合性审查已完成", "compliance review recorded"),
    )


@router.post("/applications/{application_id}/authorise")
async def authorise(
    request: Request, application_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """The platform authorises an unconditional application directly (HB-21)."""
    return await _act(
        request,
        platform,
        actor,
        application_id,
        "authorise",
        lambda f: services.authorise_directly(
            platform.db,
            platform.profiles,
            application_id,
            actor=actor,
            approve=text(f, "outcome") == "approve",
            reason=text(f, "reason"),
        ),
        ("已处理", "done"),
    )


@router.post("/applications/{application_id}/decide")
async def decide(
    request: Request, application_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """The decider approves (as asked or narrowed) or refuses with reasons and a basis."""
    return await _act(
        request,
        platform,
        actor,
        application_id,
        "decide",
        lambda f: services.decide(
            platform.db,
            platform.profiles,
            application_id,
            decision_from_form(
                f,
                _application(platform, application_id),
                approve=text(f, "outcome") == "approve",
            ),
            actor=actor,
        ),
        ("已答复", "answered"),
    )


@router.post("/applications/{application_id}/notice")
async def notice(
    request: Request, application_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """The platform records that the consumer was told the result (HB-20)."""
    return await _act(
        request,
        platform,
        actor,
        application_id,
        "notice",
        lambda f: services.notify_consumer(platform.db, application_id, actor=actor),
        ("已告知使用部门", "consumer notified"),
    )


# Negotiation and coordination --------------------------------------------------------------
@router.post("/applications/{application_id}/negotiation")
async def negotiation_open(
    request: Request, application_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """After a refusal the consumer opens a negotiation with the provider (SZ-15.3)."""
    return await _act(
        request,
        platform,
        actor,
        application_id,
        "negotiate",
        lambda f: negotiation_services.open_negotiation(
            platform.db, application_id, actor=actor, message=text(f, "body")
        ),
        ("已发起协商", "negotiation opened"),
    )


@router.post("/applications/{application_id}/negotiation/messages")
async def negotiation_post(
    request: Request, application_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    return await _act(
        request,
        platform,
        actor,
        application_id,
        "post",
        lambda f: negotiation_services.post_message(
            platform.db, _case_id(platform, application_id), actor=actor, body=text(f, "body")
        ),
        ("留言已发送", "message posted"),
    )


@router.post("/applications/{application_id}/negotiation/agree")
async def negotiation_agree(
    request: Request, application_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """The provider agrees after all and grants within the application's scope."""
    return await _act(
        request,
        platform,
        actor,
        application_id,
        "agree",
        lambda f: negotiation_services.provider_agrees(
            platform.db,
            platform.profiles,
            _case_id(platform, application_id),
            decision_from_form(f, _application(platform, application_id), approve=True),
            actor=actor,
        ),
        ("提供部门已同意共享", "the provider agreed"),
    )


@router.post("/applications/{application_id}/negotiation/withdraw")
async def negotiation_withdraw(
    request: Request, application_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    return await _act(
        request,
        platform,
        actor,
        application_id,
        "withdraw",
        lambda f: negotiation_services.withdraw(
            platform.db, _case_id(platform, application_id), actor=actor, reason=text(f, "reason")
        ),
        ("已撤回协商", "negotiation withdrawn"),
    )


@router.post("/applications/{application_id}/negotiation/escalate")
async def negotiation_escalate(
    request: Request, application_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """Negotiation failed: a party takes the case to the authority (SZ-15.3, HB-25)."""
    return await _act(
        request,
        platform,
        actor,
        application_id,
        "escalate",
        lambda f: negotiation_services.escalate(
            platform.db, _case_id(platform, application_id), actor=actor, reason=text(f, "reason")
        ),
        ("已提请数据主管部门协调", "sent to the data authority for coordination"),
    )


@router.post("/applications/{application_id}/negotiation/coordinate")
async def negotiation_coordinate(
    request: Request, application_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """The authority coordinates and decides: grant, or uphold the refusal."""
    return await _act(
        request,
        platform,
        actor,
        application_id,
        "coordinate",
        lambda f: negotiation_services.coordinate(
            platform.db,
            platform.profiles,
            _case_id(platform, application_id),
            decision_from_form(
                f,
                _application(platform, application_id),
                approve=text(f, "outcome") == "grant",
            ),
            actor=actor,
        ),
        ("协调决定已作出", "coordination decided"),
    )


# Attachments -------------------------------------------------------------------------------
@router.post("/applications/{application_id}/attachments")
async def application_attach(
    request: Request, application_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    name, data = await posted_file(await request.form())

    def call(_: FormData) -> object:
        return add_attachment(
            platform.db,
            store_dir(platform),
            owner_kind="application",
            owner_id=application_id,
            kind=AttachmentKind.SUPPORTING,
            filename=name,
            data=data,
            actor=actor,
        )

    return await _act(
        request, platform, actor, application_id, "attach", call, ("附件已上传", "file uploaded")
    )


@router.get("/attachments/{attachment_id}")
def attachment_download(attachment_id: str, platform: PlatformDep, actor: ViewSharing) -> Response:
    att, data = read_attachment(platform.db, store_dir(platform), attachment_id, actor=actor)
    return download(att, data)
