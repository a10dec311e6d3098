"""Hardening: security headers, HSTS and Secure cookies over TLS only (a forwarded scheme
only from a trusted proxy), templates without inline script, session rotation at sign-in,
password policy and lockout."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from govshare.demo.seed import DEMO_PASSWORD
from govshare.identity import queries as identity_queries
from govshare.identity import services as identity_services
from govshare.kernel.actor import Actor
from govshare.kernel.clock import set_clock, utcnow
from govshare.kernel.errors import ValidationFailed
from govshare.platform import Platform
from govshare.web.app import create_app
from govshare.web.security import API_CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY
from tests.web.conftest import csrf_from

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "govshare" / "web" / "templates"


@pytest.fixture
def web(sqlite_demo_platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform=sqlite_demo_platform)) as c:
        yield c


def _client(platform: Platform, base_url: str, **settings: object) -> TestClient:
    platform.settings = platform.settings.model_copy(update=settings)
    return TestClient(create_app(platform=platform), base_url=base_url)


def _sign_in(client: TestClient, username: str = "admin") -> tuple[str, str]:
    """(the session cookie before, and the Set-Cookie header of the sign-in)."""
    token = csrf_from(client.get("/login").text)
    before = client.cookies.get("govshare_session") or ""
    r = client.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return before, r.headers["set-cookie"]


@pytest.mark.req("SQ-24")
@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/me", "/no-such-page"])
def test_every_response_carries_the_security_headers(web: TestClient, path: str) -> None:
    r = web.get(path, follow_redirects=False)
    json = r.headers["content-type"].startswith("application/json")
    # a JSON answer loads nothing at all; a page only from this origin
    want = API_CONTENT_SECURITY_POLICY if json else CONTENT_SECURITY_POLICY
    assert r.headers["content-security-policy"] == want
    if json:
        assert want == "default-src 'none'; frame-ancestors 'none'"
    csp = dict(p.strip().split(" ", 1) for p in CONTENT_SECURITY_POLICY.split(";"))
    assert csp["script-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in r.headers  # plain http: no HSTS


def test_templates_hold_no_inline_script_or_style() -> None:
    """What lets the CSP forbid inline script and style: nothing in the templates needs it."""
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handlers = re.compile(r"\son[a-z]+\s*=|\bhx-on|javascript:", re.I)
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if inline_script.search(text) or handlers.search(text):
            offenders.append(f"{path.relative_to(TEMPLATES)}: script")
        if re.search(r"<style|\sstyle\s*=", text, re.I):
            offenders.append(f"{path.relative_to(TEMPLATES)}: style")
    assert not offenders, offenders


@pytest.mark.req("SQ-24")
def test_hsts_and_secure_cookies_over_tls(sqlite_demo_platform: Platform) -> None:
    with _client(sqlite_demo_platform, "https://testserver") as c:
        assert c.get("/login").headers["strict-transport-security"].startswith("max-age=")
        _, cookie = _sign_in(c)
        assert "; secure" in cookie.lower() and "httponly" in cookie.lower()
        lang = c.get("/lang/en?next=/", follow_redirects=False).headers["set-cookie"]
        assert "; secure" in lang.lower()


@pytest.mark.req("SQ-24")
def test_forwarded_proto_only_from_a_trusted_proxy(sqlite_demo_platform: Platform) -> None:
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    with _client(sqlite_demo_platform, "http://testserver") as c:  # GOVSHARE_TRUST_PROXY off
        r = c.get("/login", headers=https)
        assert "strict-transport-security" not in r.headers
        token = csrf_from(r.text)
        r = c.post(
            "/login",
            data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": token},
            headers=https,
            follow_redirects=False,
        )
        assert "secure" not in r.headers["set-cookie"].lower()
    with _client(sqlite_demo_platform, "http://testserver", trust_proxy=True) as c:
        assert "strict-transport-security" in c.get("/login", headers=https).headers
        # the right-most value is the one the proxy appended: a forged left part is ignored
        forged = {"X-Forwarded-Proto": "https, http"}
        assert "strict-transport-security" not in c.get("/login", headers=forged).headers
        token = csrf_from(c.get("/login", headers=https).text)
        r = c.post(
            "/login",
            data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": token},
            headers=https,
            follow_redirects=False,
        )
        assert "; secure" in r.headers["set-cookie"].lower()
    # the sign-in recorded the client address the proxy forwarded
    from sqlalchemy import select

    from govshare.audit.tables import audit_entry

    with sqlite_demo_platform.db.read() as conn:
        details = conn.execute(
            select(audit_entry.c.details)
            .where(audit_entry.c.action == "login")
            .order_by(audit_entry.c.seq.desc())
            .limit(1)
        ).scalar_one()
    assert "203.0.113.7" in details


@pytest.mark.req("SQ-24", "YX-25")
def test_session_rotates_at_sign_in(web: TestClient) -> None:
    """Session fixation: the cookie an attacker could plant before sign-in is not the one the
    user is signed in with, and stays anonymous; the CSRF token is a new one too."""
    anonymous_token = csrf_from(web.get("/login").text)
    planted = web.cookies.get("govshare_session")
    assert planted
    before, _ = _sign_in(web)
    assert before == planted
    after = web.cookies.get("govshare_session")
    assert after and after != planted
    signed_in_token = csrf_from(web.get("/").text)
    assert signed_in_token != anonymous_token
    # the planted (pre-sign-in) cookie does not carry the sign-in
    web.cookies.clear()
    web.cookies.set("govshare_session", planted)
    assert web.get("/", follow_redirects=False).status_code == 303
    # nor does the old CSRF token work with the new session
    web.cookies.clear()
    web.cookies.set("govshare_session", after)
    r = web.post("/logout", data={"csrf_token": anonymous_token}, follow_redirects=False)
    assert r.status_code == 403
    assert web.get("/").status_code == 200


@pytest.mark.req("SQ-28", "NX-52")
@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short1A!", False),  # too short
        ("alllowercaseletters", False),  # one class
        ("lowercase12345", False),  # two classes
        ("Lowercase12345", True),  # three classes
        ("lower-case-12345", True),
        ("UPPER_CASE_ABCDE", False),
        ("密码密码密码密码密码密码1a", True),  # symbols include non-ASCII characters
    ],
)
def test_password_policy(sqlite_demo_platform: Platform, password: str, ok: bool) -> None:
    p = sqlite_demo_platform
    with p.db.read() as conn:
        user = identity_queries.user_by_username(conn, "rs_user")
    assert user is not None
    if ok:
        identity_services.set_password(p.db, user.id, password, actor=Actor.system("test"))
        actor = identity_services.authenticate(
            p.db, username="rs_user", password=password, max_failures=5, lockout_minutes=15
        )
        assert actor.id == user.id
    else:
        with pytest.raises(ValidationFailed) as exc:
            identity_services.set_password(p.db, user.id, password, actor=Actor.system("test"))
        assert exc.value.field == "password"


@pytest.mark.req("SQ-28", "YX-25")
def test_lockout_counts_in_a_row_and_expires(web: TestClient) -> None:
    def attempt(password: str) -> tuple[int, str]:
        token = csrf_from(web.get("/login").text)
        r = web.post(
            "/login",
            data={"username": "rs_user", "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        return r.status_code, r.text

    for _ in range(4):
        assert attempt("wrong-password")[0] == 401
    assert attempt(DEMO_PASSWORD)[0] == 303  # a success resets the count
    web.post("/logout", data={"csrf_token": csrf_from(web.get("/").text)})
    for _ in range(4):
        status, text = attempt("wrong-password")
        assert status == 401 and "锁定" not in text
    status, text = attempt("wrong-password")
    assert status == 401 and "锁定" in text
    # an unknown user gets the same answer as a wrong password, and is never "locked"
    for _ in range(2):
        token = csrf_from(web.get("/login").text)
        r = web.post(
            "/login", data={"username": "nobody-here", "password": "x", "csrf_token": token}
        )
        assert r.status_code == 401 and "用户名或密码错误" in r.text
    later = utcnow() + timedelta(minutes=16)
    set_clock(lambda: later)
    try:
        assert attempt(DEMO_PASSWORD)[0] == 303  # the lock expired
    finally:
        set_clock(None)


def test_login_next_cannot_leave_the_site(web: TestClient) -> None:
    token = csrf_from(web.get("/login").text)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        r = web.post(
            "/login",
            data={
                "username": "admin",
                "password": DEMO_PASSWORD,
                "csrf_token": token,
                "next": target,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        location = r.headers["location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location
        token = csrf_from(web.get("/login").text)
