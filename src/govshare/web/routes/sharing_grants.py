"""Grant pages (授权): the consumer's, the provider's and the authority's lists filtered by
status, and the grant page with its items and masking levels, modes, limits, validity,
status and reason, the transition of a retiring resource, the security agreement (upload and
the authority's confirmation), suspension, resumption and revocation with reasons, renewal,
the consumer's destruction confirmation (SZ-27) and the provider's onward-transfer consent.

Handlers stay thin: parse, call one service or query, render. A grant is seen by its
consumer and provider departments and the authority over the provider; anyone else gets 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection
from starlette.datastructures import FormData

from govshare.catalog import queries as catalog_queries
from govshare.identity.policy import Permission, can
from govshare.kernel.actor import Actor
from govshare.kernel.errors import NotFound
from govshare.platform import Platform
from govshare.sharing import lifecycle, pages, queries, services
from govshare.sharing.attachments import add_attachment
from govshare.sharing.model import AttachmentKind, GrantStatus
from govshare.web.deps import PlatformDep, policy, render
from govshare.web.routes.sharing_common import (
    SIDES,
    act,
    client_system_or_none,
    departments_by_id,
    posted_file,
    profile_of,
    side_filter,
    store_dir,
    text,
    today,
)

router = APIRouter(prefix="/sharing", include_in_schema=False)

ViewSharing = Annotated[Actor, policy(Permission.VIEW_CATALOG)]

STATUS_ACTIONS: dict[str, Callable[..., Any]] = {
    "suspend": services.suspend_grant,
    "resume": services.resume_grant,
    "revoke": services.revoke_grant,
}


@router.get("/grants")
def grants(
    request: Request,
    platform: PlatformDep,
    actor: ViewSharing,
    side: str = "consumer",
    status: str = "",
) -> HTMLResponse:
    side = side if side in SIDES else "consumer"
    chosen = next((s for s in GrantStatus if s.value == status), None)
    with platform.db.read() as conn:
        departments = departments_by_id(conn)
        where = side_filter(actor, departments, side)
        rows = queries.grants_where(conn, **where, status=chosen)
        labels = pages.resource_labels(conn, [g.resource_id for g in rows])
        providers = {
            rid: catalog_queries.get_resource(conn, rid).provider_department_id
            for rid in {g.resource_id for g in rows}
        }
    return render(
        request,
        "sharing/grants.html",
        {
            "rows": rows,
            "side": side,
            "status": status,
            "statuses": list(GrantStatus),
            "labels": labels,
            "providers": providers,
            "departments": departments,
            "may_govern": pages.governs_any(actor),
            "today": today(),
            "tab": f"grants-{side}",
        },
    )


def grant_context(
    conn: Connection, platform: Platform, actor: Actor, grant_id: str
) -> dict[str, Any]:
    g, p, provider_id = pages.visible_grant(conn, actor, grant_id)
    departments = departments_by_id(conn)
    provider = departments[provider_id]
    version = catalog_queries.get_version(conn, g.version_id)
    profile = profile_of(conn, platform.profiles, provider)
    attachments = queries.attachments_of(conn, "grant", g.id)
    client = client_system_or_none(conn, g.client_system_id)
    # the provider's cataloguers and admins, or the authority (SZ-27, NX-41)
    manage = p.authority or can(
        actor,
        Permission.EDIT_CATALOG,
        department_id=provider.id,
        jurisdiction_id=provider.jurisdiction_id,
    )
    live = g.status in lifecycle.LIVE
    replacement = (
        catalog_queries.resource_by_code(conn, g.replacement_code) if g.replacement_code else None
    )
    may = {
        "suspend": manage and g.status is GrantStatus.ACTIVE,
        "resume": manage and g.status is GrantStatus.SUSPENDED,
        "revoke": manage and live,
        "upload_agreement": g.status is GrantStatus.PENDING_AGREEMENT
        and (p.consumer_filer or p.provider or p.authority),
        "confirm_agreement": g.status is GrantStatus.PENDING_AGREEMENT and p.authority,
        "renew": p.consumer_filer and g.status is not GrantStatus.REVOKED and not g.superseded,
        "destroy": p.consumer_filer and g.destruction_due,
        "consent": p.provider and live,
    }
    return {
        "g": g,
        "parties": p,
        "may": may,
        "provider": provider,
        "departments": departments,
        "version": version,
        "e": version.entry,
        "items": {i.code: i for i in version.entry.data_items},
        "profile": profile,
        "client": client,
        "attachments": attachments,
        "consents": queries.onward_consents(conn, g.id),
        "replacement": replacement,
        "today": today(),
        "action_error": None,
        "posted": {},
    }


@router.get("/grants/{grant_id}")
def grant_page(
    request: Request, grant_id: str, platform: PlatformDep, actor: ViewSharing
) -> HTMLResponse:
    with platform.db.read() as conn:
        context = grant_context(conn, platform, actor, grant_id)
    return render(request, "sharing/grant.html", context)


async def _act(
    request: Request,
    platform: Platform,
    actor: Actor,
    grant_id: str,
    form_name: str,
    call: Callable[[FormData], object],
    done: tuple[str, str],
    form: FormData | None = None,
) -> Response:
    """Run one action form of the grant page (see ``sharing_common.act``)."""
    return await act(
        request,
        platform,
        check=lambda conn: pages.visible_grant(conn, actor, grant_id),
        context_of=lambda conn: grant_context(conn, platform, actor, grant_id),
        template="sharing/grant.html",
        url=f"/sharing/grants/{grant_id}",
        form_name=form_name,
        call=call,
        done=done,
        form=form,
    )


@router.post("/grants/{grant_id}/status")
async def change_status(
    request: Request, grant_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """Provider or authority suspends, resumes or revokes, with a reason (SZ-27, NX-41)."""
    form = await request.form()
    action = text(form, "action")
    change = STATUS_ACTIONS.get(action)
    if change is None:
        raise NotFound("无此操作", "no such action")
    done = {
        "suspend": ("授权已暂停", "grant suspended"),
        "resume": ("授权已恢复", "grant resumed"),
        "revoke": ("授权已撤销", "grant revoked"),
    }[action]
    return await _act(
        request,
        platform,
        actor,
        grant_id,
        "status",
        lambda f: change(platform.db, grant_id, actor=actor, reason=text(f, "reason")),
        done,
        form,
    )


@router.post("/grants/{grant_id}/attachments")
async def grant_attach(
    request: Request, grant_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """Upload the signed security agreement or the destruction certificate."""
    form = await request.form()
    kind = AttachmentKind.DESTRUCTION
    if text(form, "kind") == AttachmentKind.SECURITY_AGREEMENT.value:
        kind = AttachmentKind.SECURITY_AGREEMENT
    name, data = await posted_file(form)
    return await _act(
        request,
        platform,
        actor,
        grant_id,
        f"attach-{kind.value}",
        lambda f: add_attachment(
            platform.db,
            store_dir(platform),
            owner_kind="grant",
            owner_id=grant_id,
            kind=kind,
            filename=name,
            data=data,
            actor=actor,
        ),
        ("附件已上传", "file uploaded"),
        form,
    )


@router.post("/grants/{grant_id}/agreement")
async def confirm_agreement(
    request: Request, grant_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """The authority confirms the signed security agreement; the grant becomes active."""
    return await _act(
        request,
        platform,
        actor,
        grant_id,
        "agreement",
        lambda f: services.confirm_security_agreement(
            platform.db, grant_id, actor=actor, note=text(f, "note")
        ),
        ("安全保密协议已确认，授权生效", "agreement confirmed; the grant is active"),
    )


@router.post("/grants/{grant_id}/destruction")
async def confirm_destruction(
    request: Request, grant_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """The consumer confirms that the data it held is destroyed (SZ-27)."""
    return await _act(
        request,
        platform,
        actor,
        grant_id,
        "destruction",
        lambda f: lifecycle.confirm_destruction(
            platform.db, grant_id, actor=actor, note=text(f, "note")
        ),
        ("已确认销毁", "destruction confirmed"),
    )


@router.post("/grants/{grant_id}/onward")
async def onward_consent(
    request: Request, grant_id: str, platform: PlatformDep, actor: ViewSharing
) -> Response:
    """The provider consents to an onward transfer to a named recipient (YX-20)."""
    return await _act(
        request,
        platform,
        actor,
        grant_id,
        "onward",
        lambda f: lifecycle.record_onward_consent(
            platform.db,
            grant_id,
            actor=actor,
            recipient=text(f, "recipient"),
            purpose=text(f, "purpose"),
        ),
        ("已记录转交同意", "onward transfer consent recorded"),
    )
