"""The ASGI application factory. Routers are composed explicitly; nothing happens at import."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles

from govshare.audit.services import checkpoint_if_moved
from govshare.config import Settings, get_settings
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_display
from govshare.kernel.errors import DomainError, Unauthenticated
from govshare.platform import Platform
from govshare.web.deps import Renderer, locale_of
from govshare.web.i18n import LOCALES, translations
from govshare.web.logging import configure_logging, get_logger
from govshare.web.metrics import metrics
from govshare.web.routes import (
    admin,
    aggregation_api,
    aggregation_conflicts,
    aggregation_pages,
    aggregation_sources,
    api,
    audit_log,
    auth,
    catalog_api,
    catalog_files,
    catalog_lists,
    catalog_pages,
    pages,
    system,
)

TEMPLATES_DIR = __import__("pathlib").Path(__file__).parent / "templates"
STATIC_DIR = TEMPLATES_DIR.parent / "static"

API_PREFIXES = ("/api/", "/oauth/", "/.well-known/")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


def _templates() -> dict[str, Jinja2Templates]:
    out = {}
    for locale in LOCALES:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
        )
        env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
        env.filters["localtime"] = local_display
        out[locale] = Jinja2Templates(env=env)
    return out


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES) or "application/json" in request.headers.get(
        "accept", ""
    )


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    settings = settings or (platform.settings if platform else get_settings())
    configure_logging(settings.log_level)
    platform = platform or Platform.open(settings)
    log = get_logger("govshare.web")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_periodic_checkpoints(platform, log))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        lifespan=lifespan,
        title="govshare",
        description="政务数据共享交换平台 API — government data sharing and exchange platform",
        version="0.1.0",
        docs_url="/api/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.platform = platform
    app.state.renderer = Renderer(_templates())

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="govshare_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.session_https_only,
    )

    @app.middleware("http")
    async def observe(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - started
        m = metrics()
        m.requests.labels(request.method, template, str(response.status_code)).inc()
        m.latency.labels(request.method, template).observe(elapsed)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        actor = getattr(request.state, "actor", None)
        log.info(
            "request",
            method=request.method,
            route=template,  # the template, never the raw path or query string
            status=response.status_code,
            ms=round(elapsed * 1000, 2),
            actor=getattr(actor, "id", None),
        )
        return response

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        locale = locale_of(request)
        if _wants_json(request) or request.headers.get("hx-request"):
            if request.headers.get("hx-request") and not _wants_json(request):
                return HTMLResponse(
                    f'<div class="alert error" role="alert">{_escape(exc.message(locale))}</div>',
                    status_code=exc.status,
                )
            return JSONResponse({"error": exc.to_dict(locale)}, status_code=exc.status)
        if isinstance(exc, Unauthenticated) and request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        renderer: Renderer = request.app.state.renderer
        return renderer(
            request, "error.html", {"error": exc, "message": exc.message(locale)}, status=exc.status
        )

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        body = {
            "error": {
                "code": "request_invalid",
                "message": "请求参数不合法" if locale_of(request) == "zh_CN" else "invalid request",
                "message_zh": "请求参数不合法",
                "message_en": "invalid request",
                "field": errors[0]["field"] if errors else None,
                "details": errors,
            }
        }
        return JSONResponse(body, status_code=422)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    htmx_dir = settings.node_modules_dir / "htmx.org" / "dist"
    if htmx_dir.is_dir():
        app.mount("/vendor/htmx", StaticFiles(directory=htmx_dir), name="htmx")
    else:
        log.warning("htmx_missing", hint="run the set-up (npm ci) to install front-end packages")

    routers = [
        system.router,
        auth.router,
        pages.router,
        admin.router,
        audit_log.router,
        api.router,
        catalog_api.router,
        catalog_files.router,
        catalog_lists.router,
        catalog_pages.router,
        aggregation_api.router,
        aggregation_pages.router,
        aggregation_sources.router,
        aggregation_conflicts.router,
    ]
    for router in routers:
        app.include_router(router)
    app.state.routers = routers
    return app


def iter_routes(app: FastAPI) -> list[Any]:
    """Every route of the app: its own, and those of the routers it composed."""
    own = [r for r in app.router.routes if hasattr(r, "path")]
    return own + [r for router in app.state.routers for r in router.routes]


async def _periodic_checkpoints(platform: Platform, log: Any) -> None:
    """Sign the audit chain's head every ``checkpoint_interval_seconds`` when it has moved."""
    interval = platform.settings.checkpoint_interval_seconds
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            cp = await asyncio.to_thread(
                checkpoint_if_moved, platform.db, platform.keys, actor=Actor.system("scheduler")
            )
            if cp is not None:
                log.info("audit_checkpoint", seq=cp.seq)
        except Exception as exc:  # keep the loop alive; the next tick retries
            log.error("audit_checkpoint_failed", error=type(exc).__name__)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
