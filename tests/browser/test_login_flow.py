"""A real Chromium (Debian's package) driven by Playwright against a real server."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from govshare.platform import Platform
from govshare.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    if os.environ.get("GOVSHARE_REQUIRE_BROWSER"):
        raise RuntimeError(
            "Chromium is required (GOVSHARE_REQUIRE_BROWSER=1) but /usr/bin/chromium is missing"
        )
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(sqlite_demo_platform: Platform) -> Iterator[str]:
    """The browser tests' subject is the UI; the server logic runs on both databases in
    tests/web, so one database is enough here."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(platform=sqlite_demo_platform), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(locale="zh-CN")
        pg = context.new_page()
        yield pg
        context.close()
        browser.close()


@pytest.mark.req("SQ-28", "YX-25", "SZ-4")
def test_authority_logs_in_and_reaches_department_admin(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/")
    assert "/login" in page.url
    page.fill('input[name="username"]', "admin")
    page.fill('input[name="password"]', "Demo-Pass-2026")
    page.click('button[type="submit"]')
    page.wait_for_url(server + "/")
    assert "宿迁市政务服务管理办公室" in page.content()
    page.click("nav.mainnav >> text=部门")
    page.wait_for_url(server + "/admin/departments")
    assert page.locator("#departments tbody tr").count() >= 30
    assert page.locator("text=宿迁市公安局").count() == 1


@pytest.mark.req("SQ-16")
def test_invalid_uscc_shows_the_failed_check(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/login")
    page.fill('input[name="username"]', "admin")
    page.fill('input[name="password"]', "Demo-Pass-2026")
    page.click('button[type="submit"]')
    page.wait_for_url(server + "/")
    page.goto(server + "/admin/departments/new")
    page.fill('input[name="name"]', "宿迁市测试局")
    page.fill('input[name="short_name"]', "测试局")
    page.fill('input[name="uscc"]', "11321300MB1234567X")
    page.click('main form button[type="submit"]')
    assert page.locator("#form-error").is_visible()
    assert "统一社会信用代码" in page.locator("#form-error").inner_text()


@pytest.mark.req("SQ-25", "HB-27")
def test_auditor_verifies_the_chain_with_htmx(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/login")
    page.fill('input[name="username"]', "auditor")
    page.fill('input[name="password"]', "Demo-Pass-2026")
    page.click('button[type="submit"]')
    page.wait_for_url(server + "/")
    page.goto(server + "/audit")
    page.click("#verify-button")
    page.wait_for_selector("#verify-ok", timeout=10_000)
    assert "审计链完整" in page.locator("#verify-ok").inner_text()
