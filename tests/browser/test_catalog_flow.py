"""The catalog in a real Chromium (Debian's package): a cataloguer creates an entry with its
data items and submits it, the authority approves it, and anyone finds it with a
two-character Chinese query. Runs on SQLite and, when GOVSHARE_TEST_DATABASE_URL is set,
on PostgreSQL (the search index differs: FTS5 against tsvector)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from govshare.demo.seed import DEMO_PASSWORD
from govshare.platform import Platform
from tests.browser.conftest import serving

SCREENSHOTS = os.environ.get("GOVSHARE_SCREENSHOT_DIR")

pytestmark = pytest.mark.browser


@pytest.fixture
def server(demo_platform: Platform) -> Iterator[str]:
    """The demo city (with its published catalog) on each test database."""
    with serving(demo_platform) as url:
        yield url


def _signed_in(browser: Any, server: str, username: str) -> Any:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(server + "/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', DEMO_PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(server + "/")
    return page


def _shot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(locator)


def _fill_item(page: Any, row: Any, name: str, code: str, length: str, **sel: str) -> None:
    row.locator('input[name$="-name"]').fill(name)
    row.locator('input[name$="-code"]').fill(code)
    row.locator('input[name$="-length"]').fill(length)
    for field, value in sel.items():
        row.locator(f'select[name$="-{field}"]').select_option(value)


@pytest.mark.req("SQ-14", "NX-18")
def test_catalogue_submit_approve_and_find_by_a_two_character_query(
    browser: Any, server: str
) -> None:
    # The cataloguer of 公安局 opens the editor from their department's page.
    page = _signed_in(browser, server, "ga_catalog")
    page.click("nav.mainnav >> text=本部门目录")
    page.wait_for_url(server + "/catalog/mine")
    page.click("main >> text=新建目录条目")
    page.wait_for_url(server + "/catalog/new")
    page.fill("#f-name", "警犬繁育登记信息")
    page.fill("#f-internal_division", "警犬技术支队")
    page.fill("#f-summary", "本市警犬繁育、登记和训导员信息")
    page.select_option("#f-format_category", "database")
    page.fill("#f-format_type", "关系型数据库表")
    page.select_option("#f-update_cycle", "weekly")
    page.fill("#f-timeliness", "T+7")
    page.select_option("#f-share_category", "conditional")
    assert page.locator("#f-share_conditions").is_visible()
    assert not page.locator("#f-not_shared_reasons").is_visible()  # only for 不予共享
    page.fill("#f-share_scope", "全市政务部门")
    page.fill("#f-share_conditions", "仅限履行法定职责需要")
    page.check('input[name="delivery_modes"][value="query"]')
    page.check('input[name="delivery_modes"][value="verify"]')
    page.fill("#f-usage_requirements", "不得转授第三方")
    page.fill("#f-confidentiality_review", "2026-11-01 经本部门保密审查，不涉密")

    rows = page.locator("#items-body tr")
    assert rows.count() == 3
    _fill_item(page, rows.nth(0), "警犬编号", "dog_no", "20")
    _fill_item(page, rows.nth(1), "训导员姓名", "handler_name", "50", sensitivity="name")
    page.click("#add-rows")  # htmx appends a fresh row
    expect(rows).to_have_count(4)  # (a locator wait: the page's CSP forbids eval)
    _fill_item(page, rows.nth(3), "繁育日期", "bred_on", "", type="date")
    rows.nth(2).locator(".remove-row").click()  # the empty row goes
    expect(rows).to_have_count(3)
    _shot(page, "catalog-editor")
    page.click("#submit-button")
    page.wait_for_url(server + "/catalog/mine")
    assert "已提交审核" in page.inner_text("main")
    assert "警犬繁育登记信息" in page.inner_text("#submitted")
    page.context.close()

    # The authority reviews and approves it.
    page = _signed_in(browser, server, "admin")
    page.click("nav.mainnav >> text=目录审核")
    page.wait_for_url(server + "/catalog/review")
    page.click("#review-queue >> text=警犬繁育登记信息")
    page.wait_for_url(re.compile(r".*/catalog/review/[0-9A-Z]{26}$"))
    items = page.inner_text("#entry-items")
    assert "警犬编号" in items and "handler_name" in items and "繁育日期" in items
    page.click("#approve-button")
    page.wait_for_url(server + "/catalog/review")
    assert "已发布" in page.inner_text("main")
    page.context.close()

    # Anyone finds it with a two-character query, narrows by a facet, and opens it.
    page = _signed_in(browser, server, "rs_user")
    page.click("nav.mainnav >> text=目录")
    page.wait_for_url(server + "/catalog")
    page.fill("#catalog-q", "警犬")
    page.press("#catalog-q", "Enter")
    page.wait_for_url(re.compile(r".*/catalog\?q=%E8%AD%A6%E7%8A%AC$"))
    page.wait_for_selector("#hits >> text=警犬繁育登记信息")
    assert "与“警犬”匹配的条目共 1 条" in page.inner_text("#hit-count")
    page.click('[data-facet="share_category"] >> text=有条件共享')
    page.wait_for_url(re.compile(r".*share_category=conditional"))
    page.wait_for_selector(".chips >> text=有条件共享")
    _shot(page, "catalog-browser")
    page.click("#hits >> text=警犬繁育登记信息")
    page.wait_for_url(re.compile(r".*/catalog/resources/[0-9A-Z]{26}$"))
    assert page.inner_text("#entry-name") == "警犬繁育登记信息"
    assert "宿迁市公安局" in page.inner_text("#entry-provider")
    assert "dog_no" in page.inner_text("#entry-items")
    _shot(page, "catalog-entry")
    page.context.close()
