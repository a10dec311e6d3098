"""Security headers and cookie flags on every response (a pure ASGI middleware).

- ``Content-Security-Policy``: scripts and styles from this origin only (the templates hold
  no inline script or style, and no event-handler attributes), no framing
  (``frame-ancestors 'none'``, plus ``X-Frame-Options: DENY`` for older browsers), forms
  post only here, no ``<base>`` rewriting, no plugins. A JSON answer (the API) loads
  nothing: ``default-src 'none'; frame-ancestors 'none'``.
- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``.
- A NUL character in the URL (path or query) is refused with 400 before any route runs.
- Over TLS only: ``Strict-Transport-Security``, and ``Secure`` added to every cookie the
  response sets (the session cookie and the language cookie).

Whether a request came over TLS: its own scheme, or, only when ``GOVSHARE_TRUST_PROXY`` is
on, the ``X-Forwarded-Proto`` header that the TLS-terminating proxy sets (the right-most
value: the one the nearest proxy appended). When trusted, the forwarded scheme also becomes
the request's scheme, so that URLs the app builds say https, and the right-most
``X-Forwarded-For`` address becomes the client's (the source recorded with a sign-in).
With the setting off both headers are ignored, so that a client cannot make the platform
believe it is behind TLS, or pose as another address.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)
# A JSON answer (the API) loads nothing and is framed by nobody: the strictest policy
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
API_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", API_CONTENT_SECURITY_POLICY.encode()),
    *HEADERS[1:],
)


def forwarded(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The right-most value of an ``X-Forwarded-*`` header (the one the nearest proxy
    appended), or None."""
    for key, value in headers:
        if key.lower() == name:
            last = value.decode("latin-1").split(",")[-1].strip()
            return last or None
    return None


def _secure_cookie(value: bytes) -> bytes:
    attrs = {a.strip().lower() for a in value.split(b";")[1:]}
    return value if b"secure" in attrs else value + b"; Secure"


def proxied(scope: Scope, trust_proxy: bool) -> Scope:
    """``scope`` as the request arrived at the TLS-terminating proxy: with
    ``trust_proxy``, the forwarded scheme and client address (see above); else as it is."""
    if not trust_proxy:
        return scope
    headers = scope.get("headers", [])
    proto = (forwarded(headers, b"x-forwarded-proto") or "").lower()
    if proto in ("http", "https"):
        scope = dict(scope, scheme=proto)
    client = forwarded(headers, b"x-forwarded-for")
    if client:
        scope = dict(scope, client=(client, 0))
    return scope


def secured(headers: list[tuple[bytes, bytes]], tls: bool) -> list[tuple[bytes, bytes]]:
    """A response's headers with the headers above added where the response has not set its
    own, and over TLS the HSTS header and ``Secure`` on every cookie."""
    present = set()
    added = HEADERS
    for name, value in headers:
        name = name.lower()
        present.add(name)
        if name == b"content-type" and value.startswith(b"application/json"):
            added = API_HEADERS
    headers = headers + [(n, v) for n, v in added if n not in present]
    if tls:
        if b"strict-transport-security" not in present:
            headers.append((b"strict-transport-security", HSTS.encode()))
        headers = [(n, _secure_cookie(v) if n.lower() == b"set-cookie" else v) for n, v in headers]
    return headers


class SecurityHeaders:
    """Wraps the app: sets the headers above unless a route already set its own."""

    def __init__(self, app: ASGIApp, *, trust_proxy: bool = False) -> None:
        self.app = app
        self.trust_proxy = trust_proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = proxied(scope, self.trust_proxy)
        tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = secured(list(message.get("headers", [])), tls)
                message = {**message, "headers": headers}
            await send(message)

        if has_nul(scope):
            await NUL_REFUSED(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def has_nul(scope: Scope) -> bool:
    """A NUL character in the path or the query string: no identifier or search text holds
    one, and PostgreSQL refuses it in any text parameter."""
    query = bytes(scope.get("query_string", b"")).lower()
    return "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query


NUL_REFUSED = JSONResponse(
    {
        "error": {
            "code": "request_invalid",
            "message": "请求地址含有不允许的控制字符",
            "message_zh": "请求地址含有不允许的控制字符",
            "message_en": "the request URL holds a NUL character",
            "field": "url",
        }
    },
    status_code=400,
)
