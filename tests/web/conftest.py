"""HTTP tests through the real ASGI app (Starlette's TestClient, httpx underneath)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from govshare.demo.seed import DEMO_PASSWORD
from govshare.platform import Platform
from govshare.web.app import create_app


@pytest.fixture
def client(demo_platform: Platform) -> Iterator[TestClient]:
    app = create_app(platform=demo_platform)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    token = csrf_from(page.text)
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_from(client.get("/").text)


@pytest.fixture(autouse=True)
def _writes_off_the_loop(no_writes_on_the_event_loop: None) -> None:
    """Every HTTP test checks that no route writes on the event loop's thread."""
