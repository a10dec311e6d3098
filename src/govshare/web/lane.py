"""The client-system hot paths, lookup and verification, answered before the framework's
middleware stack, routing and dependency graph (issue 7: most of a governed call's CPU
went to request plumbing: FastAPI's dependency solving, then the layers of middleware
each wrapping the call and its ``send``).

``PlatformApp`` (the app ``web.app.create_app`` builds) hands every HTTP request whose path
starts with the delivery prefix to ``DeliveryLane.serve`` first. The lane answers it only
when it is one of the two calls (``GET /api/v1/delivery/grants/{grant_id}/records``,
``POST /api/v1/delivery/grants/{grant_id}/verify``), carries a bearer token, holds no NUL
in its URL, and its parameters or body are exactly what the route's declared model
accepts (one ``key`` of at most 64 characters, at most one ``items``; a JSON object with a
string ``key`` and an object ``claims``, sent as ``application/json``). Everything else
(no token, a session cookie only, a malformed or over-long parameter, any other body) goes
through the whole app unchanged, the body replayed, so that its validation answers it
exactly as before.

On the lane the token is verified as on every route (``identity.auth``), the call runs
the same function as the route (``delivery_api.run_lookup`` / ``run_verify``) with the
token's client system resolved in the service's own read transaction, and a refusal gets
the app's error answer (``web.errors.json_error``). What the outer middlewares do for
every other request the lane does with the same functions: the security headers
(``security.secured``, HSTS over TLS as ``GOVSHARE_TRUST_PROXY`` says), the request
metrics and log line under the route's template (``observe.record``), and an unexpected
failure answered 500 as the framework's error middleware answers it (with the security
headers, which that answer lacks), then raised for the server to log.
``tests/web/test_delivery_lane.py`` requires the same status, body and headers from both
paths. The OpenAPI document still describes the routes, which keep serving every other
caller.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import Message, Receive, Scope, Send

from govshare.identity.auth import decode_client_token
from govshare.identity.model import VerifiedClient
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import DomainError
from govshare.platform import Platform
from govshare.web.errors import json_error
from govshare.web.observe import record
from govshare.web.routes import delivery_api
from govshare.web.security import has_nul, proxied, secured

if TYPE_CHECKING:
    from fastapi import FastAPI

PREFIX = "/api/v1/delivery/grants/"
_PATH = re.compile(r"/api/v1/delivery/grants/([^/]+)/(records|verify)")
KEY_MAX = 64  # the routes' declared limit on ``key`` (query parameter and body field)
_JSON = (b"content-type", b"application/json")
Raw = list[tuple[bytes, bytes]]


class _Decline(Exception):
    """Not a call for the lane: the app answers it."""


class _Caller:
    """The request log's actor while the lane serves a call (the token's client id)."""

    def __init__(self, client_id: str) -> None:
        self.id = client_id


class DeliveryLane:
    def __init__(self, app: FastAPI, platform: Platform, *, trust_proxy: bool = False) -> None:
        self.app = app
        self.platform = platform
        self.trust_proxy = trust_proxy
        self._routes: dict[str, Any] | None = None

    def _route(self, op: str) -> Any:
        """The route the lane stands in for (for the metrics' template)."""
        if self._routes is None:
            from govshare.web.app import iter_routes  # the app module composes the lane

            endpoints = {"records": delivery_api.lookup, "verify": delivery_api.verify}
            found = {}
            for route in iter_routes(self.app):
                for name, endpoint in endpoints.items():
                    if getattr(route, "endpoint", None) is endpoint:
                        found[name] = route
            self._routes = found
        return self._routes.get(op)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """Answer the call and return None; or, for a request the lane does not take, the
        ``receive`` the app must answer it with (the body replayed when the lane read it)."""
        match = _PATH.fullmatch(scope["path"])
        if match is None:
            return receive
        grant_id, op = match.group(1), match.group(2)
        headers = Headers(scope=scope)
        authorization = headers.get("authorization", "")
        if (
            scope["method"] != ("GET" if op == "records" else "POST")
            or authorization[:7].lower() != "bearer "
            or has_nul(scope)
        ):
            return receive
        started = time.perf_counter()
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
            return body_replayed(body, receive)
        scope["app"] = self.app  # as the app sets it (the error answer's locale reads it)
        route = self._route(op)
        if route is not None:
            scope["route"] = route
        template = getattr(route, "path", "unmatched")
        tls = proxied(scope, self.trust_proxy).get("scheme") == "https"
        try:
            status, raw, out = await self._answer(scope, op, grant_id, key, items, claims, headers)
        except Exception:  # as Starlette's ServerErrorMiddleware answers, then raised
            failed = PlainTextResponse("Internal Server Error", status_code=500)
            await _send(send, 500, failed.raw_headers, bytes(failed.body), tls)
            record(scope, template, 500, started)
            raise
        await _send(send, status, raw, out, tls)
        record(scope, template, status, started)
        return None

    async def _answer(
        self,
        scope: Scope,
        op: str,
        grant_id: str,
        key: str | None,
        items: str | None,
        claims: dict[str, Any],
        headers: Headers,
    ) -> tuple[int, Raw, bytes]:
        """The call's status, headers and body (the service's answer, or its refusal)."""
        try:
            token = decode_client_token(
                self.platform.keys, headers["authorization"][7:].strip(), now=utcnow()
            )
            caller = VerifiedClient(str(token["sub"]))
            scope.setdefault("state", {})["actor"] = _Caller(caller.client_id)
            if op == "records":
                answer = await delivery_api.run_lookup(
                    self.platform, grant_id, key, items, headers, caller
                )
            else:
                answer = await delivery_api.run_verify(
                    self.platform, grant_id, key or "", claims, headers, caller
                )
        except DomainError as exc:
            refused = json_error(Request(scope), exc)
            return refused.status_code, refused.raw_headers, bytes(refused.body)
        # as a Response would give them: the answer's own, then length and type
        own = answer.headers.items()
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in own]
        raw += [(b"content-length", str(len(answer.body)).encode()), _JSON]
        return 200, raw, answer.body


async def _send(send: Send, status: int, raw: Raw, body: bytes, tls: bool) -> None:
    await send({"type": "http.response.start", "status": status, "headers": secured(raw, tls)})
    await send({"type": "http.response.body", "body": body})


def _lookup_params(scope: Scope) -> tuple[str | None, str | None]:
    query: bytes = scope["query_string"]
    if query[:4] == b"key=" and query[4:].isalnum() and len(query) - 4 <= KEY_MAX:
        return query[4:].decode("ascii"), None  # the usual call: one plain key, nothing to decode
    params = QueryParams(query)
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
