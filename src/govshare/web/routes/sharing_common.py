"""What the sharing pages (``sharing_pages``: applications) and the grant pages
(``sharing_grants``) share: the list sides, small readers of the posted form and the
attachment upload, and ``act``, which runs one action form on a page and either redirects
or shows the page again with the refusal next to the form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from govshare.identity import queries as identity_queries
from govshare.identity.model import ClientSystem, Department
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import DomainError, NotFound
from govshare.platform import Platform
from govshare.rules import RuleProfile
from govshare.sharing import pages
from govshare.sharing.attachments import MAX_BYTES
from govshare.web.deps import flash, locale_of, render
from govshare.web.routes.sharing_forms import posted

SIDES = ("consumer", "provider", "authority")


def msg(request: Request, zh: str, en: str) -> str:
    return en if locale_of(request) == "en" else zh


def today() -> date:
    return local_date(utcnow())


def departments_by_id(conn: Connection) -> dict[str, Department]:
    return {d.id: d for d in identity_queries.list_departments(conn)}


def profile_of(conn: Connection, profiles: dict[str, RuleProfile], dept: Department) -> RuleProfile:
    j = identity_queries.get_jurisdiction(conn, dept.jurisdiction_id)
    return profiles.get(j.profile) or profiles["default"]


def store_dir(platform: Platform) -> Path:
    return platform.settings.var_dir / "attachments"


async def read_upload(upload: UploadFile) -> bytes:
    """The file's bytes, at most one byte past the limit (the service refuses it)."""
    return await upload.read(MAX_BYTES + 1)


async def posted_file(form: FormData, name: str = "file") -> tuple[str, bytes]:
    """The posted file's name and bytes; empty when none was sent (the service refuses it)."""
    upload = form.get(name)
    if not isinstance(upload, UploadFile):
        return "", b""
    return upload.filename or "", await read_upload(upload)


def download(att: Any, data: bytes) -> Response:
    return Response(
        data,
        media_type=att.content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(att.filename)}"},
    )


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def client_system_or_none(conn: Connection, client_system_id: str | None) -> ClientSystem | None:
    """The named client system, or None when none is named or it is gone."""
    if not client_system_id:
        return None
    try:
        return identity_queries.get_client_system(conn, client_system_id)
    except NotFound:
        return None


class SideFilter(TypedDict, total=False):
    consumer_department_ids: set[str]
    provider_department_ids: set[str]


def side_filter(actor: Actor, departments: dict[str, Department], side: str) -> SideFilter:
    """The department filter of a list seen from one side: the consumer's or provider's own
    departments, or, for the authority, the providers in the jurisdictions it governs."""
    if side == "authority":
        governed = actor.governs if pages.governs_any(actor) else frozenset()
        ids = {d.id for d in departments.values() if d.jurisdiction_id in governed}
        return {"provider_department_ids": ids}
    mine = pages.member_departments(actor)
    if side == "provider":
        return {"provider_department_ids": mine}
    return {"consumer_department_ids": mine}


async def act(
    request: Request,
    platform: Platform,
    *,
    check: Callable[[Connection], object],
    context_of: Callable[[Connection], dict[str, Any]],
    template: str,
    url: str,
    form_name: str,
    call: Callable[[FormData], object],
    done: tuple[str, str],
    form: FormData | None = None,
) -> Response:
    """Run one service call with the posted form; on refusal show the page again with the
    message next to the form's field and the values as typed. ``check`` runs first and
    raises NotFound for those who may not see the page (another department learns nothing,
    and acts on nothing)."""
    form = form if form is not None else await request.form()
    posted_form = form

    def run() -> tuple[DomainError, dict[str, Any]] | None:
        """The check, the service call and, on a refusal, the page's context: in a worker
        thread (a write on the event loop's thread would stall every other request)."""
        with platform.db.read() as conn:
            check(conn)
        try:
            call(posted_form)
        except DomainError as exc:
            with platform.db.read() as conn:
                return exc, context_of(conn)
        return None

    refused = await run_in_threadpool(run)
    if refused is not None:
        exc, context = refused
        context["action_error"] = {
            "form": form_name,
            "field": exc.field or "",
            "message": exc.message(locale_of(request)),
        }
        context["posted"] = posted(form)
        return render(request, template, context, status=exc.status)
    flash(request, msg(request, *done))
    return RedirectResponse(url, status_code=303)
