"""Share applications in a real Chromium (Debian's package), on SQLite and, when
GOVSHARE_TEST_DATABASE_URL is set, on PostgreSQL:

(a) under the Shuozhou profile, a conditional application goes through the wizard, the
    authority's compliance review and the provider's approval to an active grant;
(b) in the demo city (Suqian), an application is refused with reasons, negotiated, escalated,
    and granted by the authority's coordination.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from govshare.demo.seed import DEMO_PASSWORD
from govshare.platform import Platform
from govshare.sharing import queries
from govshare.sharing.model import ApplicationState, GrantStatus
from tests.browser.conftest import serving
from tests.integration.catalog.conftest import City
from tests.web.test_sharing_pages import published, shuozhou, shuozhou_resource

SCREENSHOTS = os.environ.get("GOVSHARE_SCREENSHOT_DIR")
APP_URL = re.compile(r".*/sharing/applications/([0-9A-Z]{26})$")

pytestmark = pytest.mark.browser


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(locator)


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


def _open_from_inbox(page: Any, server: str, application_id: str) -> None:
    page.click('nav.mainnav >> text="共享"')
    page.wait_for_url(server + "/sharing/inbox")
    page.click(f'#inbox-table a[href="/sharing/applications/{application_id}"]')
    page.wait_for_url(server + f"/sharing/applications/{application_id}")


def _fill_wizard(page: Any) -> None:
    page.check("#item-name")
    page.check("#item-id_card")
    page.check('input[name="modes"][value="query"]')
    page.select_option("#f-purpose", "administrative_basis")
    page.fill("#f-scenario", "低保资格审核")
    page.fill("#f-legal_basis", "《社会救助暂行办法》第十一条")
    page.fill("#f-valid_until", "2099-12-31")


def _state(platform: Platform, application_id: str) -> Any:
    with platform.db.read() as conn:
        return queries.get_application(conn, application_id)


@pytest.mark.req("SZ-15.1", "SZ-15.2")
def test_conditional_application_review_approval_and_grant(
    browser: Any, demo_platform: Platform
) -> None:
    platform = demo_platform
    region = shuozhou(platform)
    rid = shuozhou_resource(City(platform), region)
    with serving(platform) as server:
        # The consumer finds the resource in the catalog and applies through the wizard.
        page = _signed_in(browser, server, "sz_user")
        page.goto(server + f"/catalog/resources/{rid}")
        page.click("#apply-button")
        page.wait_for_url(server + f"/sharing/apply?resource_id={rid}")
        assert "最少够用" in page.inner_text("#least-necessary")
        page.click("#submit-application")  # nothing ticked: the error shows at the items
        expect(page.locator("#err-items")).to_have_text("请选择所需信息项")
        _fill_wizard(page)
        _shot(page, "sharing-wizard")
        page.click("#submit-application")
        page.wait_for_url(APP_URL)
        aid = APP_URL.match(page.url)[1]  # type: ignore[index]
        assert "共享申请已提交" in page.inner_text("main")
        assert "符合性审查" in page.inner_text("#timeline")
        assert page.locator("#review-form").count() == 0
        page.context.close()

        # The authority's inbox shows it with its countdown; the review passes it on.
        page = _signed_in(browser, server, "sz_admin")
        _open_from_inbox(page, server, aid)
        page.fill("#review-form textarea", "材料齐全，符合共享条件")
        page.click("#review-pass")
        page.wait_for_url(server + f"/sharing/applications/{aid}")
        assert "符合性审查已完成" in page.inner_text("main")
        assert "待授权审核" in page.inner_text("#app-state")
        page.context.close()

        # The provider approves, narrowing the validity; the grant is active.
        page = _signed_in(browser, server, "sz_cat")
        _open_from_inbox(page, server, aid)
        assert "通过并转提供部门" in page.inner_text("#timeline")
        page.fill('#approve-form input[name="valid_until"]', "2098-06-30")
        _shot(page, "sharing-decision")
        page.click("#approve-button")
        page.wait_for_url(server + f"/sharing/applications/{aid}")
        assert "已答复" in page.inner_text("main")
        assert page.locator("#approve-form").count() == 0
        page.click("#grant-link")
        page.wait_for_url(re.compile(r".*/sharing/grants/[0-9A-Z]{26}$"))
        assert "有效" in page.inner_text("#grant-status")
        assert "脱敏" in page.inner_text("#grant-items")
        assert "2098-06-30" in page.inner_text("#grant-fields")
        _shot(page, "sharing-grant")
        page.context.close()
    app = _state(platform, aid)
    assert app.state is ApplicationState.APPROVED
    with platform.db.read() as conn:
        assert queries.get_grant(conn, app.grant_id or "").status is GrantStatus.ACTIVE


@pytest.mark.req("SZ-15.3", "HB-25")
def test_refusal_negotiation_and_coordination(browser: Any, demo_platform: Platform) -> None:
    platform = demo_platform
    city = City(platform)
    rid = published(city)
    with serving(platform) as server:
        page = _signed_in(browser, server, "rs_user")
        page.goto(server + f"/sharing/apply?resource_id={rid}")
        _fill_wizard(page)
        page.click("#submit-application")
        page.wait_for_url(APP_URL)
        aid = APP_URL.match(page.url)[1]  # type: ignore[index]
        page.context.close()

        # The provider refuses: a reason alone is not enough, the basis is required too.
        page = _signed_in(browser, server, "ga_approver")
        _open_from_inbox(page, server, aid)
        page.fill("#refuse-reason", "超出履职范围")
        page.click("#refuse-button")
        expect(page.locator("#error-decide")).to_contain_text("理由和依据")
        page.fill("#refuse-basis", "《某法》第十条")
        page.select_option("#refuse-basis-type", "law")
        page.click("#refuse-button")
        page.wait_for_url(server + f"/sharing/applications/{aid}")
        assert "未批准" in page.inner_text("#app-state")
        assert "超出履职范围；《某法》第十条" in page.inner_text("#timeline")
        page.context.close()

        # The consumer negotiates; the provider answers; the consumer escalates.
        page = _signed_in(browser, server, "rs_user")
        page.goto(server + f"/sharing/applications/{aid}")
        assert "超出履职范围" in page.inner_text("#timeline")
        page.fill("#negotiate-body", "我局依法审核低保资格，确需核对户籍")
        page.click("#negotiate-button")
        page.wait_for_url(server + f"/sharing/applications/{aid}")
        assert "与提供部门协商中" in page.inner_text("#negotiation-state")
        page.context.close()

        page = _signed_in(browser, server, "ga_approver")
        page.goto(server + f"/sharing/applications/{aid}")
        page.fill("#post-body", "请补充具体法律依据")
        page.click("#post-button")
        page.wait_for_url(server + f"/sharing/applications/{aid}")
        assert "请补充具体法律依据" in page.inner_text("#thread")
        page.context.close()

        page = _signed_in(browser, server, "rs_user")
        page.goto(server + f"/sharing/applications/{aid}")
        page.fill("#escalate-reason", "协商未果，提请协调")
        page.click("#escalate-button")
        page.wait_for_url(server + f"/sharing/applications/{aid}")
        assert "已提请数据主管部门协调" in page.inner_text("#negotiation-state")
        page.context.close()

        # The authority coordinates and grants within the application's scope.
        page = _signed_in(browser, server, "admin")
        _open_from_inbox(page, server, aid)
        thread = page.inner_text("#thread")
        assert "确需核对户籍" in thread and "协商未果" in thread
        page.uncheck('#coordinate-form input[name="items"][value="id_card"]')
        page.fill('#coordinate-form textarea[name="reason"]', "依法履职需要，予以共享")
        _shot(page, "sharing-coordination")
        page.click("#coordinate-grant")
        page.wait_for_url(server + f"/sharing/applications/{aid}")
        assert "协调予以共享" in page.inner_text("#negotiation-state")
        page.context.close()
    app = _state(platform, aid)
    assert app.state is ApplicationState.APPROVED and app.grant_id
    with platform.db.read() as conn:
        g = queries.get_grant(conn, app.grant_id)
    assert [i.code for i in g.items] == ["name"] and g.status is GrantStatus.ACTIVE
