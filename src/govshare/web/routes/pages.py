"""Home, the working-day calculator and the rule-profile pages."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from govshare.identity import queries
from govshare.identity.policy import Permission
from govshare.kernel.actor import Actor
from govshare.kernel.calendar import UnknownCalendarYear, add_calendar_days
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import NotFound
from govshare.rules.loader import profile_source
from govshare.web.deps import PlatformDep, locale_of, policy, render

router = APIRouter(include_in_schema=False)

SignedIn = Annotated[Actor, policy(Permission.SIGNED_IN)]


@router.get("/")
def home(request: Request, platform: PlatformDep, actor: SignedIn) -> HTMLResponse:
    with platform.db.read() as conn:
        user = queries.get_user(conn, actor.id)
        depts = {d: queries.get_department(conn, d) for d, _ in actor.roles}
        jurisdictions = {
            d.jurisdiction_id: queries.get_jurisdiction(conn, d.jurisdiction_id)
            for d in depts.values()
        }
    return render(
        request, "home.html", {"user": user, "departments": depts, "jurisdictions": jurisdictions}
    )


def iter_deadlines(model: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every deadline-shaped value (``days`` + ``unit``) in a profile, with its key path."""
    out: list[tuple[str, Any]] = []
    if isinstance(model, BaseModel):
        if hasattr(model, "days") and hasattr(model, "unit"):
            return [(path, model)]
        for name in type(model).model_fields:
            out.extend(iter_deadlines(getattr(model, name), f"{path}.{name}" if path else name))
    return out


@router.get("/calendar")
def calendar_page(
    request: Request,
    platform: PlatformDep,
    actor: SignedIn,
    start: str = "",
    days: int = 10,
    profile: str = "",
) -> HTMLResponse:
    cal = platform.calendar()
    try:
        start_day = date.fromisoformat(start) if start else local_date(utcnow())
    except ValueError:
        start_day = local_date(utcnow())
    days = min(max(days, 1), 366)
    result: dict[str, Any] = {}
    try:
        d = cal.add_working_days(start_day, days)
        result = {"deadline": d.day, "provisional": False}
    except UnknownCalendarYear as exc:
        est = cal.add_working_days(start_day, days, provisional=True)
        result = {
            "deadline": est.day,
            "provisional": True,
            "error": exc.message(locale_of(request)),
        }
    rows: list[dict[str, Any]] = []
    chosen = platform.profiles.get(profile)
    if chosen is not None:
        for key, dl in iter_deadlines(chosen):
            row: dict[str, Any] = {"key": key, "deadline": dl, "due": None, "provisional": False}
            if dl.days:
                if (
                    str(dl.unit) in ("calendar", "Unit.CALENDAR")
                    or getattr(dl.unit, "value", dl.unit) == "calendar"
                ):
                    row["due"] = add_calendar_days(start_day, dl.days)
                else:
                    due = cal.add_working_days(start_day, dl.days, provisional=True)
                    row["due"], row["provisional"] = due.day, due.provisional
            rows.append(row)
    return render(
        request,
        "calendar.html",
        {
            "start": start_day,
            "days": days,
            "result": result,
            "profiles": platform.profiles,
            "profile": profile,
            "rows": rows,
            "known_years": sorted(cal.known_years)[-3:],
        },
    )


@router.get("/profiles")
def profiles_page(request: Request, platform: PlatformDep, actor: SignedIn) -> HTMLResponse:
    return render(request, "profiles/list.html", {"profiles": platform.profiles})


@router.get("/profiles/{name}")
def profile_page(
    request: Request, name: str, platform: PlatformDep, actor: SignedIn
) -> HTMLResponse:
    profile = platform.profiles.get(name)
    if profile is None:
        raise NotFound("规则配置不存在", "no such rule profile")
    source = profile_source(name, platform.settings.profile_dir)
    return render(
        request,
        "profiles/detail.html",
        {"profile": profile, "source": source, "deadlines": iter_deadlines(profile)},
    )
