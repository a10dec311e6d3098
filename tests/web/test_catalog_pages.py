"""The catalog pages through the real app: browse and search with facets, the editor with its
data-items table and field errors, submission, the review queue, the entry page, revisions
and diffs, the department's work list, and who may see a draft."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from govshare.catalog import queries, services
from govshare.catalog.model import EntryInput, ReviewDecision, ShareCategory, VersionState
from govshare.demo.seed import DEMO_PASSWORD
from govshare.identity import queries as identity_queries
from govshare.identity import services as identity_services
from govshare.identity.model import JurisdictionLevel
from govshare.identity.services import DepartmentInput
from govshare.kernel import clock
from govshare.kernel.actor import Actor, Role
from govshare.kernel.identifiers import make_uscc
from govshare.platform import Platform
from tests.integration.catalog.conftest import City
from tests.web.conftest import login

ID26 = r"[0-9A-Z]{26}"


def _city(client: TestClient) -> City:
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    return City(platform)


def _form(token: str, dept_id: str, name: str = "警犬繁育登记信息", **over: Any) -> dict[str, Any]:
    """A complete editor form as a browser posts it (two data items and one empty row)."""
    data: dict[str, Any] = {
        "csrf_token": token,
        "provider_department_id": dept_id,
        "name": name,
        "classification": "department",
        "summary": "本市警犬繁育、登记和训导员信息",
        "internal_division": "警犬技术支队",
        "format_category": "database",
        "format_type": "关系型数据库表",
        "update_cycle": "daily",
        "timeliness": "T+1",
        "share_category": "conditional",
        "share_scope": "全市政务部门",
        "share_conditions": "仅限履行法定职责需要",
        "share_basis_type": "law",
        "share_basis_text": "公安机关应当依法保护公民个人信息",
        "share_basis_ref": "《中华人民共和国人民警察法》",
        "delivery_modes": ["query", "verify"],
        "usage_requirements": "不得转授第三方",
        "open_category": "closed",
        "open_basis": "《中华人民共和国人民警察法》",
        "confidentiality_review": "2026-11-01 经本部门保密审查，不涉密",
        "tags": "警犬, 登记",
        "items-1-name": "警犬编号",
        "items-1-code": "dog_no",
        "items-1-type": "string",
        "items-1-length": "20",
        "items-1-identifier": "none",
        "items-1-sensitivity": "none",
        "items-1-required": "1",
        "items-2-name": "训导员姓名",
        "items-2-code": "handler_name",
        "items-2-type": "string",
        "items-2-length": "50",
        "items-2-identifier": "none",
        "items-2-sensitivity": "name",
        "items-3-name": "",
        "items-3-code": "",
        "items-3-type": "string",
        "action": "save",
    }
    data.update(over)
    return data


def _entry(city: City, dept: str = "公安局", **changes: Any) -> EntryInput:
    """A valid entry; the demo catalog already provides 姓名 and 公民身份号码, so it states
    why it collects them again (一数一源)."""
    changes.setdefault("single_source_justification", "本局依法登记，为该类数据的权威来源")
    return city.entry(dept=dept, **changes)


def _published(city: City, **changes: Any) -> tuple[str, str]:
    """A published 公安局 entry (resource id, code) created through the services."""
    cat, admin = city.actor("ga_catalog"), city.actor("admin")
    v = services.create_draft(city.db, city.profiles, _entry(city, **changes), actor=cat)
    services.submit(city.db, city.profiles, v.id, actor=cat)
    v = services.review(city.db, v.id, ReviewDecision.APPROVE, actor=admin)
    return v.resource_id, v.code


def _field_error(html: str, field: str) -> str:
    match = re.search(
        rf'<span class="field-error" id="err-{re.escape(field)}">([^<]*)</span>', html
    )
    assert match, f"no error shown next to {field}"
    return match.group(1)


def _row(html: str, position: int) -> str:
    match = re.search(rf'<tr class="item-row" id="item-row-{position}">(.*?)</tr>', html, re.S)
    assert match, f"no data-item row {position}"
    return match.group(1)


# Editor -------------------------------------------------------------------------------
@pytest.mark.req("SQ-10.1")
def test_editor_creates_an_entry_with_items_and_shows_errors_on_their_fields(
    client: TestClient,
) -> None:
    token = login(client, "ga_catalog")
    dept = _city(client).depts["公安局"].id
    page = client.get("/catalog/new")
    assert page.status_code == 200
    assert 'name="items-1-name"' in page.text and "基本信息" in page.text
    assert "共享属性" in page.text and "开放属性" in page.text and "一数一源" in page.text

    # A not-shared entry without its basis, and a data item with a bad code and length.
    bad = _form(
        token,
        dept,
        share_category="not_shared",
        share_basis_type="",
        delivery_modes=[],
        **{"items-2-code": "Handler Name", "items-2-length": "五十"},
    )
    r = client.post("/catalog/new", data=bad)
    assert r.status_code == 422
    assert "须注明法律、法规或政策依据" in _field_error(r.text, "share_basis_type")
    assert 'aria-describedby="err-share_basis_type"' in r.text
    row2 = _row(r.text, 2)
    assert "第2个信息项的英文代码须为小写字母开头" in row2
    assert "第2个信息项的长度须为正整数" in row2
    assert 'value="Handler Name"' in row2  # shown again as typed
    assert "第2个信息项" not in _row(r.text, 1)
    assert "警犬繁育登记信息" not in client.get("/catalog/mine").text  # nothing was saved

    # "Add rows" without JavaScript: the form comes back with more empty rows, unsaved.
    r = client.post("/catalog/new", data=_form(token, dept, action="add_rows"))
    assert r.status_code == 200
    assert 'value="训导员姓名"' in r.text and "item-row-5" in r.text

    # htmx fetches one new row on its own
    r = client.get(f"/catalog/editor/item-row?department_id={dept}", headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.text.lstrip().startswith(("<tr", "\n<tr"))
    assert re.search(r'name="items-n[0-9a-f]{8}-name"', r.text)

    r = client.post("/catalog/new", data=_form(token, dept), follow_redirects=False)
    assert r.status_code == 303
    edit = r.headers["location"]
    assert re.fullmatch(rf"/catalog/versions/{ID26}/edit", edit)
    page = client.get(edit)
    assert 'value="警犬繁育登记信息"' in page.text
    assert 'value="警犬编号"' in page.text and 'value="handler_name"' in page.text
    assert "草稿已保存" in page.text
    vid = edit.split("/")[3]
    with client.app.state.platform.db.read() as conn:  # type: ignore[attr-defined]
        v = queries.get_version(conn, vid)
    assert v.state is VersionState.DRAFT and v.code.startswith("300")
    assert [i.code for i in v.entry.data_items] == ["dog_no", "handler_name"]
    assert v.entry.data_items[1].sensitivity == "name" and v.entry.data_items[0].required
    assert v.entry.tags == ("警犬", "登记")

    # delete a row (the no-JS checkbox) and submit for review
    r = client.post(
        edit,
        data=_form(token, dept, action="submit", **{"items-2-delete": "1"}),
        follow_redirects=True,
    )
    assert r.url.path == "/catalog/mine"
    assert "已提交审核" in r.text
    submitted = r.text[r.text.index('id="submitted"') :]
    assert "警犬繁育登记信息" in submitted
    with client.app.state.platform.db.read() as conn:  # type: ignore[attr-defined]
        v = queries.get_version(conn, vid)
    assert v.state is VersionState.SUBMITTED and [i.code for i in v.entry.data_items] == ["dog_no"]


def test_submit_refusal_keeps_the_draft_and_lists_every_problem(client: TestClient) -> None:
    token = login(client, "ga_catalog")
    dept = _city(client).depts["公安局"].id
    r = client.post(
        "/catalog/new",
        data=_form(token, dept, action="submit", share_scope="", confidentiality_review=""),
    )
    assert r.status_code == 422
    assert "草稿已保存，但尚不能提交审核" in r.text
    assert "目录条目缺少必填项：共享范围" in _field_error(r.text, "share_scope")
    assert "保密审查" in _field_error(r.text, "confidentiality_review")
    action = re.search(rf'action="(/catalog/versions/{ID26}/edit)"', r.text)
    assert action, "the refused form posts to the saved draft, not to a new one"
    with client.app.state.platform.db.read() as conn:  # type: ignore[attr-defined]
        work = [w for w in queries.department_work(conn, dept) if w.name == "警犬繁育登记信息"]
    assert [w.state for w in work] == ["draft"]


@pytest.mark.req("SZ-9")
def test_one_data_one_source_overlap_is_shown_and_must_be_justified(client: TestClient) -> None:
    city = _city(client)
    rid, code = _published(city)  # 公安局 publishes 姓名 + 公民身份号码
    token = login(client, "rs_admin")
    dept = city.depts["人社局"].id
    data = _form(
        token,
        dept,
        name="参保人员基本信息",
        action="submit",
        **{
            "items-1-name": "公民身份号码",
            "items-1-code": "id_card",
            "items-1-identifier": "id_card",
            "items-1-sensitivity": "id_card",
            "items-1-length": "18",
        },
    )
    r = client.post("/catalog/new", data=data)
    assert r.status_code == 422
    assert "一数一源" in _field_error(r.text, "single_source_justification")
    assert f'href="/catalog/resources/{rid}" class="mono overlap-link">{code}</a>' in r.text
    assert 'id="overlap-notice"' in r.text  # the editor names the resource providing them
    edit = re.search(rf'action="(/catalog/versions/{ID26}/edit)"', r.text)
    assert edit
    data["single_source_justification"] = "参保登记须现场核验本人身份，按社保法独立采集"
    r = client.post(edit.group(1), data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/catalog/mine"

    login(client, "admin")
    queue = client.get("/catalog/review").text
    assert "参保人员基本信息" in queue and code in queue
    vid = re.search(rf'href="/catalog/review/({ID26})">参保人员基本信息', queue)
    assert vid
    page = client.get(f"/catalog/review/{vid.group(1)}").text
    overlaps = page[page.index('id="overlaps"') :]
    assert "居民户籍信息" in overlaps and "公民身份号码" in overlaps
    assert "参保登记须现场核验本人身份" in overlaps


# Review -------------------------------------------------------------------------------
def _neixiang_unit(platform: Platform) -> str:
    """A county under the demo city governed by the Neixiang measures (the authority
    reviews catalog updates within 5 working days, NX-22), with a cataloguer 'nx_catalog'."""
    system = Actor.system("test")
    with platform.db.read() as conn:
        city = identity_queries.jurisdiction_by_code(conn, "321300")
    assert city is not None
    j = identity_services.create_jurisdiction(
        platform.db,
        actor=system,
        code="321399",
        name="测试县",
        level=JurisdictionLevel.COUNTY,
        profile="neixiang",
        parent_id=city.id,
    )
    dept = identity_services.create_department(
        platform.db,
        DepartmentInput(
            name="测试县公安局",
            short_name="测试县公安局",
            uscc=make_uscc("1", "1", "321399", "77001234"),
            jurisdiction_id=j.id,
        ),
        actor=system,
    )
    identity_services.create_user(
        platform.db,
        actor=system,
        username="nx_catalog",
        display_name="内编目",
        password=DEMO_PASSWORD,
        roles=[(dept.id, Role.CATALOGUER)],
    )
    return dept.id


@pytest.mark.req("NX-22", "NX-20")
def test_review_queue_shows_the_due_date_flags_overdue_and_approval_publishes(
    client: TestClient,
) -> None:
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    dept = _neixiang_unit(platform)
    token = login(client, "nx_catalog")
    assert 'href="/catalog/review"' not in client.get("/").text  # not for a cataloguer
    r = client.post("/catalog/new", data=_form(token, dept), follow_redirects=False)
    edit = r.headers["location"]
    past = datetime.now(UTC) - timedelta(days=40)
    clock.set_clock(lambda: past)  # submitted 40 days ago: the 5 working days are long gone
    try:
        r = client.post(edit, data=_form(token, dept, action="submit"), follow_redirects=False)
    finally:
        clock.set_clock(None)
    assert r.status_code == 303
    vid = edit.split("/")[3]
    with platform.db.read() as conn:
        v = queries.get_version(conn, vid)
    assert v.review_due is not None and v.review_due < datetime.now(UTC).date()
    mine = client.get("/catalog/mine").text
    assert v.review_due.isoformat() in mine[mine.index('id="submitted"') :]

    token = login(client, "admin")
    assert 'href="/catalog/review"' in client.get("/").text
    queue = client.get("/catalog/review")
    assert queue.status_code == 200
    row = re.search(
        rf'<tr class="overdue">(?:(?!</tr>).)*?/catalog/review/{vid}.*?</tr>', queue.text, re.S
    )
    assert row, "the overdue submission is flagged"
    assert v.review_due.isoformat() in row.group(0) and "已超期" in row.group(0)
    assert "测试县公安局" in row.group(0)

    page = client.get(f"/catalog/review/{vid}")
    assert page.status_code == 200 and "警犬编号" in page.text and 'id="approve-form"' in page.text
    r = client.post(
        f"/catalog/review/{vid}",
        data={"csrf_token": token, "decision": "approve", "comment": "同意"},
        follow_redirects=True,
    )
    assert r.url.path == "/catalog/review" and "已发布" in r.text
    assert vid not in r.text

    entry = client.get(f"/catalog/resources/{v.resource_id}")
    assert entry.status_code == 200
    assert "警犬繁育登记信息" in entry.text and v.code in entry.text
    assert "测试县公安局" in entry.text and "警犬技术支队" in entry.text  # who provides it
    assert "有条件共享" in entry.text and "仅限履行法定职责需要" in entry.text
    items = entry.text[entry.text.index('id="entry-items"') :]
    assert "dog_no" in items and "handler_name" in items and "姓名" in items  # sensitivity


def test_return_needs_reasons_and_the_reason_shows_on_my_department_page(
    client: TestClient,
) -> None:
    city = _city(client)
    cat = city.actor("ga_catalog")
    v = services.create_draft(city.db, city.profiles, _entry(city, name="警犬训导记录"), actor=cat)
    services.submit(city.db, city.profiles, v.id, actor=cat)
    token = login(client, "admin")
    r = client.post(f"/catalog/review/{v.id}", data={"csrf_token": token, "decision": "return"})
    assert r.status_code == 422 and "退回须说明理由" in r.text and 'id="review-error"' in r.text
    r = client.post(
        f"/catalog/review/{v.id}",
        data={"csrf_token": token, "decision": "return", "comment": "摘要未说明数据范围"},
        follow_redirects=True,
    )
    assert "已退回" in r.text

    login(client, "ga_catalog")
    mine = client.get("/catalog/mine").text
    returned = mine[mine.index('id="returned"') : mine.index('id="drafts"')]
    assert "警犬训导记录" in returned and "摘要未说明数据范围" in returned
    edit = client.get(f"/catalog/versions/{v.id}/edit").text
    assert "摘要未说明数据范围" in edit and 'id="returned-reason"' in edit


# Browse and search --------------------------------------------------------------------
def test_browse_and_search_with_facets_paging_and_htmx(client: TestClient) -> None:
    city = _city(client)
    admin = city.actor("admin")
    ga, rs = city.depts["公安局"], city.depts["人社局"]
    for n in range(21):  # 21 entries about 警犬: two pages of 20
        _published(
            city,
            name=f"警犬档案{n:02d}",
            share_category=ShareCategory.UNCONDITIONAL if n % 3 else ShareCategory.CONDITIONAL,
        )
    rs_entry = replace(
        _entry(city, dept="人社局", name="警犬医疗保险"),
        data_items=city.entry().data_items[2:],
    )
    cat_rs = city.actor("rs_admin")
    v = services.create_draft(city.db, city.profiles, rs_entry, actor=cat_rs)
    services.submit(city.db, city.profiles, v.id, actor=cat_rs)
    services.review(city.db, v.id, ReviewDecision.APPROVE, actor=admin)

    login(client, "rs_user")  # any signed-in government user browses
    r = client.get("/catalog", params={"q": "警犬"})
    assert r.status_code == 200
    assert "与“警犬”匹配的条目共 22 条" in r.text
    assert r.text.count('class="hit"') == 20
    facets = r.text[r.text.index('class="facets"') : r.text.index('class="hits"')]
    ga_link = re.search(
        r'<a href="([^"]+)"[^>]*>\s*<span class="facet-name">公安局</span>\s*'
        r'<span class="count">21</span>',
        facets,
    )
    assert ga_link, "the provider facet counts 21 for 公安局"
    assert re.search(r'facet-name">人社局</span>\s*<span class="count">1</span>', facets)
    assert re.search(r'facet-name">有条件共享</span>\s*<span class="count">7</span>', facets)
    assert re.search(r'facet-name">联机查询/接口</span>\s*<span class="count">22</span>', facets)
    assert "1 / 2" in r.text

    href = ga_link.group(1).replace("&amp;", "&")
    assert f"provider_department_id={ga.id}" in href
    r = client.get(href)
    assert "与“警犬”匹配的条目共 21 条" in r.text and "警犬医疗保险" not in r.text
    # the active filter is a link that removes it, and rides along with a new query
    assert f'<input type="hidden" name="provider_department_id" value="{ga.id}"' in r.text
    r = client.get(
        "/catalog",
        params={"q": "警犬", "provider_department_id": ga.id, "share_category": "conditional"},
    )
    assert "与“警犬”匹配的条目共 7 条" in r.text
    chips = r.text[r.text.index('class="chips"') :]
    assert "共享类型: 有条件共享" in chips
    r = client.get("/catalog", params={"q": "警犬", "page": "2"})
    assert r.text.count('class="hit"') == 2 and "2 / 2" in r.text

    # htmx asks for the results only
    r = client.get(
        "/catalog",
        params={"q": "警犬", "provider_department_id": rs.id},
        headers={"HX-Request": "true", "HX-Target": "catalog-results"},
    )
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<div id="catalog-results"') and "<html" not in r.text
    assert "警犬医疗保险" in r.text and "人社局" in r.text

    r = client.get("/catalog", params={"q": "不存在的资源名称"})
    assert "没有匹配的条目" in r.text


# Versions -----------------------------------------------------------------------------
@pytest.mark.req("SZ-8")
def test_revision_review_shows_the_diff_and_the_entry_keeps_its_history(
    client: TestClient,
) -> None:
    city = _city(client)
    rid, _ = _published(city, name="警犬使用记录")
    dept = city.depts["公安局"].id
    token = login(client, "ga_catalog")
    page = client.get(f"/catalog/resources/{rid}")
    assert 'id="revise-button"' in page.text and 'id="retire-form"' in page.text
    r = client.post(
        f"/catalog/resources/{rid}/revise", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    edit = r.headers["location"]
    form = client.get(edit).text
    assert "第 2 版" in form and 'value="公民身份号码"' in form
    data = _form(
        token,
        dept,
        name="警犬使用记录",
        action="submit",
        update_cycle="weekly",
        share_category="conditional",
        **{
            "items-1-name": "姓名",
            "items-1-code": "name",
            "items-1-length": "50",
            "items-1-sensitivity": "name",
            "items-2-name": "公民身份号码",
            "items-2-code": "id_card",
            "items-2-length": "18",
            "items-2-identifier": "id_card",
            "items-2-sensitivity": "id_card",
            "items-3-name": "户籍地址",
            "items-3-code": "household_address",
            "items-3-length": "200",
            "items-3-sensitivity": "address",
            "items-4-name": "使用单位",
            "items-4-code": "user_unit",
            "items-4-length": "100",
        },
    )
    data.pop("open_basis")
    data["summary"] = city.entry().summary
    r = client.post(edit, data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    vid = edit.split("/")[3]

    token = login(client, "admin")
    review = client.get(f"/catalog/review/{vid}").text
    diff = review[review.index('id="revision-diff"') :]
    assert re.search(r'data-field="update_cycle">\s*<th scope="row">更新周期</th>', diff)
    assert "每日" in diff and "每周" in diff
    assert 'data-field="data_items.user_unit"' in diff
    client.post(f"/catalog/review/{vid}", data={"csrf_token": token, "decision": "approve"})

    page = client.get(f"/catalog/resources/{rid}").text
    versions = page[page.index('id="versions"') :]
    assert "第 2 版" in versions and "第 1 版" in versions and "已被取代" in versions
    assert f"/catalog/resources/{rid}/diff?from=1&amp;to=2" in versions
    r = client.get(f"/catalog/resources/{rid}/diff", params={"from": 1, "to": 2})
    assert r.status_code == 200
    changed = set(re.findall(r'<tr data-field="([^"]+)">', r.text))
    assert {"update_cycle", "share_category", "data_items.user_unit"} <= changed
    assert "name" not in changed and "data_items.id_card" not in changed
    share = re.search(r'data-field="share_category">.*?</tr>', r.text, re.S)
    assert share and re.search(r"无条件共享.*有条件共享", share.group(0), re.S)
    with city.db.read() as conn:
        first = queries.history(conn, rid)[-1]
    old = client.get(f"/catalog/versions/{first.id}")
    assert old.status_code == 200 and "已被取代" in old.text and "第 1 版" in old.text
    assert (
        client.get(f"/catalog/resources/{rid}/diff", params={"from": 1, "to": 9}).status_code == 404
    )


def test_retirement_needs_a_reason_and_shows_its_transition(client: TestClient) -> None:
    city = _city(client)
    rid, _ = _published(city, name="警犬旧档案")
    token = login(client, "ga_catalog")
    r = client.post(f"/catalog/resources/{rid}/retire", data={"csrf_token": token, "reason": " "})
    assert r.status_code == 422
    assert "下线须指明替代资源或说明理由" in r.text and 'id="retire-error"' in r.text
    r = client.post(
        f"/catalog/resources/{rid}/retire",
        data={"csrf_token": token, "reason": "并入警犬综合档案", "transition_days": "30"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and 'id="retiring-notice"' in r.text
    assert "并入警犬综合档案" in r.text and "下线过渡期" in r.text
    with city.db.read() as conn:
        res = queries.get_resource(conn, rid)
    assert res.transition_ends_on is not None and res.transition_ends_on.isoformat() in r.text


# Access -------------------------------------------------------------------------------
def test_a_department_cannot_see_another_departments_draft(client: TestClient) -> None:
    city = _city(client)
    cat = city.actor("ga_catalog")
    v = services.create_draft(city.db, city.profiles, _entry(city, name="警犬内部草稿"), actor=cat)
    token = login(client, "scjg_admin")
    for path in (
        f"/catalog/versions/{v.id}/edit",
        f"/catalog/versions/{v.id}",
        f"/catalog/resources/{v.resource_id}",
        f"/catalog/resources/{v.resource_id}/diff",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "警犬内部草稿" not in r.text
    r = client.post(f"/catalog/versions/{v.id}/edit", data=_form(token, city.depts["公安局"].id))
    assert r.status_code in (403, 404)
    r = client.post("/catalog/new", data=_form(token, city.depts["公安局"].id))
    assert r.status_code == 403
    assert client.get(f"/catalog/review/{v.id}").status_code == 403
    assert "警犬内部草稿" not in client.get("/catalog/mine").text

    login(client, "rs_user")  # a data user browses but does not catalogue
    assert client.get("/catalog").status_code == 200
    assert client.get("/catalog/new").status_code == 403
    nav = client.get("/").text
    assert 'href="/catalog"' in nav and 'href="/catalog/mine"' not in nav

    login(client, "admin")  # the authority over the provider's jurisdiction sees it
    r = client.get(f"/catalog/resources/{v.resource_id}")
    assert r.status_code == 200 and "警犬内部草稿" in r.text and "草稿" in r.text


# Profiles shape the editor --------------------------------------------------------------
def _unit(platform: Platform, code: str, profile: str) -> str:
    system = Actor.system("test")
    with platform.db.read() as conn:
        city = identity_queries.jurisdiction_by_code(conn, "321300")
    assert city is not None
    j = identity_services.create_jurisdiction(
        platform.db,
        actor=system,
        code=code,
        name=f"{profile}测试区",
        level=JurisdictionLevel.COUNTY,
        profile=profile,
        parent_id=city.id,
    )
    for n, name in enumerate(("数据局", "公安局")):
        dept = identity_services.create_department(
            platform.db,
            DepartmentInput(
                name=f"{profile}测试区{name}",
                short_name=f"{profile}{name}",
                uscc=make_uscc("1", "1", code, f"7700{n:04d}"),
                jurisdiction_id=j.id,
            ),
            actor=system,
        )
    return dept.id


def _options(html: str, name: str) -> list[str]:
    match = re.search(rf'<select id="f-{name}" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert match, name
    return [v for v in re.findall(r'<option value="([^"]*)"', match.group(1)) if v]


@pytest.mark.req("YX-7", "SZ-16.3")
def test_the_editor_offers_only_what_the_rule_profile_allows(client: TestClient) -> None:
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    yixing = _unit(platform, "321398", "yixing")
    shuozhou = _unit(platform, "321397", "shuozhou")
    login(client, "admin")
    suqian = client.get("/catalog/new").text
    assert _options(suqian, "share_category") == ["unconditional", "conditional", "not_shared"]
    assert 'name="dedicated_department_ids"' not in suqian

    page = client.get("/catalog/new", params={"department_id": yixing}).text
    assert "yixing测试区公安局" in page
    assert _options(page, "share_category") == ["unconditional", "conditional"]
    assert 'name="not_shared_reasons"' not in page

    page = client.get("/catalog/new", params={"department_id": shuozhou}).text
    assert 'name="dedicated_department_ids"' in page and "shuozhou数据局" in page
    assert 'name="items-1-collection_basis"' in page  # SZ-10: per item
    assert 'name="release_scenarios"' in page  # SZ-11: release review


def test_import_page_offers_the_template_and_reports_a_bad_file(client: TestClient) -> None:
    token = login(client, "ga_catalog")
    page = client.get("/catalog/import")
    assert page.status_code == 200 and 'id="import-form"' in page.text
    link = re.search(r'id="template-link"|href="(/catalog/import/template\.xlsx[^"]*)"', page.text)
    assert link
    dept = _city(client).depts["公安局"].id
    r = client.get(f"/catalog/import/template.xlsx?department_id={dept}")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    r = client.post(
        "/catalog/import",
        data={"csrf_token": token, "department_id": dept},
        files={"file": ("catalog.xlsx", b"not a workbook", "application/octet-stream")},
    )
    assert r.status_code == 422 and 'id="import-error"' in r.text


def test_catalog_pages_switch_to_english(client: TestClient) -> None:
    login(client, "ga_catalog")
    client.cookies.set("lang", "en")
    page = client.get("/catalog/new").text
    assert "New catalog entry" in page and "Basic information" in page
    assert "Unconditional sharing" in page
