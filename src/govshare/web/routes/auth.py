"""Web sign-in and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from govshare.identity import services
from govshare.identity.policy import Permission
from govshare.kernel.errors import Unauthenticated
from govshare.web.deps import SESSION_CSRF, SESSION_USER, ActorDep, PlatformDep, policy, render
from govshare.web.metrics import metrics

router = APIRouter(include_in_schema=False)


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


@router.get("/login", dependencies=[policy(Permission.PUBLIC)])
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "auth/login.html", {"next": _safe_next(next)})


@router.post("/login", dependencies=[policy(Permission.PUBLIC)])
def login(
    request: Request,
    platform: PlatformDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    settings = platform.settings
    try:
        actor = services.authenticate(
            platform.db,
            username=username,
            password=password,
            max_failures=settings.login_max_failures,
            lockout_minutes=settings.login_lockout_minutes,
            source=request.client.host if request.client else "",
        )
    except Unauthenticated as exc:
        metrics().logins.labels(exc.code).inc()
        return render(
            request,
            "auth/login.html",
            {"next": _safe_next(next), "error": exc, "username": username},
            status=401,
        )
    metrics().logins.labels("ok").inc()
    request.session.clear()  # a new session on sign-in (no fixation)
    request.session[SESSION_USER] = actor.id
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[policy(Permission.SIGNED_IN)])
def logout(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    services.record_logout(platform.db, actor=actor)
    request.session.pop(SESSION_USER, None)
    request.session.pop(SESSION_CSRF, None)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
