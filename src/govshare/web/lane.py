"""The client-system hot paths, lookup and verification, answered without the framework's
per-request routing and dependency graph (issue 7: most of a governed call's CPU went to
FastAPI's request plumbing and to a second read transaction for the token's system).

``DeliveryLane`` sits inside the security-headers and metrics middlewares and outside the
session (a client system's call never uses one). A request takes the lane only when it is one
of the two calls (``GET /api/v1/delivery/grants/{grant_id}/records``, ``POST
/api/v1/delivery/grants/{grant_id}/verify``), carries a bearer token, and its parameters
or body are exactly what the route's declared model accepts (one ``key`` of at most 64
characters, at most one ``items``; a JSON object with a string ``key`` and an object
``claims``, sent as ``application/json``). Everything else (no token, a session cookie
only, a malformed or over-long parameter, any other body) goes to the routes unchanged,
the body replayed, so that their validation answers it exactly as before.

On the lane the token is verified as on every route (``identity.auth``), the call runs
the same function as the route (``delivery_api.run_lookup`` / ``run_verify``) with the
token's client system resolved in the service's own read transaction, and a refusal gets
the app's error answer (``web.errors.json_error``). The outer middlewares still wrap it
(request metrics and log line under the route's template, security headers), and
the OpenAPI document still describes the routes, which keep serving every other caller.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govshare.identity.auth import decode_client_token
from govshare.identity.model import VerifiedClient
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import DomainError
from govshare.platform import Platform
from govshare.web.errors import json_error
from govshare.web.routes import delivery_api

PREFIX = "/api/v1/delivery/grants/"
_PATH = re.compile(r"/api/v1/delivery/grants/([^/]+)/(records|verify)")
KEY_MAX = 64  # the routes' declared limit on ``key`` (query parameter and body field)


class _Decline(Exception):
    """Not a call for the lane: the routes answer it."""


class _Caller:
    """The request log's actor while the lane serves a call (the token's client id)."""

    def __init__(self, client_id: str) -> None:
        self.id = client_id


class DeliveryLane:
    def __init__(self, app: ASGIApp, platform: Platform) -> None:
        self.app = app
        self.platform = platform
        self._routes: dict[str, Any] | None = None

    def _route(self, scope: Scope, op: str) -> Any:
        """The route the lane stands in for (for the metrics' template)."""
        if self._routes is None:
            from govshare.web.app import iter_routes  # the app module composes the lane

            endpoints = {"records": delivery_api.lookup, "verify": delivery_api.verify}
            found = {}
            for route in iter_routes(scope["app"]):
                for name, endpoint in endpoints.items():
                    if getattr(route, "endpoint", None) is endpoint:
                        found[name] = route
            self._routes = found
        return self._routes.get(op)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        match = _PATH.fullmatch(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        grant_id, op = match.group(1), match.group(2)
        method = scope["method"]
        headers = Headers(scope=scope)
        authorization = headers.get("authorization", "")
        if (
            method != ("GET" if op == "records" else "POST")
            or authorization[:7].lower() != "bearer "
        ):
            await self.app(scope, receive, send)
            return
        body: bytes | None = None
        key: str | None = None
        items: str | None = None
        claims: dict[str, Any] = {}
        try:
            if op == "records":
                key, items = _lookup_params(scope)
            else:
                body = await _read_body(receive)
                key, claims = _verify_body(headers, body)
        except _Decline:
            await self.app(scope, body_replayed(body, receive), send)
            return
        route = self._route(scope, op)
        if route is not None:
            scope["route"] = route
        request = Request(scope)
        try:
            token = decode_client_token(self.platform.keys, authorization[7:].strip(), now=utcnow())
            caller = VerifiedClient(str(token["sub"]))
            scope.setdefault("state", {})["actor"] = _Caller(caller.client_id)
            if op == "records":
                response = await delivery_api.run_lookup(
                    self.platform, grant_id, key, items, headers, caller
                )
            else:
                response = await delivery_api.run_verify(
                    self.platform, grant_id, key or "", claims, headers, caller
                )
        except DomainError as exc:
            response = json_error(request, exc)
        await response(scope, receive, send)


def _lookup_params(scope: Scope) -> tuple[str | None, str | None]:
    params = QueryParams(scope["query_string"])
    key = items = None
    seen: set[str] = set()
    for name, value in params.multi_items():
        if name in seen and name in ("key", "items"):
            raise _Decline
        seen.add(name)
        if name == "key":
            key = value
        elif name == "items":
            items = value
    if key is not None and len(key) > KEY_MAX:
        raise _Decline
    return key, items


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Decline  # the client left: let the routes see it
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _verify_body(headers: Headers, body: bytes) -> tuple[str, dict[str, Any]]:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise _Decline
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _Decline from exc
    if not isinstance(data, dict) or set(data) != {"key", "claims"}:
        raise _Decline
    key, claims = data["key"], data["claims"]
    if not isinstance(key, str) or len(key) > KEY_MAX or not isinstance(claims, dict):
        raise _Decline
    return key, claims


def body_replayed(body: bytes | None, receive: Receive) -> Receive:
    """``receive`` for the routes: as it was when the lane read no body, else the body the
    lane read, then whatever follows."""
    if body is None:
        return receive
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
