"""XLSX import (all or nothing, every error with its row and column), the catalog exports
(XLSX that re-imports, JSON) and DCAT-AP. Workbooks are built here with openpyxl, cell by
cell, the way a cataloguer's Excel would write them."""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD
from sqlalchemy import func, select

from govshare.audit.tables import audit_entry
from govshare.catalog import dcat, exporter, importer, queries, services
from govshare.catalog.model import (
    OpenCategory,
    ReviewDecision,
    ShareCategory,
    VersionState,
)
from govshare.catalog.tables import resource
from govshare.demo.seed import demo_uscc
from govshare.identity import queries as identity_queries
from govshare.identity import services as identity_services
from govshare.identity.model import Department, JurisdictionLevel
from govshare.identity.services import DepartmentInput
from govshare.kernel.actor import Actor
from govshare.kernel.errors import Forbidden
from govshare.rules import load_profiles
from govshare.storage.engine import Database
from tests.integration.catalog.conftest import City

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SYSTEM = Actor.system("test")

# Other jurisdictions, one per rule profile: (division code, name, level).
PLACES = {
    "shuozhou": ("140600", "朔州市", JurisdictionLevel.CITY),
    "yixing": ("320282", "宜兴市", JurisdictionLevel.COUNTY),
    "hubei": ("420000", "湖北省", JurisdictionLevel.PROVINCE),
    "neixiang": ("411325", "内乡县", JurisdictionLevel.COUNTY),
    "default": ("110000", "示例市", JurisdictionLevel.CITY),
}


@dataclass
class Places:
    """The demo city (suqian) plus one jurisdiction per other profile, made on demand,
    each with a 公安局 and a 市场监管局."""

    city: City
    made: dict[str, dict[str, Department]] = field(default_factory=dict)

    def dept(self, profile: str, short: str = "公安局") -> Department:
        if profile == "suqian":
            return self.city.depts[short]
        if profile not in self.made:
            code, name, level = PLACES[profile]
            j = identity_services.create_jurisdiction(
                self.city.db, actor=SYSTEM, code=code, name=name, level=level, profile=profile
            )
            self.made[profile] = {
                s: identity_services.create_department(
                    self.city.db,
                    DepartmentInput(
                        name=f"{name}{s}",
                        short_name=s,
                        uscc=demo_uscc(code, i),
                        jurisdiction_id=j.id,
                    ),
                    actor=SYSTEM,
                )
                for i, s in enumerate(("公安局", "市场监管局"), start=1)
            }
        return self.made[profile][short]


@pytest.fixture
def places(city: City) -> Places:
    return Places(city)


def rdf(data: str, format: str) -> Graph:
    with warnings.catch_warnings():
        # rdflib's own JSON-LD parser builds a ConjunctiveGraph, which rdflib 7 deprecates
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        return Graph().parse(data=data, format=format)


# Workbooks --------------------------------------------------------------------------
def entry_row(ref: Any = 1, **changes: Any) -> dict[str, Any]:
    """An entry that every profile accepts, even for submission."""
    row: dict[str, Any] = {
        "序号": ref,
        "资源名称": f"居民户籍信息{ref}",
        "资源分类": "部门",
        "摘要": "本市户籍人口的户籍登记信息",
        "数据格式": "数据库",
        "格式类型": "关系型数据库表",
        "更新周期": "每日",
        "时效要求": "T+1",
        "共享类别": "无条件共享",
        "共享范围": "全市政务部门",
        "共享条件": "无",
        "共享方式": "联机查询，核验",
        "使用要求": "仅用于履职",
        "开放属性": "不予开放",
        "开放依据": "《中华人民共和国个人信息保护法》第二十八条",
        "涉及国家秘密": "否",
        "保密审查": "2026-11-01 经本部门保密审查，不涉密",
        "分级": "二级",
        "应用场景": "户籍核验",
        "使用者": "政务部门工作人员",
        "地域": "本市",
        "知悉范围": "经办人员",
        "使用范围": "政务服务",
        "需签安全协议": "否",
        "标签": "户籍,人口",
        "一数一源说明": "公安机关为户籍登记的法定主管部门",
    }
    row.update(changes)
    return row


def item_rows(ref: Any = 1) -> list[dict[str, Any]]:
    common = {"所属资源": ref, "采集依据": "法律法规规定", "采集依据说明": "《户口登记条例》"}
    return [
        dict(
            common,
            信息项名称="姓名",
            英文代码="name",
            数据类型="字符串",
            长度=50,
            敏感类型="姓名",
            必填="是",
        ),
        dict(
            common,
            信息项名称="公民身份号码",
            英文代码="id_card",
            数据类型="字符串",
            长度=18,
            标识类型="身份证号",
            敏感类型="身份证号",
            必填="是",
        ),
        dict(
            common,
            信息项名称="户籍地址",
            英文代码="household_address",
            数据类型="字符串",
            长度=200,
            敏感类型="地址",
        ),
    ]


def workbook(entries: list[dict[str, Any]], items: list[dict[str, Any]]) -> bytes:
    wb = Workbook()
    for ws, rows in ((wb.active, entries), (wb.create_sheet(), items)):
        ws.title = importer.SHEET_ENTRIES if rows is entries else importer.SHEET_ITEMS
        headers = list(dict.fromkeys(h for r in rows for h in r))
        ws.append(headers)
        for r in rows:
            ws.append([r.get(h) for h in headers])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def run_import(places: Places, profile: str, data: bytes, **kw: Any) -> importer.ImportResult:
    return importer.import_workbook(
        places.city.db,
        places.city.profiles,
        data,
        actor=kw.pop("actor", SYSTEM),
        department_id=kw.pop("department_id", None) or places.dept(profile).id,
        **kw,
    )


def counts(city: City) -> tuple[int, int]:
    with city.db.read() as conn:
        return (
            conn.execute(select(func.count()).select_from(resource)).scalar_one(),
            conn.execute(select(func.count()).select_from(audit_entry)).scalar_one(),
        )


def failure(places: Places, profile: str, data: bytes, **kw: Any) -> list[importer.RowError]:
    kw.setdefault("department_id", places.dept(profile).id)
    before = counts(places.city)
    with pytest.raises(importer.ImportFailed) as caught:
        run_import(places, profile, data, **kw)
    assert counts(places.city) == before, "a failed import wrote something"
    err = caught.value
    assert err.code == "catalog_import_failed" and err.status == 422
    assert err.extra["errors"] == [e.as_dict() for e in err.errors]
    return err.errors


def where(errors: list[importer.RowError]) -> set[tuple[str | None, int | None, str | None, str]]:
    return {(e.sheet, e.row, e.column, e.code) for e in errors}


E, ITEMS = importer.SHEET_ENTRIES, importer.SHEET_ITEMS


# Importing ----------------------------------------------------------------------------
def test_valid_workbook_imports_every_entry_in_one_go(places: Places) -> None:
    city = places.city
    entries = [entry_row(1), entry_row(2, 资源分类="主题", 主题="一网通办"), entry_row("A3")]
    items = item_rows(1) + item_rows(2) + item_rows("A3")
    before = counts(city)
    with city.db.read() as conn:
        seq = conn.execute(select(func.max(audit_entry.c.seq))).scalar_one()
    cat = city.actor("ga_catalog")
    result = run_import(places, "suqian", workbook(entries, items), actor=cat)
    assert result.count == 3 and result.item_count == 9 and not result.submitted
    assert result.codes[1].startswith("200") and result.codes[0].startswith("300")
    with city.db.read() as conn:
        versions = [queries.get_version(conn, v) for v in result.version_ids]
        audit = conn.execute(
            select(audit_entry.c.action, audit_entry.c.object_type).where(audit_entry.c.seq > seq)
        ).all()
    assert [v.entry.name for v in versions] == ["居民户籍信息1", "居民户籍信息2", "居民户籍信息A3"]
    assert all(v.state is VersionState.DRAFT for v in versions)
    assert [i.code for i in versions[0].entry.data_items] == [
        "name",
        "id_card",
        "household_address",
    ]
    assert versions[0].entry.delivery_modes[0].value == "query"
    assert versions[0].entry.tags == ("户籍", "人口")
    assert versions[1].entry.theme == "一网通办"
    assert counts(city)[0] == before[0] + 3
    assert sorted(audit) == sorted([("create", "resource")] * 3 + [("import", "catalog_import")])


@pytest.mark.parametrize(
    "profile", ["suqian", "shuozhou", "yixing", "hubei", "neixiang", "default"]
)
def test_import_and_submit_under_every_profile(places: Places, profile: str) -> None:
    entries = [entry_row(1), entry_row(2, 资源名称="企业登记信息")]
    if profile == "neixiang":  # NX delivers by query, verify and batch only
        entries[1]["共享方式"] = "批量交换"
    result = run_import(
        places, profile, workbook(entries, item_rows(1) + item_rows(2)), submit=True
    )
    with places.city.db.read() as conn:
        states = {queries.get_version(conn, v).state for v in result.version_ids}
    assert result.submitted and states == {VersionState.SUBMITTED}


def test_errors_in_several_rows_are_all_reported_and_nothing_is_written(places: Places) -> None:
    entries = [
        entry_row(1),
        entry_row(2, 资源分类="部门门", 更新周期="每两天"),  # two bad values
        entry_row(3),
        entry_row(4, 共享类别="不予共享", 共享方式="", 依据类型="法律"),  # no text, ref, sign-off
    ]
    items = item_rows(1) + item_rows(2) + item_rows(3) + item_rows(4)
    items[7]["长度"] = "很长"  # entry 3, second item: row 9
    items.append({"所属资源": 9, "信息项名称": "孤儿", "英文代码": "orphan"})
    errors = failure(places, "suqian", workbook(entries, items))
    assert where(errors) == {
        (E, 3, "资源分类", "catalog_import_bad_value"),
        (E, 3, "更新周期", "catalog_import_bad_value"),
        (E, 5, "依据条文", "catalog_basis_text_required"),
        (E, 5, "依据文号", "catalog_basis_ref_required"),
        (E, 5, "负责人审签", "catalog_head_sign_off_required"),
        (ITEMS, 9, "长度", "catalog_import_bad_value"),
        (ITEMS, 14, "所属资源", "catalog_import_unknown_entry"),
    }
    assert [e.row for e in errors if e.sheet == E] == sorted(e.row for e in errors if e.sheet == E)
    assert "每两天" in next(e.message_zh for e in errors if e.column == "更新周期")


@dataclass(frozen=True)
class Rule:
    profile: str
    entry: dict[str, Any] = field(default_factory=dict)
    item: dict[str, Any] = field(default_factory=dict)  # changes to the entry's 2nd item
    submit: bool = False
    no_items: bool = False


def rule(reqs: tuple[str, ...], *args: Any, **kw: Any) -> Any:
    """One rule case; ``args[0]`` is (sheet, column, code) expected, the rest a Rule."""
    expected, r = args[0], Rule(*args[1:], **kw)
    name = f"{'-'.join(reqs)}-{r.profile}-{expected[2].removeprefix('catalog_')}"
    return pytest.param(r, expected, marks=pytest.mark.req(*reqs), id=name)


NOT_SHARED = {"共享类别": "不予共享", "共享方式": ""}
BASIS = {"依据类型": "法律", "依据条文": "第十条……", "依据文号": "《某法》（主席令第1号）"}
BASE_CONDITIONAL = {"资源分类": "基础", "基础库类别": "人口", "共享类别": "有条件共享"}

RULES = [
    rule(("SQ-10.1",), (E, "依据类型", "catalog_basis_required"), "suqian", NOT_SHARED),
    rule(("HB-8.1",), (E, "依据类型", "catalog_basis_required"), "hubei", NOT_SHARED),
    rule(
        ("HB-8.1",),
        (E, "依据类型", "catalog_basis_type_not_accepted"),
        "hubei",
        NOT_SHARED | BASIS | {"依据类型": "地方性法规"},
    ),
    rule(("SZ-13",), (E, "依据类型", "catalog_basis_required"), "shuozhou", NOT_SHARED),
    rule(
        ("SZ-13",),
        (E, "不予共享理由", "catalog_reasons_required"),
        "shuozhou",
        NOT_SHARED | BASIS,
    ),
    rule(
        ("SZ-14.1",),
        (E, "依据类型", "catalog_basis_internal_rule"),
        "shuozhou",
        NOT_SHARED | BASIS | {"依据类型": "部门内部管理办法", "不予共享理由": "涉及执法"},
    ),
    rule(
        ("NX-37.1",),
        (E, "依据类型", "catalog_basis_required"),
        "neixiang",
        {"共享类别": "有条件共享", "共享条件": "仅限社保经办"},
    ),
    rule(
        ("SQ-17",),
        (E, "负责人审签", "catalog_head_sign_off_required"),
        "suqian",
        NOT_SHARED | BASIS,
    ),
    rule(
        ("SQ-10.2",),
        (E, "共享类别", "catalog_base_must_be_unconditional"),
        "suqian",
        BASE_CONDITIONAL,
    ),
    rule(
        ("HB-8.2",),
        (E, "共享类别", "catalog_base_must_be_unconditional"),
        "hubei",
        BASE_CONDITIONAL,
    ),
    rule(
        ("NX-37.2",),
        (E, "共享类别", "catalog_base_must_be_unconditional"),
        "neixiang",
        BASE_CONDITIONAL | BASIS,
    ),
    rule(
        ("SZ-16.3",),
        (E, "专用部门", "catalog_dedicated_self"),
        "shuozhou",
        {"专用部门": demo_uscc("140600", 1)},  # the provider itself
    ),
    rule(
        ("SZ-16.3",),
        (E, "专用部门", "catalog_dedicated_not_in_profile"),
        "suqian",
        {"专用部门": "宿迁市人力资源和社会保障局"},
    ),
    rule(
        ("SZ-23",),
        (E, "开放条件", "catalog_open_conditions_required"),
        "shuozhou",
        {"开放属性": "依申请开放"},
    ),
    rule(
        ("NX-43",),
        (E, "开放条件", "catalog_open_conditions_required"),
        "neixiang",
        {"开放属性": "依申请开放"},
    ),
    rule(("NX-44",), (E, "开放依据", "catalog_open_basis_required"), "neixiang", {"开放依据": ""}),
    rule(
        ("YX-7",),
        (E, "共享类别", "catalog_share_category_not_in_profile"),
        "yixing",
        NOT_SHARED | BASIS,
    ),
    rule(
        ("YX-20",),
        (E, "开放属性", "catalog_public_release_forbidden"),
        "yixing",
        {"开放属性": "无条件开放"},
    ),
    rule(
        ("SZ-2",), (E, "涉及国家秘密", "catalog_state_secret"), "shuozhou", {"涉及国家秘密": "是"}
    ),
    rule(("YX-12",), (E, "涉及国家秘密", "catalog_state_secret"), "yixing", {"涉及国家秘密": "是"}),
    rule(
        ("SQ-6",),
        (E, "共享范围", "catalog_field_required"),
        "suqian",
        {"共享范围": ""},
        submit=True,
    ),
    rule(
        ("SZ-6",),
        (E, "使用要求", "catalog_field_required"),
        "shuozhou",
        {"使用要求": ""},
        submit=True,
    ),
    rule(
        ("YX-6",),
        (E, "共享条件", "catalog_field_required"),
        "yixing",
        {"共享条件": ""},
        submit=True,
    ),
    rule(
        ("HB-6",), (E, "数据格式", "catalog_field_required"), "hubei", {"数据格式": ""}, submit=True
    ),
    rule(
        ("NX-17",), (E, "信息项", "catalog_field_required"), "neixiang", submit=True, no_items=True
    ),
    rule(
        ("SQ-27",),
        (E, "保密审查", "catalog_confidentiality_review_required"),
        "suqian",
        {"保密审查": ""},
        submit=True,
    ),
    rule(
        ("SZ-26",),
        (E, "保密审查", "catalog_confidentiality_review_required"),
        "shuozhou",
        {"保密审查": ""},
        submit=True,
    ),
    rule(
        ("NX-54",),
        (E, "保密审查", "catalog_confidentiality_review_required"),
        "neixiang",
        {"保密审查": ""},
        submit=True,
    ),
    rule(
        ("YX-12",),
        (E, "保密审查", "catalog_confidentiality_review_required"),
        "yixing",
        {"保密审查": ""},
        submit=True,
    ),
    rule(
        ("SZ-11",),
        (E, "分级", "catalog_release_review_required"),
        "shuozhou",
        {"分级": ""},
        submit=True,
    ),
    rule(
        ("SZ-10",),
        (ITEMS, "采集依据", "catalog_collection_basis_required"),
        "shuozhou",
        item={"采集依据": "", "采集依据说明": ""},
    ),
    rule(
        ("SZ-10",),
        (ITEMS, "采集依据说明", "catalog_collection_basis_required"),
        "shuozhou",
        item={"采集依据说明": ""},
    ),
    rule(("YX-16",), (ITEMS, "长度", "catalog_data_element_standard"), "yixing", item={"长度": 30}),
    rule(
        ("YX-16",),
        (ITEMS, "数据类型", "catalog_data_element_standard"),
        "yixing",
        item={"数据类型": "代码", "标识类型": "无", "代码表": "x"},
    ),
    rule(
        ("SQ-16",),
        (ITEMS, "标识类型", "catalog_identifier_flag"),
        "suqian",
        item={"标识类型": "无"},
    ),
    rule(
        ("NX-24",),
        (ITEMS, "标识类型", "catalog_identifier_not_in_profile"),
        "neixiang",
        item={
            "信息项名称": "组织机构代码",
            "英文代码": "org_code",
            "长度": 9,
            "标识类型": "组织机构代码",
        },
    ),
]


@pytest.mark.parametrize(("case", "expected"), RULES)
def test_every_catalog_rule_is_enforced_through_the_import(
    places: Places, case: Rule, expected: tuple[str, str, str]
) -> None:
    """The violating entry is the second one (row 3; its second item is row 6 of 信息项)."""
    sheet, column, code = expected
    entries = [entry_row(1), entry_row(2, **case.entry)]
    items = item_rows(1) + ([] if case.no_items else item_rows(2))
    if case.item:
        items[4] = items[4] | case.item
    errors = failure(places, case.profile, workbook(entries, items), submit=case.submit)
    row = 3 if sheet == E else 6
    assert (sheet, row, column, code) in where(errors), errors
    assert {e.row for e in errors if e.sheet == E} <= {3}, "the valid first row was blamed"
    hit = next(e for e in errors if e.code == code)
    assert hit.message_zh and hit.message_en
    # the same workbook without the violation goes through (the rule, not the fixture, bit)
    clean = workbook([entry_row(1), entry_row(2)], item_rows(1) + item_rows(2))
    assert run_import(places, case.profile, clean, submit=case.submit).count == 2


def test_lookups_of_departments_and_codes(places: Places) -> None:
    data = workbook(
        [entry_row(1, 专用部门="91000000000000000X", 关联资源代码="399999999")],
        item_rows(1),
    )
    assert where(failure(places, "shuozhou", data)) == {
        (E, 2, "专用部门", "catalog_import_unknown_department"),
        (E, 2, "关联资源代码", "catalog_import_unknown_code"),
    }
    city = places.city
    first = run_import(places, "shuozhou", workbook([entry_row(1)], item_rows(1)))
    other = places.dept("shuozhou", "市场监管局")
    data = workbook([entry_row(1, 专用部门=other.uscc, 关联资源代码=first.codes[0])], item_rows(1))
    result = run_import(places, "shuozhou", data)
    with city.db.read() as conn:
        v = queries.get_version(conn, result.version_ids[0])
    assert v.entry.dedicated_department_ids == (other.id,)
    assert v.entry.related_codes == first.codes


def test_headers_are_checked(places: Places) -> None:
    entry = entry_row(1)
    entry["共享类型"] = entry.pop("共享类别")  # an alias the measures use: accepted
    entry["备注说明"] = "x"  # unknown: an error, not silently dropped
    del entry["资源分类"]
    errors = failure(places, "suqian", workbook([entry], item_rows(1)))
    assert (E, 1, "备注说明", "catalog_import_unknown_column") in where(errors)
    assert (E, 1, "资源分类", "catalog_import_missing_column") in where(errors)
    assert not [e for e in errors if e.column in ("共享类型", "共享类别")]


def test_only_a_cataloguer_of_the_department_imports(places: Places) -> None:
    city = places.city
    data = workbook([entry_row(1)], item_rows(1))
    with pytest.raises(Forbidden):
        run_import(
            places,
            "suqian",
            data,
            actor=city.actor("ga_catalog"),
            department_id=city.depts["人社局"].id,
        )


# Hostile and broken files --------------------------------------------------------------
def test_formula_cells_are_refused_and_formula_like_text_is_text(places: Places) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = E
    row = entry_row(1)
    ws.append(list(row))
    ws.append(list(row.values()))
    summary = ws.cell(row=2, column=list(row).index("摘要") + 1)
    summary.value = '=HYPERLINK("http://evil.example/","点击")'
    wi = wb.create_sheet(ITEMS)
    items = item_rows(1)
    headers = list(dict.fromkeys(h for it in items for h in it))
    wi.append(headers)
    for it in items:
        wi.append([it.get(h) for h in headers])
    item_name = wi.cell(row=3, column=headers.index("信息项名称") + 1)  # the second item
    item_name.value = "=A1"
    buf = io.BytesIO()
    wb.save(buf)
    errors = failure(places, "suqian", buf.getvalue())
    assert where(errors) >= {
        (E, 2, "摘要", "catalog_import_formula"),
        (ITEMS, 3, "信息项名称", "catalog_import_formula"),
    }
    # the same text typed as text is just text
    summary.data_type = "s"
    item_name.value = "公民身份号码"
    buf = io.BytesIO()
    wb.save(buf)
    result = run_import(places, "suqian", buf.getvalue())
    with places.city.db.read() as conn:
        v = queries.get_version(conn, result.version_ids[0])
    assert v.entry.summary.startswith("=HYPERLINK(")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"name,category\n\xce\xd2,1\n", "catalog_import_not_xlsx"),
        (b"PK\x03\x04 truncated zip", "catalog_import_not_xlsx"),
        (b"", "catalog_import_not_xlsx"),
    ],
    ids=["csv", "broken-zip", "empty"],
)
def test_non_xlsx_is_refused(places: Places, data: bytes, code: str) -> None:
    assert [e.code for e in failure(places, "suqian", data)] == [code]


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buf.getvalue()


def test_damaged_and_unsafe_workbooks_are_refused(places: Places) -> None:
    good = workbook([entry_row(1)], item_rows(1))
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    broken = dict(members, **{sheet: members[sheet][: len(members[sheet]) // 2]})
    assert [e.code for e in failure(places, "suqian", _zip(broken))] == ["catalog_import_not_xlsx"]
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    unsafe = dict(members, **{sheet: bomb})
    assert [e.code for e in failure(places, "suqian", _zip(unsafe))] == ["catalog_import_unsafe"]
    not_a_workbook = _zip({"hello.txt": b"hi"})
    assert [e.code for e in failure(places, "suqian", not_a_workbook)] == [
        "catalog_import_not_xlsx"
    ]
    assert [e.code for e in failure(places, "suqian", b"\0" * (importer.MAX_BYTES + 1))] == [
        "catalog_import_too_large"
    ]


def test_limits_on_rows_and_cells(places: Places) -> None:
    errors = failure(
        places,
        "suqian",
        workbook([entry_row(1, 资源名称="名" * 201, 摘要="摘" * 5000)], item_rows(1)),
    )
    assert where(errors) == {
        (E, 2, "资源名称", "catalog_import_too_long"),
        (E, 2, "摘要", "catalog_import_too_long"),
    }
    rows = [
        {"序号": i, "资源名称": f"r{i}", "资源分类": "部门"}
        for i in range(importer.MAX_ENTRIES + 1)
    ]
    errors = failure(places, "suqian", workbook(rows, item_rows(1)))
    assert errors[-1].code == "catalog_import_too_many_rows"
    assert errors[-1].row == importer.MAX_ENTRIES + 2


def test_empty_workbook_and_missing_sheet(places: Places) -> None:
    errors = failure(places, "suqian", workbook([], []))
    assert [e.code for e in errors] == ["catalog_import_empty"]
    wb = Workbook()
    wb.active.title = "Sheet1"
    buf = io.BytesIO()
    wb.save(buf)
    assert [e.code for e in failure(places, "suqian", buf.getvalue())] == [
        "catalog_import_missing_sheet"
    ]


def test_one_data_one_source_is_checked_on_submission(places: Places) -> None:
    """A submitted entry whose items another department already publishes needs its
    justification: the error names the 一数一源说明 column and nothing is written."""
    city = places.city
    admin = city.actor("admin")
    published = services.create_draft(
        city.db, city.profiles, city.entry(dept="人社局", name="参保人员信息"), actor=admin
    )
    services.submit(city.db, city.profiles, published.id, actor=admin)
    services.review(city.db, published.id, ReviewDecision.APPROVE, actor=admin)
    data = workbook([entry_row(1), entry_row(2, 一数一源说明="")], item_rows(1) + item_rows(2))
    errors = failure(places, "suqian", data, submit=True)
    assert where(errors) == {(E, 3, "一数一源说明", "catalog_single_source")}
    assert run_import(places, "suqian", data).count == 2  # drafts need no justification yet


# Exports --------------------------------------------------------------------------------
def publish(city: City, dept: str = "公安局", **changes: Any) -> str:
    changes.setdefault("single_source_justification", "法定采集部门")
    admin = city.actor("admin")
    v = services.create_draft(city.db, city.profiles, city.entry(dept=dept, **changes), actor=admin)
    services.submit(city.db, city.profiles, v.id, actor=admin)
    return services.review(city.db, v.id, ReviewDecision.APPROVE, actor=admin).code


def test_export_xlsx_reimports_unchanged(places: Places) -> None:
    city = places.city
    codes = [
        publish(city, name="测试导出甲=统计", summary="=SUM(A1:A9)", tags=("户籍", "-人口")),
        publish(
            city,
            dept="市场监管局",
            name="测试导出乙",
            share_category=ShareCategory.NOT_SHARED,
            delivery_modes=(),
            share_basis_type="law",
            share_basis_text="第十条",
            share_basis_ref="《某法》",
            head_sign_off="张局长 2026-11-01",
        ),
    ]
    data = exporter.export_xlsx(city.db, actor=city.actor("rs_user"))
    wb = load_workbook(io.BytesIO(data))
    ws = wb[E]
    headers = [c.value for c in ws[1]]
    assert headers[: len(importer.ENTRY_COLUMNS)] == [c.header for c in importer.ENTRY_COLUMNS]
    assert headers[len(importer.ENTRY_COLUMNS) :] == list(importer.EXPORT_COLUMNS)
    rows = {
        r[headers.index("资源代码")]: dict(zip(headers, r, strict=True))
        for r in ws.iter_rows(min_row=2, values_only=True)
    }
    assert set(codes) <= set(rows)
    mine = rows[codes[0]]
    assert mine["摘要"] == "'=SUM(A1:A9)"  # escaped: never a formula in the exported file
    assert mine["标签"] == "户籍,-人口"
    assert mine["提供部门"] == "宿迁市公安局" and mine["共享类别"] == "无条件共享"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    # re-import the export as drafts of one department: the entries come back unchanged
    before = counts(city)[0]
    result = run_import(places, "suqian", data)
    assert result.count == len(rows) and counts(city)[0] == before + len(rows)
    with city.db.read() as conn:
        again = {
            v.entry.name: v.entry
            for v in (queries.get_version(conn, i) for i in result.version_ids)
        }
        originals = [
            queries.published_version(conn, queries.resource_by_code(conn, c).id)  # type: ignore[union-attr]
            for c in codes
        ]
    for orig in originals:
        assert orig is not None
        back = again[orig.entry.name]
        assert back == replace(orig.entry, provider_department_id=back.provider_department_id)


def test_export_json_and_jurisdiction_scope(places: Places) -> None:
    city = places.city
    code = publish(city, name="测试户籍信息", tags=("户籍",))
    county = publish(city, dept="沭阳公安局", name="测试沭阳户籍信息")
    body = exporter.export_json(city.db, actor=city.actor("rs_user"))
    json.dumps(body, ensure_ascii=False)  # serialisable as it stands
    by_code = {e["code"]: e for e in body["entries"]}
    assert body["count"] == len(body["entries"]) and {code, county} <= set(by_code)
    e = by_code[code]
    assert e["name"] == "测试户籍信息" and e["share_category"] == "unconditional"
    assert e["delivery_modes"] == ["query", "verify"] and e["tags"] == ["户籍"]
    assert e["provider"]["uscc"] == city.depts["公安局"].uscc and e["version"] == 1
    assert [i["code"] for i in e["data_items"]] == ["name", "id_card", "household_address"]
    assert e["data_items"][1]["identifier"] == "id_card"
    shuyang = city.jurisdictions["321322"]
    scoped = exporter.export_json(city.db, actor=city.actor("rs_user"), jurisdiction_id=shuyang.id)
    assert scoped["jurisdiction"]["code"] == "321322"
    shuyang_depts = {d.id for d in city.depts.values() if d.jurisdiction_id == shuyang.id}
    assert county in {x["code"] for x in scoped["entries"]}
    assert {x["provider"]["id"] for x in scoped["entries"]} <= shuyang_depts
    with city.db.read() as conn:
        exports = (
            conn.execute(select(audit_entry.c.details).where(audit_entry.c.action == "export"))
            .scalars()
            .all()
        )
    assert [json.loads(d)["format"] for d in exports] == ["json", "json"]


# DCAT-AP ------------------------------------------------------------------------------
def test_dcat_contains_only_open_datasets_with_hydra_paging(places: Places) -> None:
    city = places.city
    with city.db.read() as conn:
        already = exporter.count_published(conn, open_only=True)
    open_code = publish(
        city, name="公共文化设施名录", open_category=OpenCategory.OPEN, tags=("文化",)
    )
    request_code = publish(
        city,
        name="企业年报信息",
        open_category=OpenCategory.OPEN_ON_REQUEST,
        open_conditions="实名申请，限于研究用途",
    )
    closed_code = publish(city, name="测试户籍登记信息")
    total = already + 2
    with city.db.read() as conn:
        p = dcat.catalog_page(conn, base_url="https://gov.example/", page_size=500)
    assert p.total == total and p.last_page == 1
    full = rdf(data=p.serialize("jsonld"), format="json-ld")
    datasets = set(full.subjects(RDF.type, DCAT.Dataset))
    ids = {str(full.value(d, DCTERMS.identifier)) for d in datasets}
    assert len(datasets) == total and {open_code, request_code} <= ids and closed_code not in ids
    assert {full.value(d, DCTERMS.accessRights) for d in datasets} <= {
        dcat.ACCESS.PUBLIC,
        dcat.ACCESS.RESTRICTED,
    }
    ds = URIRef(dcat.dataset_url("https://gov.example", open_code))
    assert full.value(ds, DCTERMS.accessRights) == dcat.ACCESS.PUBLIC
    rq = URIRef(dcat.dataset_url("https://gov.example", request_code))
    assert full.value(rq, DCTERMS.accessRights) == dcat.ACCESS.RESTRICTED
    assert full.value(ds, DCTERMS.accrualPeriodicity) == dcat.FREQ.DAILY
    assert str(full.value(ds, DCTERMS.title)) == "公共文化设施名录"
    assert {str(k) for k in full.objects(ds, DCAT.keyword)} == {"文化"}
    publisher = full.value(ds, DCTERMS.publisher)
    assert str(full.value(publisher, FOAF.name)) == "宿迁市公安局"
    assert (publisher, RDF.type, FOAF.Agent) in full
    assert full.value(ds, DCTERMS.issued).datatype == XSD.dateTime  # type: ignore[union-attr]
    assert full.value(ds, DCAT.theme) is not None
    dist = full.value(ds, DCAT.distribution)
    assert full.value(dist, DCAT.accessURL) == ds
    # paging: the first page links first / next / last; the last has previous, no next
    catalog = URIRef("https://gov.example/catalog")
    with city.db.read() as conn:
        first = rdf(
            data=dcat.catalog_page(conn, base_url="https://gov.example", page_size=1).serialize(
                "jsonld"
            ),
            format="json-ld",
        )
        last = rdf(
            data=dcat.catalog_page(
                conn, base_url="https://gov.example", page=total, page_size=1
            ).serialize("jsonld"),
            format="json-ld",
        )
    assert len(set(first.subjects(RDF.type, DCAT.Dataset))) == 1
    assert int(first.value(catalog, HYDRA.totalItems)) == total  # type: ignore[arg-type]
    view = first.value(catalog, HYDRA.view)
    assert (view, RDF.type, HYDRA.PartialCollectionView) in first
    assert str(first.value(view, HYDRA.first)).endswith("/catalog.jsonld?page=1&page_size=1")
    assert str(first.value(view, HYDRA.next)).endswith("?page=2&page_size=1")
    assert str(first.value(view, HYDRA.last)).endswith(f"?page={total}&page_size=1")
    assert first.value(view, HYDRA.previous) is None
    last_view = last.value(catalog, HYDRA.view)
    assert last.value(last_view, HYDRA.next) is None
    assert str(last.value(last_view, HYDRA.previous)).endswith(f"?page={total - 1}&page_size=1")
    # Turtle carries the same graph
    with city.db.read() as conn:
        page = dcat.catalog_page(conn, base_url="https://gov.example", fmt="ttl", page_size=500)
    ttl = rdf(data=page.serialize("ttl"), format="turtle")
    assert set(ttl.subjects(RDF.type, DCAT.Dataset)) == datasets
    assert str(ttl.value(ttl.value(catalog, HYDRA.view), HYDRA.first)).endswith(
        "/catalog.ttl?page=1&page_size=500"
    )


def test_validate_workbook_is_a_dry_run(places: Places) -> None:
    city, dept = places.city, places.dept("suqian")
    before = counts(city)
    entries = importer.validate_workbook(
        city.db,
        city.profiles,
        workbook([entry_row(1), entry_row(2)], item_rows(1) + item_rows(2)),
        actor=SYSTEM,
        department_id=dept.id,
        complete=True,
    )
    assert [e.name for e in entries] == ["居民户籍信息1", "居民户籍信息2"]
    assert [len(e.data_items) for e in entries] == [3, 3]
    assert {e.provider_department_id for e in entries} == {dept.id}
    with pytest.raises(importer.ImportFailed) as caught:
        importer.validate_workbook(
            city.db,
            city.profiles,
            workbook([entry_row(1, 保密审查="")], item_rows(1)),
            actor=SYSTEM,
            department_id=dept.id,
            complete=True,
        )
    assert where(caught.value.errors) == {
        (E, 2, "保密审查", "catalog_confidentiality_review_required")
    }
    assert counts(city) == before


def test_the_demo_catalog_round_trips_through_the_workbook(
    catalog_demo: tuple[str, Any, float],
) -> None:
    """Every published entry of the demo catalog (all share and open categories, base,
    theme and department resources) exports to the workbook and reads back identical,
    passing the submission checks. Reads only: the shared demo database is not written."""
    db = Database(catalog_demo[0])
    try:
        with db.read() as conn:
            data, count = exporter.catalog_workbook(conn)
            records = {r.code: r for r in exporter.iter_published(conn)}
            json_body = exporter.catalog_json(conn)
            dept = next(
                d for d in identity_queries.list_departments(conn) if d.name == "宿迁市公安局"
            )
        assert count == len(records) == json_body["count"] >= 200
        back = importer.validate_workbook(
            db, load_profiles(), data, actor=SYSTEM, department_id=dept.id, complete=True
        )
        ws = load_workbook(io.BytesIO(data), read_only=True)[E]
        rows = list(ws.iter_rows(values_only=True))
        code_at = rows[0].index("资源代码")
        codes = [r[code_at] for r in rows[1:]]
        assert len(back) == len(codes) == count
        for code, entry in zip(codes, back, strict=True):
            original = records[code].entry
            assert entry == replace(original, provider_department_id=dept.id), code
        assert {r.entry.share_category for r in records.values()} == set(ShareCategory)
        assert {r.entry.open_category for r in records.values()} == set(OpenCategory)
    finally:
        db.dispose()
