"""Request-level dependencies: the platform, the acting identity, CSRF, policy, rendering.

Every route declares its policy with ``policy(Permission.X)`` (or ``Permission.PUBLIC``);
a test enumerates the routes and fails on any route without one.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from govshare.identity import queries as identity_queries
from govshare.identity.model import VerifiedClient
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor, ActorKind
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import DomainError, Forbidden
from govshare.platform import Platform
from govshare.web.i18n import normalise
from govshare.web.nav import navigation

SESSION_USER = "uid"
SESSION_CSRF = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


async def _platform(request: Request) -> Platform:
    """``get_platform`` as a dependency: async, so FastAPI does not hand it to a worker
    thread on every request."""
    return get_platform(request)


PlatformDep = Annotated[Platform, Depends(_platform)]


def locale_of(request: Request) -> str:
    return normalise(
        request.cookies.get("lang") or request.app.state.platform.settings.default_locale
    )


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return str(token)


async def _check_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(SESSION_CSRF)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise Forbidden(
            "页面已过期或请求来源不可信，请刷新后重试",
            "the form has expired or the request did not come from this site; reload and retry",
            code="csrf_failed",
        )


def _bearer_actor(request: Request, platform: Platform) -> Actor | None:
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    from govshare.identity.auth import decode_client_token

    claims = decode_client_token(platform.keys, auth[7:].strip(), now=utcnow())
    with platform.db.read() as conn:
        return identity_queries.active_client(conn, VerifiedClient(str(claims["sub"])))


def current_actor(request: Request) -> Actor:
    """The acting identity; re-read from the database on every request so that a
    deactivated user or a revoked client loses access at once."""
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    platform = get_platform(request)
    actor = _bearer_actor(request, platform)
    if actor is None:
        uid = request.session.get(SESSION_USER)
        if uid:
            with platform.db.read() as conn:
                actor = identity_queries.actor_for_user(conn, str(uid))
            if actor is None:
                request.session.clear()
    actor = actor or Actor.anonymous()
    request.state.actor = actor
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def policy(permission: Permission, *, csrf: bool = True) -> Any:
    """A dependency that enforces ``permission``, and CSRF on unsafe methods for cookie
    sessions. ``csrf=False`` is only for endpoints that never act on the session cookie
    (the OAuth2 token endpoint authenticates by the client's credentials alone)."""

    async def dependency(request: Request) -> Actor:
        actor = current_actor(request)
        if csrf and actor.kind is not ActorKind.CLIENT_SYSTEM:
            await _check_csrf(request)
        require(actor, permission)
        return actor

    dependency.__govshare_policy__ = permission  # type: ignore[attr-defined]
    return Depends(dependency)


def route_policy(route: Any) -> Permission | None:
    """The policy a route declared, found among its dependencies (used by tests)."""
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant else []
    while stack:
        dep = stack.pop()
        found = getattr(dep.call, "__govshare_policy__", None)
        if found is not None:
            return Permission(found)
        stack.extend(dep.dependencies)
    return None


class Renderer:
    """Renders a template in the request's locale with the shared context."""

    def __init__(self, by_locale: Mapping[str, Jinja2Templates]) -> None:
        self.by_locale = by_locale

    def __call__(
        self, request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
    ) -> HTMLResponse:
        locale = locale_of(request)
        actor = current_actor(request)
        ctx: dict[str, Any] = {
            "actor": actor,
            "locale": locale,
            "csrf_token": csrf_token(request),
            "nav": navigation(actor),
            "flash": request.session.pop("flash", None),
        }
        ctx.update(context or {})
        return self.by_locale[locale].TemplateResponse(request, name, ctx, status_code=status)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    renderer: Renderer = request.app.state.renderer
    return renderer(request, name, context, status)


def flash(request: Request, message: str, kind: str = "success") -> None:
    request.session["flash"] = {"message": message, "kind": kind}


def act_then_redirect(
    request: Request, to: str, action: Callable[[], object], *, done: str | None = None
) -> RedirectResponse:
    """The shape of a form post: run one service call, flash its refusal (in the user's
    language) or ``done``, and redirect back (post/redirect/get). A refusal on authority
    (Forbidden) is no form error: it answers 403, like every other refused call."""
    try:
        action()
    except Forbidden:
        raise
    except DomainError as exc:
        flash(request, exc.message(locale_of(request)), "error")
    else:
        if done:
            flash(request, done)
    return RedirectResponse(to, status_code=303)
