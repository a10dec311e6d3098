"""Request metrics and the request log line, as a plain ASGI middleware (no extra task or
stream per request, unlike ``BaseHTTPMiddleware``; the delivery hot paths go through it)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govshare.web.logging import enabled, get_logger
from govshare.web.metrics import metrics

log = get_logger("govshare.web")


class Observe:
    """Counts each request by method, route template and status, records its latency,
    and logs one line with the route template (never the raw path or query string)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        await self.app(scope, receive, send_status)
        route = scope.get("route")
        record(scope, getattr(route, "path", "unmatched"), status[0], started)


def record(scope: Scope, template: str, status: int, started: float) -> None:
    """The request's metrics and its log line (``web.lane`` records its calls here too)."""
    elapsed = time.perf_counter() - started
    method = scope["method"]
    m = metrics()
    m.series(m.requests, method, template, str(status)).inc()
    m.series(m.latency, method, template).observe(elapsed)
    if not enabled(logging.INFO):
        return
    actor = scope.get("state", {}).get("actor")
    log.info(
        "request",
        method=method,
        route=template,
        status=status,
        ms=round(elapsed * 1000, 2),
        actor=getattr(actor, "id", None),
    )
