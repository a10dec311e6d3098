"""Catalog files over HTTP: the template, the import API, the exports, DCAT-AP."""

from __future__ import annotations

import io
import warnings
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS, RDF
from sqlalchemy import func, select

from govshare.catalog import queries, services
from govshare.catalog.model import OpenCategory, ReviewDecision, VersionState
from govshare.catalog.tables import resource
from govshare.catalog.workbook import XLSX_MEDIA_TYPE
from govshare.identity.queries import list_departments
from govshare.platform import Platform
from tests.integration.catalog.conftest import City
from tests.web.conftest import login

ENTRY = {
    "序号": 1,
    "资源名称": "网络导入的户籍信息",
    "资源分类": "部门",
    "摘要": "本市户籍人口的户籍登记信息",
    "数据格式": "数据库",
    "更新周期": "每日",
    "时效要求": "T+1",
    "共享类别": "无条件共享",
    "共享范围": "全市政务部门",
    "共享方式": "联机查询",
    "开放属性": "不予开放",
    "保密审查": "2026-11-01 经本部门保密审查，不涉密",
    "一数一源说明": "户籍登记主管部门",
}
ITEM = {
    "所属资源": 1,
    "信息项名称": "姓名",
    "英文代码": "name",
    "数据类型": "字符串",
    "长度": 50,
    "敏感类型": "姓名",
}


def xlsx(entries: list[dict[str, Any]], items: list[dict[str, Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "目录条目"
    wi = wb.create_sheet("信息项")
    for sheet, rows in ((ws, entries), (wi, items)):
        headers = list(dict.fromkeys(h for r in rows for h in r))
        sheet.append(headers)
        for r in rows:
            sheet.append([r.get(h) for h in headers])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def platform_of(client: TestClient) -> Platform:
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    return platform


def resource_count(client: TestClient) -> int:
    with platform_of(client).db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(resource)).scalar_one())


def upload(client: TestClient, csrf: str | None, data: bytes, **form: str) -> Any:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return client.post(
        "/api/v1/catalog/import",
        files={"file": ("目录.xlsx", data, XLSX_MEDIA_TYPE)},
        data=form,
        headers=headers,
    )


def rdf(data: str, fmt: str) -> Graph:
    with warnings.catch_warnings():
        # rdflib's own JSON-LD parser builds a ConjunctiveGraph, which rdflib 7 deprecates
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        return Graph().parse(data=data, format=fmt)


# Template -----------------------------------------------------------------------------
def _validations(ws: Any) -> dict[str, str]:
    """Column header → the list a drop-down offers (inline lists only)."""
    headers = {c.column_letter: c.value for c in ws[1]}
    out = {}
    for dv in ws.data_validations.dataValidation:
        letter = str(dv.sqref).split(":")[0].rstrip("0123456789")
        out[headers[letter]] = dv.formula1
    return out


def test_template_downloads_with_sheets_headers_and_dropdowns(client: TestClient) -> None:
    login(client, "rs_user")  # anyone signed in
    r = client.get("/catalog/template.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"] == XLSX_MEDIA_TYPE
    assert "attachment" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[:3] == ["目录条目", "信息项", "说明"]
    entries, items = wb["目录条目"], wb["信息项"]
    headers = [c.value for c in entries[1]]
    for h in ("资源名称", "资源分类", "基础库类别", "共享类别", "依据类型", "共享方式", "专用部门"):
        assert h in headers
    assert [c.value for c in items[1]][:4] == ["所属资源", "信息项名称", "英文代码", "数据类型"]
    lists = _validations(entries)
    assert lists["共享类别"] == '"无条件共享,有条件共享,不予共享"'
    assert lists["资源分类"] == '"基础,主题,部门"'
    assert "联机查询" in lists["共享方式"] and "每季度" in lists["更新周期"]
    assert lists["涉及国家秘密"] == '"是,否"'
    item_lists = _validations(items)
    assert "身份证号" in item_lists["标识类型"] and "当事人同意" in item_lists["采集依据"]
    rules = [row[0] for row in wb["说明"].iter_rows(values_only=True) if row and row[0]]
    assert any("宿迁" in str(line) for line in rules)  # the user's own profile
    assert any("负责人审签" in str(line) for line in rules)


@pytest.mark.req("YX-7", "YX-20")
def test_yixing_template_offers_two_share_categories_and_no_opening(client: TestClient) -> None:
    login(client, "ga_catalog")
    r = client.get("/catalog/template.xlsx", params={"profile": "yixing"})
    assert r.status_code == 200
    lists = _validations(load_workbook(io.BytesIO(r.content))["目录条目"])
    assert lists["共享类别"] == '"无条件共享,有条件共享"'
    assert lists["开放属性"] == '"不予开放"'


def test_template_needs_sign_in_and_a_known_profile(client: TestClient) -> None:
    r = client.get("/catalog/template.xlsx", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    login(client, "ga_catalog")
    assert client.get("/catalog/template.xlsx", params={"profile": "nowhere"}).status_code == 404


def test_filled_template_imports(client: TestClient) -> None:
    """The downloaded template, filled in with openpyxl, goes straight back in."""
    csrf = login(client, "ga_catalog")
    wb = load_workbook(io.BytesIO(client.get("/catalog/template.xlsx").content))
    entries, items = wb["目录条目"], wb["信息项"]
    eh = [c.value for c in entries[1]]
    entries.append([ENTRY.get(h) for h in eh])
    ih = [c.value for c in items[1]]
    items.append([ITEM.get(h) for h in ih])
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(client, csrf, buf.getvalue())
    assert r.status_code == 201, r.text
    assert r.json()["count"] == 1


# Import API ----------------------------------------------------------------------------
def test_import_api_creates_drafts_or_submissions(client: TestClient) -> None:
    csrf = login(client, "ga_catalog")
    second = dict(ENTRY, 序号=2, 资源名称="网络导入的第二个资源")
    data = xlsx([ENTRY, second], [ITEM, dict(ITEM, 所属资源=2)])
    r = upload(client, csrf, data)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["count"] == 2 and len(body["codes"]) == 2 and body["submitted"] is False
    r = upload(client, csrf, data, submit="true")
    assert r.status_code == 201, r.text
    with platform_of(client).db.read() as conn:
        states = {queries.get_version(conn, v).state for v in r.json()["version_ids"]}
    assert states == {VersionState.SUBMITTED}


def test_import_api_reports_every_error_and_writes_nothing(client: TestClient) -> None:
    csrf = login(client, "ga_catalog")
    before = resource_count(client)
    bad = [
        ENTRY,
        dict(ENTRY, 序号=2, 共享类别="不予共享", 共享方式=""),
        dict(ENTRY, 序号=3, 开放属性="也许"),
    ]
    r = upload(client, csrf, xlsx(bad, [ITEM, dict(ITEM, 所属资源=2, 英文代码="Bad Code")]))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "catalog_import_failed" and err["error_count"] == len(err["errors"])
    found = {(e["sheet"], e["row"], e["column"], e["code"]) for e in err["errors"]}
    assert {
        ("目录条目", 3, "依据类型", "catalog_basis_required"),
        ("目录条目", 3, "负责人审签", "catalog_head_sign_off_required"),
        ("目录条目", 4, "开放属性", "catalog_import_bad_value"),
        ("信息项", 3, "英文代码", "catalog_item_code_invalid"),
    } <= found
    assert all(e["message_zh"] and e["message_en"] for e in err["errors"])
    assert resource_count(client) == before


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n not a workbook",
        b"PK\x03\x04\x14\x00broken",
        "名称,分类\n户籍,部门".encode("gbk"),
    ],
    ids=["png", "broken-zip", "gbk-csv"],
)
def test_corrupt_upload_is_a_4xx_and_persists_nothing(client: TestClient, data: bytes) -> None:
    csrf = login(client, "ga_catalog")
    before = resource_count(client)
    r = upload(client, csrf, data)
    assert r.status_code == 422
    assert [e["code"] for e in r.json()["error"]["errors"]] == ["catalog_import_not_xlsx"]
    assert resource_count(client) == before


def test_oversized_upload_is_refused(client: TestClient) -> None:
    csrf = login(client, "ga_catalog")
    r = upload(client, csrf, b"\0" * (10 * 1024 * 1024 + 128 * 1024))
    assert r.status_code == 422
    assert r.json()["error"]["errors"][0]["code"] == "catalog_import_too_large"


def test_import_api_permissions(client: TestClient) -> None:
    data = xlsx([ENTRY], [ITEM])
    assert upload(client, None, data).status_code in (401, 403)
    csrf = login(client, "ga_catalog")
    assert upload(client, None, data).status_code == 403  # no CSRF token
    other = City(platform_of(client)).depts["人社局"].id
    r = upload(client, csrf, data, department_id=other)
    assert r.status_code == 403  # not a cataloguer of 人社局
    client.cookies.clear()
    csrf = login(client, "rs_user")  # a data user catalogues nothing
    assert upload(client, csrf, data).status_code == 403


def test_import_api_needs_a_file(client: TestClient) -> None:
    csrf = login(client, "ga_catalog")
    r = client.post(
        "/api/v1/catalog/import", data={"submit": "false"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "file"


# Exports and DCAT --------------------------------------------------------------------
def _publish(client: TestClient, **changes: Any) -> str:
    city = City(platform_of(client))
    admin = city.actor("admin")
    entry = city.entry(single_source_justification="法定采集部门", **changes)
    v = services.create_draft(city.db, city.profiles, entry, actor=admin)
    services.submit(city.db, city.profiles, v.id, actor=admin)
    return services.review(city.db, v.id, ReviewDecision.APPROVE, actor=admin).code


def test_exports_for_signed_in_users(client: TestClient) -> None:
    code = _publish(client, name="网络导出测试")
    assert client.get("/api/v1/catalog/export.json").status_code == 401
    assert client.get("/catalog/export.xlsx", follow_redirects=False).status_code == 303
    login(client, "rs_user")
    r = client.get("/api/v1/catalog/export.json")
    assert r.status_code == 200
    assert code in {e["code"] for e in r.json()["entries"]}
    r = client.get("/api/v1/catalog/export.json", params={"jurisdiction": "321322"})
    assert r.status_code == 200 and code not in {e["code"] for e in r.json()["entries"]}
    assert (
        client.get("/api/v1/catalog/export.json", params={"jurisdiction": "x"}).status_code == 404
    )
    r = client.get("/catalog/export.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX_MEDIA_TYPE
    ws = load_workbook(io.BytesIO(r.content))["目录条目"]
    headers = [c.value for c in ws[1]]
    codes = {row[headers.index("资源代码")] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert code in codes


def test_dcat_endpoints_are_public_and_parse(client: TestClient) -> None:
    open_code = _publish(client, name="网络开放测试", open_category=OpenCategory.OPEN)
    closed_code = _publish(client, name="网络不开放测试")
    r = client.get("/catalog.jsonld", params={"page_size": 500})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    g = rdf(r.text, "json-ld")
    ids = {str(g.value(d, DCTERMS.identifier)) for d in g.subjects(RDF.type, DCAT.Dataset)}
    assert open_code in ids and closed_code not in ids
    assert all(
        str(s).startswith("http://testserver/catalog/resources/")
        for s in g.subjects(RDF.type, DCAT.Dataset)
    )
    r = client.get("/catalog.ttl", params={"page_size": 500})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    t = rdf(r.text, "turtle")
    assert set(t.subjects(RDF.type, DCAT.Dataset)) == set(g.subjects(RDF.type, DCAT.Dataset))
    assert client.get("/catalog.jsonld", params={"page_size": 0}).status_code == 422
    assert client.get("/catalog.ttl", params={"page_size": 501}).status_code == 422
    assert client.get("/catalog.ttl", params={"page": 0}).status_code == 422


def test_import_page_imports_a_workbook_off_the_event_loop(client: TestClient) -> None:
    """The page's import writes the drafts (in a worker thread: the autouse check of
    ``tests/web`` fails a write on the event loop's thread) and lists what it made."""
    csrf = login(client, "ga_catalog")
    before = resource_count(client)
    with platform_of(client).db.read() as conn:
        dept = next(d for d in list_departments(conn) if d.short_name == "公安局")
    r = client.post(
        "/catalog/import",
        data={"csrf_token": csrf, "department_id": dept.id},
        files={"file": ("目录.xlsx", xlsx([ENTRY], [ITEM]), XLSX_MEDIA_TYPE)},
    )
    assert r.status_code == 200, r.text
    assert resource_count(client) == before + 1
    assert r.text.count('<li><a class="mono" href="/catalog/versions/') == 1
