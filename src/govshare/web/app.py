"""The ASGI application factory. Routers are composed explicitly; nothing happens at import."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from govshare.audit.services import checkpoint_if_moved
from govshare.config import Settings, get_settings
from govshare.delivery.guard import guard_for
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_display
from govshare.kernel.errors import DomainError, Unauthenticated
from govshare.kernel.heap import tuned_gc
from govshare.notify import dispatch
from govshare.platform import Platform
from govshare.web.deps import Renderer, locale_of
from govshare.web.errors import json_error
from govshare.web.i18n import LOCALES, translations
from govshare.web.lane import PREFIX, DeliveryLane
from govshare.web.logging import configure_logging, get_logger
from govshare.web.metrics import metrics
from govshare.web.nav import unread_notices
from govshare.web.observe import Observe
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
    delivery_api,
    delivery_files,
    delivery_pages,
    notify,
    pages,
    sharing_grants,
    sharing_pages,
    system,
)
from govshare.web.security import SecurityHeaders

TEMPLATES_DIR = __import__("pathlib").Path(__file__).parent / "templates"
STATIC_DIR = TEMPLATES_DIR.parent / "static"

API_PREFIXES = ("/api/", "/oauth/", "/.well-known/")
HTTP_MESSAGES = {
    400: ("请求体无法解析（须为 UTF-8 编码的有效 JSON）", "the request body cannot be parsed"),
    404: ("请求的地址不存在", "no such path"),
    405: ("不支持该请求方法", "method not allowed"),
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
        env.globals["unread_notices"] = unread_notices
        out[locale] = Jinja2Templates(env=env)
    return out


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES) or "application/json" in request.headers.get(
        "accept", ""
    )


# what the API documentation page loads of the npm package (not its demo page, which
# points at a public example API)
SWAGGER_UI_FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css"})


class OnlyFiles(StaticFiles):
    """Static files, only those named (anything else in the directory is 404)."""

    def __init__(self, *, directory: Path, names: frozenset[str]) -> None:
        super().__init__(directory=directory)
        self.names = names

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        return super().lookup_path(path) if path in self.names else ("", None)


class PlatformApp(FastAPI):
    """The platform's app: a delivery call goes to ``lane`` (``web.lane``) before the
    middleware stack; the lane hands back what it does not answer."""

    lane: DeliveryLane | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self.lane
        if lane is not None and scope["type"] == "http" and scope["path"].startswith(PREFIX):
            handed_back = await lane.serve(scope, receive, send)
            if handed_back is None:
                return
            receive = handed_back
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    platform: Platform | None = None,
    queue: Any = None,
    *,
    lane: bool = True,
    tune_gc: bool = False,
) -> FastAPI:
    """``queue``: the job queue that runs batch exports (``jobs.queue.make_queue``; tests
    pass an immediate one); the embedded queue is opened on the first export when None.
    ``lane=False`` leaves every call to the routes (tests compare the two).
    ``tune_gc``: once started, keep what start-up made out of the cyclic garbage
    collector's walks, and collect less often, while the app runs (``kernel.heap``;
    ``govshare serve``, one app per process)."""
    settings = settings or (platform.settings if platform else get_settings())
    configure_logging(settings.log_level)
    platform = platform or Platform.open(settings)
    log = get_logger("govshare.web")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_periodic_checkpoints(platform, log))
        # notices go out from a background thread woken after each commit that queues them;
        # reads on the event loop's thread (the data services) reuse one connection
        with (
            platform.db.keep_reads(),
            dispatch.running(platform.db, settings) as dispatcher,
            tuned_gc() if tune_gc else contextlib.nullcontext(),
        ):
            app.state.dispatcher = dispatcher
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = PlatformApp(
        lifespan=lifespan,
        title="govshare",
        description="政务数据共享交换平台 API — government data sharing and exchange platform",
        version="0.1.0",
        docs_url=None,  # routes.system.api_docs: the viewer from npm, under the CSP
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url="/api/openapi.json",
        # the platform exports its own metrics (/metrics) and JSON logs; FastAPI's native
        # OpenTelemetry hooks would only look for providers on every request
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.platform = platform
    app.state.queue = queue
    guard_for(platform).observe = metrics().observe_delivery  # per-call metrics on /metrics
    app.state.renderer = Renderer(_templates())

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="govshare_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.session_https_only,
    )

    # lookup and verification with a bearer token are answered before the middlewares
    # and the router (web.lane), which records their metrics and sets their headers itself
    if lane:
        app.lane = DeliveryLane(app, platform, trust_proxy=settings.trust_proxy)

    # outermost: headers and Secure cookies on every response, the scheme settled first
    app.add_middleware(SecurityHeaders, trust_proxy=settings.trust_proxy)

    app.add_middleware(Observe)  # outermost: metrics and the request log line

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        locale = locale_of(request)
        if _wants_json(request) or request.headers.get("hx-request"):
            if request.headers.get("hx-request") and not _wants_json(request):
                return HTMLResponse(
                    f'<div class="alert error" role="alert">{_escape(exc.message(locale))}</div>',
                    status_code=exc.status,
                )
            return json_error(request, exc)
        if isinstance(exc, Unauthenticated) and request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        renderer: Renderer = request.app.state.renderer
        return renderer(
            request, "error.html", {"error": exc, "message": exc.message(locale)}, status=exc.status
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """The framework's own refusals (an unparsable body, an unknown path) in the API's
        error shape: a stable code and both messages ("detail" kept as the framework has it)."""
        if not _wants_json(request) or exc.status_code >= 500:
            return await http_exception_handler(request, exc)
        zh, en = HTTP_MESSAGES.get(exc.status_code, ("请求无法处理", str(exc.detail)))
        body = {
            "detail": exc.detail,
            "error": {
                "code": f"http_{exc.status_code}",
                "message": zh if locale_of(request) == "zh_CN" else en,
                "message_zh": zh,
                "message_en": en,
                **({"field": "body"} if exc.status_code == 400 else {}),
            },
        }
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

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
    swagger_dir = settings.node_modules_dir / "swagger-ui-dist"
    app.state.api_docs_viewer = (swagger_dir / "swagger-ui-bundle.js").is_file()
    if app.state.api_docs_viewer:
        viewer = OnlyFiles(directory=swagger_dir, names=SWAGGER_UI_FILES)
        app.mount("/vendor/swagger-ui", viewer, name="swagger-ui")

    # the client-system data services first: routes are matched in order, and these take
    # most of the traffic (no path of theirs is shared with another router)
    routers = [
        delivery_api.router,
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
        sharing_pages.router,
        sharing_grants.router,
        notify.router,
        delivery_files.router,
        delivery_pages.router,
    ]
    for router in routers:
        app.include_router(router)
    app.state.routers = routers
    _document_url_refusal(app)
    return app


def _document_url_refusal(app: FastAPI) -> None:
    """SecurityHeaders refuses a URL holding a NUL before any route runs (400
    ``request_invalid``): say so on every operation of the OpenAPI document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        refusal = {
            "description": "request_invalid: the URL holds a NUL character",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
            },
        }
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.setdefault("responses", {}).setdefault("400", refusal)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


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
