"""Health, metrics, the platform's public keys, the API documentation, the language
switch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from govshare.identity.policy import Permission
from govshare.web.deps import PlatformDep, policy, render
from govshare.web.i18n import normalise
from govshare.web.metrics import metrics

router = APIRouter()


@router.get("/healthz", dependencies=[policy(Permission.PUBLIC)], tags=["system"])
def healthz(platform: PlatformDep) -> JSONResponse:
    try:
        with platform.db.read() as conn:
            conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok", "database": platform.db.dialect})
    except Exception:  # the health check reports, it does not raise
        return JSONResponse({"status": "error", "database": platform.db.dialect}, status_code=503)


@router.get(
    "/metrics",
    dependencies=[policy(Permission.PUBLIC)],
    tags=["system"],
    response_class=PlainTextResponse,  # documented as text (Prometheus exposition format)
)
def prometheus_metrics() -> Response:
    return PlainTextResponse(generate_latest(metrics().registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/.well-known/govshare/keys", dependencies=[policy(Permission.PUBLIC)], tags=["system"])
def public_keys(platform: PlatformDep) -> dict[str, Any]:
    """The platform's Ed25519 public key (JWK set): verifies tokens, checkpoints, receipts."""
    return {"keys": [platform.keys.jwk()]}


@router.get("/api/docs", dependencies=[policy(Permission.PUBLIC)], include_in_schema=False)
def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI description in Swagger UI, served from this origin (the npm package
    ``swagger-ui-dist``; FastAPI's own page loads it from a CDN with an inline script,
    which the pages' Content-Security-Policy refuses, as an intranet would the CDN)."""
    return render(
        request,
        "api_docs.html",
        {"spec_url": request.app.openapi_url, "viewer": request.app.state.api_docs_viewer},
    )


@router.get("/lang/{code}", dependencies=[policy(Permission.PUBLIC)], include_in_schema=False)
def switch_language(code: str, request: Request, next: str = "/") -> RedirectResponse:
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie("lang", normalise(code), max_age=365 * 86400, samesite="lax", httponly=True)
    return response
