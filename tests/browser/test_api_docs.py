"""The API documentation page renders in a real Chromium under the platform's CSP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from govshare.platform import Platform
from tests.browser.conftest import serving

pytestmark = pytest.mark.browser


@pytest.fixture
def server(sqlite_demo_platform: Platform) -> Iterator[str]:
    with serving(sqlite_demo_platform) as url:
        yield url


def test_api_docs_render_every_operation_with_nothing_refused(browser: Any, server: str) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: r.status < 400 or problems.append(f"{r.status}: {r.url}"))
    page.goto(server + "/api/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    records = page.locator(".opblock-summary-path", has_text="/api/v1/delivery/grants/")
    assert records.count() >= 2  # lookup and verification, at least
    # an operation opens with its parameters, as a developer reading it would
    page.locator(".opblock-summary", has_text="/records").first.click()
    page.wait_for_selector(".opblock.is-open .parameters", timeout=10_000)
    assert "key" in page.locator(".opblock.is-open .parameters").inner_text()
    assert not [p for p in problems if "Content Security Policy" in p or "failed:" in p], problems
    assert not problems, problems
    context.close()
