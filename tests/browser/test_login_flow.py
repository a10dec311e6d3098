"""A real Chromium (Debian's package) driven by Playwright against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from govshare.platform import Platform
from tests.browser.conftest import serving

pytestmark = pytest.mark.browser


@pytest.fixture
def server(sqlite_demo_platform: Platform) -> Iterator[str]:
    """The browser tests' subject is the UI; the server logic runs on both databases in
    tests/web, so one database is enough here."""
    with serving(sqlite_demo_platform) as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN")
    yield context.new_page()
    context.close()


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
