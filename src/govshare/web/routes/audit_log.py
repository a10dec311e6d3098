"""The audit log viewer: filters, paging, verify and checkpoint buttons."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from govshare.audit import queries, services
from govshare.audit.model import AuditAction
from govshare.audit.verify import verify_chain
from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission
from govshare.kernel.actor import Actor
from govshare.kernel.clock import SHANGHAI
from govshare.web.deps import PlatformDep, policy, render

router = APIRouter(prefix="/audit", include_in_schema=False)

ViewAudit = Annotated[Actor, policy(Permission.VIEW_AUDIT)]
ManageAudit = Annotated[Actor, policy(Permission.MANAGE_AUDIT)]


def _day(value: str, *, end: bool = False) -> datetime | None:
    try:
        d = date.fromisoformat(value)
    except ValueError:
        return None
    if end:
        d += timedelta(days=1)
    return datetime.combine(d, time(0), tzinfo=SHANGHAI)


@router.get("")
def audit_page(
    request: Request,
    platform: PlatformDep,
    actor: ViewAudit,
    who: str = "",
    department_id: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> HTMLResponse:
    f = queries.AuditFilter(
        actor=who.strip() or None,
        department_id=department_id or None,
        action=action if action in AuditAction.__members__.values() else None,
        object_type=object_type or None,
        object_id=object_id.strip() or None,
        since=_day(since),
        until=_day(until, end=True),
    )
    with platform.db.read() as conn:
        result = queries.list_entries(conn, f, page=page)
        departments = {d.id: d for d in identity_queries.list_departments(conn)}
        types = queries.object_types(conn)
        checkpoint = queries.latest_checkpoint(conn)
    args = {
        "who": who,
        "department_id": department_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "since": since,
        "until": until,
    }
    return render(
        request,
        "audit/list.html",
        {
            "result": result,
            "departments": departments,
            "actions": list(AuditAction),
            "object_types": types,
            "args": args,
            "checkpoint": checkpoint,
            "query": "&".join(f"{k}={v}" for k, v in args.items() if v),
        },
    )


@router.post("/verify")
def audit_verify(request: Request, platform: PlatformDep, actor: ViewAudit) -> HTMLResponse:
    report = verify_chain(platform.db, platform.keys, archive_dir=platform.settings.archive_dir)
    return render(request, "audit/verify_result.html", {"report": report})


@router.post("/checkpoint")
def audit_checkpoint(request: Request, platform: PlatformDep, actor: ManageAudit) -> HTMLResponse:
    cp = services.create_checkpoint(platform.db, platform.keys, actor=actor)
    return render(request, "audit/checkpoint_result.html", {"checkpoint": cp})
