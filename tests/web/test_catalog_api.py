"""The catalog JSON API: every validation rule of the catalog entry as a 422 with the rule's
code and field, under the profile that makes it; visibility of unpublished work; the
review workflow, change triggers, maintenance, releases, demand and duty lists."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from govshare.catalog.model import DataItemInput, EntryInput
from govshare.demo.seed import DEMO_PASSWORD, demo_uscc
from govshare.identity import auth
from govshare.identity import services as identity_services
from govshare.identity.model import JurisdictionLevel
from govshare.identity.services import DepartmentInput
from govshare.kernel.actor import Actor, Role
from govshare.kernel.clock import local_date, utcnow
from govshare.platform import Platform
from govshare.web.routes.catalog_api import DataItemBody, EntryBody

API = "/api/v1/catalog"


class Api:
    """A signed-in API caller: a cookie session plus the CSRF header on writes."""

    def __init__(self, app: FastAPI, username: str) -> None:
        self.client = TestClient(app, base_url="http://testserver")
        token = self.client.get("/api/v1/session/csrf").json()["csrf_token"]
        r = self.client.post(
            "/api/v1/session",
            json={"username": username, "password": DEMO_PASSWORD},
            headers={"X-CSRF-Token": token},
        )
        assert r.status_code == 200, r.text
        self.token = r.json()["csrf_token"]
        self.department_id = r.json()["department_id"]

    def get(self, path: str, **params: Any) -> Response:
        return self.client.get(API + path, params=params)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Response:
        return self.client.post(API + path, json=body, headers={"X-CSRF-Token": self.token})

    def put(self, path: str, body: dict[str, Any]) -> Response:
        return self.client.put(API + path, json=body, headers={"X-CSRF-Token": self.token})

    def ok(self, r: Response, status: int = 200) -> Any:
        assert r.status_code == status, r.text
        return r.json()


@cache
def _hash(password: str) -> str:
    return auth.hash_password(password)


@pytest.fixture(autouse=True)
def _fast_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The users these tests create share one argon2 hash (computed once per run)."""
    monkeypatch.setattr(identity_services, "hash_password", _hash)


def refused(r: Response, code: str, field: str) -> dict[str, Any]:
    """A 422 whose error carries the rule's code and the offending field."""
    assert r.status_code == 422, r.text
    err: dict[str, Any] = r.json()["error"]
    assert (err["code"], err["field"]) == (code, field), err
    assert err["message_zh"] and err["message_en"]
    return err


# Jurisdictions under each profile ------------------------------------------------------
REGION_CODES = {
    "suqian": "321399",
    "shuozhou": "140600",
    "yixing": "320282",
    "hubei": "420100",
    "neixiang": "411325",
}


@dataclass
class Region:
    """A jurisdiction under one profile: its authority, two provider departments and users
    ``<profile>_admin`` (authority), ``<profile>_cat`` and ``<profile>_cat2``
    (cataloguers of the first and the second department)."""

    app: FastAPI
    profile: str
    jurisdiction_id: str
    authority_id: str
    dept_id: str
    dept2_id: str
    callers: dict[str, Api] = field(default_factory=dict)

    def api(self, who: str = "cat") -> Api:
        if who not in self.callers:
            self.callers[who] = Api(self.app, f"{self.profile}_{who}")
        return self.callers[who]


def region(app: FastAPI, profile: str) -> Region:
    platform: Platform = app.state.platform
    system = Actor.system("test")
    code = REGION_CODES[profile]
    j = identity_services.create_jurisdiction(
        platform.db,
        actor=system,
        code=code,
        name=f"{profile}测试市",
        level=JurisdictionLevel.CITY,
        profile=profile,
        known_profiles=set(platform.profiles),
    )
    depts = [
        identity_services.create_department(
            platform.db,
            DepartmentInput(
                name=f"{profile}{name}",
                short_name=f"{profile}{name}",
                uscc=demo_uscc(code, i),
                jurisdiction_id=j.id,
                is_authority=(i == 1),
            ),
            actor=system,
        )
        for i, name in enumerate(["数据局", "住建局", "卫健委"], start=1)
    ]
    for username, dept, role in (
        ("admin", depts[0], Role.AUTHORITY_ADMIN),
        ("cat", depts[1], Role.CATALOGUER),
        ("cat2", depts[2], Role.CATALOGUER),
    ):
        identity_services.create_user(
            platform.db,
            actor=system,
            username=f"{profile}_{username}",
            display_name=username,
            password=DEMO_PASSWORD,
            roles=[(dept.id, role)],
        )
    return Region(app, profile, j.id, depts[0].id, depts[1].id, depts[2].id)


def item(name: str, code: str, **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "code": code,
        "type": "string",
        "length": 50,
        "collection_basis": "law",
        "collection_basis_text": "《建筑法》第七条",
    }
    out.update(changes)
    return out


def entry(dept_id: str, **changes: Any) -> dict[str, Any]:
    """An entry every profile accepts, submission included."""
    out: dict[str, Any] = {
        "name": "建设工程施工许可信息",
        "classification": "department",
        "provider_department_id": dept_id,
        "summary": "建设工程施工许可证核发信息",
        "format_category": "database",
        "format_type": "关系型数据库表",
        "update_cycle": "daily",
        "timeliness": "T+1",
        "share_category": "unconditional",
        "share_scope": "全市政务部门",
        "share_conditions": "无",
        "delivery_modes": ["query", "verify"],
        "usage_requirements": "仅用于履职",
        "open_category": "closed",
        "open_basis": "《中华人民共和国政府信息公开条例》第十四条",
        "confidentiality_review": "2026-11-01 经本部门保密审查，不涉密",
        "grade": "二级",
        "release_scenarios": "行政审批",
        "release_consumers": "政务部门经办人员",
        "release_region": "全市",
        "release_knowledge_scope": "经办人员",
        "release_usage_scope": "审批业务",
        "data_items": [
            item("许可流水号", "permit_serial_no"),
            item("许可事项", "permit_matter", length=200),
            item("许可发证日期", "permit_issued_on", type="date", length=None),
        ],
    }
    out.update(changes)
    return out


BASIS = {
    "share_basis_type": "law",
    "share_basis_text": "第十条 涉及国家安全的信息不予提供",
    "share_basis_ref": "《中华人民共和国数据安全法》",
}
SIGN_OFF = "局长王某 2026-11-02 审签"
NOT_SHARED = {"share_category": "not_shared", "delivery_modes": []}


def draft(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = api.ok(api.post("/resources", body), 201)
    return created


def publish(author: Api, authority: Api, body: dict[str, Any]) -> dict[str, Any]:
    v = draft(author, body)
    author.ok(author.post(f"/versions/{v['id']}/submit"))
    published: dict[str, Any] = authority.ok(
        authority.post(f"/versions/{v['id']}/review", {"decision": "approve", "comment": "同意"})
    )
    assert published["state"] == "published"
    return published


def test_entry_body_mirrors_the_entry_dataclass() -> None:
    """The API model and the domain dataclass name the same fields."""
    assert set(EntryBody.model_fields) == {f.name for f in fields(EntryInput)}
    assert set(DataItemBody.model_fields) == {f.name for f in fields(DataItemInput)}


# Share categories and their bases ------------------------------------------------------
@pytest.mark.parametrize(
    ("profile", "extra"),
    [
        pytest.param("suqian", {"head_sign_off": SIGN_OFF}, marks=pytest.mark.req("SQ-10.1")),
        pytest.param("hubei", {}, marks=pytest.mark.req("HB-8.1")),
        pytest.param(
            "shuozhou", {"not_shared_reasons": "涉及侦查工作秘密"}, marks=pytest.mark.req("SZ-13")
        ),
    ],
)
def test_not_shared_needs_a_basis(client: TestClient, profile: str, extra: dict[str, Any]) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    r = region(app, profile)
    api = r.api()
    body = entry(r.dept_id, **NOT_SHARED, **extra)
    refused(api.post("/resources", body), "catalog_basis_required", "share_basis_type")
    # the text and the document reference are part of the basis
    refused(
        api.post("/resources", {**body, **BASIS, "share_basis_ref": ""}),
        "catalog_basis_ref_required",
        "share_basis_ref",
    )
    refused(
        api.post("/resources", {**body, **BASIS, "share_basis_text": " "}),
        "catalog_basis_text_required",
        "share_basis_text",
    )
    if profile == "shuozhou":  # SZ-13.3: full, reasonable reasons as well
        refused(
            api.post("/resources", {**body, **BASIS, "not_shared_reasons": ""}),
            "catalog_reasons_required",
            "not_shared_reasons",
        )
    v = draft(api, {**body, **BASIS})
    assert v["entry"]["share_basis_ref"] == BASIS["share_basis_ref"]


@pytest.mark.req("NX-37.1")
def test_conditional_needs_a_basis_where_the_profile_says_so(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    nx, sq = region(app, "neixiang"), region(app, "suqian")
    conditional = {"share_category": "conditional", "share_conditions": "仅限审批业务使用"}
    refused(
        nx.api().post("/resources", entry(nx.dept_id, **conditional)),
        "catalog_basis_required",
        "share_basis_type",
    )
    draft(nx.api(), entry(nx.dept_id, **conditional, **BASIS))
    # Suqian asks a basis for 不予共享 only (SQ-10.1)
    draft(sq.api(), entry(sq.dept_id, **conditional))


@pytest.mark.req("SZ-14.1")
def test_internal_rules_are_no_basis_under_shuozhou(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    sz = region(app, "shuozhou")
    body = entry(
        sz.dept_id,
        **NOT_SHARED,
        **{**BASIS, "share_basis_type": "department_internal_rule"},
        not_shared_reasons="涉及侦查工作秘密",
    )
    refused(sz.api().post("/resources", body), "catalog_basis_internal_rule", "share_basis_type")


@pytest.mark.req("SQ-17")
def test_not_shared_needs_the_heads_sign_off_under_suqian(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    sq, sz = region(app, "suqian"), region(app, "shuozhou")
    body = entry(sq.dept_id, **NOT_SHARED, **BASIS)
    refused(sq.api().post("/resources", body), "catalog_head_sign_off_required", "head_sign_off")
    v = draft(sq.api(), {**body, "head_sign_off": SIGN_OFF})
    assert v["entry"]["head_sign_off"] == SIGN_OFF
    # Shuozhou has no sign-off rule
    draft(sz.api(), entry(sz.dept_id, **NOT_SHARED, **BASIS, not_shared_reasons="涉密"))


@pytest.mark.parametrize(
    ("profile", "refuses"),
    [
        pytest.param("suqian", True, marks=pytest.mark.req("SQ-10.2")),
        pytest.param("hubei", True, marks=pytest.mark.req("HB-8.2")),
        pytest.param("neixiang", True, marks=pytest.mark.req("NX-37.2")),
        pytest.param("shuozhou", False),  # SZ-6 names base catalogs but sets no category rule
    ],
)
def test_base_resources_are_shared_unconditionally(
    client: TestClient, profile: str, refuses: bool
) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    r = region(app, profile)
    body = entry(
        r.dept_id,
        classification="base",
        base_kind="population",
        share_category="conditional",
        share_conditions="仅限审批业务使用",
        **BASIS,
    )
    if refuses:
        refused(
            r.api().post("/resources", body),
            "catalog_base_must_be_unconditional",
            "share_category",
        )
        body["share_category"] = "unconditional"
    v = draft(r.api(), body)
    assert v["code"].startswith("101")  # base (1), population (01), then the sequence


@pytest.mark.req("SZ-16.3")
def test_dedicated_departments_exist_under_shuozhou_only(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    sz, sq = region(app, "shuozhou"), region(app, "suqian")
    v = draft(sz.api(), entry(sz.dept_id, dedicated_department_ids=[sz.dept2_id]))
    assert v["entry"]["dedicated_department_ids"] == [sz.dept2_id]
    refused(
        sz.api().post("/resources", entry(sz.dept_id, dedicated_department_ids=[sz.dept_id])),
        "catalog_dedicated_self",
        "dedicated_department_ids",
    )
    refused(
        sz.api().post("/resources", entry(sz.dept_id, dedicated_department_ids=["0" * 26])),
        "validation_failed",
        "dedicated_department_ids",
    )
    refused(
        sq.api().post("/resources", entry(sq.dept_id, dedicated_department_ids=[sq.dept2_id])),
        "catalog_dedicated_not_in_profile",
        "dedicated_department_ids",
    )


@pytest.mark.parametrize(
    "profile",
    [
        pytest.param("shuozhou", marks=pytest.mark.req("SZ-23")),
        pytest.param("neixiang", marks=pytest.mark.req("NX-43")),
    ],
)
def test_open_on_request_needs_its_conditions(client: TestClient, profile: str) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    r = region(app, profile)
    body = entry(r.dept_id, open_category="open_on_request", open_review="政务公开审查通过")
    refused(r.api().post("/resources", body), "catalog_open_conditions_required", "open_conditions")
    v = draft(r.api(), {**body, "open_conditions": "实名认证后依申请提供"})
    assert v["entry"]["open_category"] == "open_on_request"


@pytest.mark.req("YX-7")
def test_yixing_has_no_not_shared_category(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    yx = region(app, "yixing")
    body = entry(yx.dept_id, **NOT_SHARED, **BASIS)
    err = refused(
        yx.api().post("/resources", body), "catalog_share_category_not_in_profile", "share_category"
    )
    assert "unconditional" in err["message_en"] and "not_shared" not in err["message_en"]
    draft(yx.api(), entry(yx.dept_id, share_category="conditional"))


@pytest.mark.req("YX-20")
def test_yixing_forbids_opening_shared_data(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    yx = region(app, "yixing")
    for category in ("open", "open_on_request"):
        body = entry(yx.dept_id, open_category=category, open_conditions="实名认证")
        refused(
            yx.api().post("/resources", body), "catalog_public_release_forbidden", "open_category"
        )


@pytest.mark.parametrize(
    "profile",
    [
        pytest.param("shuozhou", marks=pytest.mark.req("SZ-2")),
        pytest.param("yixing", marks=pytest.mark.req("YX-12")),
    ],
)
def test_state_secrets_are_refused(client: TestClient, profile: str) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    r = region(app, profile)
    api = r.api()
    refused(
        api.post("/resources", entry(r.dept_id, involves_state_secret=True)),
        "catalog_state_secret",
        "involves_state_secret",
    )
    # nor can a draft be turned into one
    v = draft(api, entry(r.dept_id))
    refused(
        api.put(f"/versions/{v['id']}", entry(r.dept_id, involves_state_secret=True)),
        "catalog_state_secret",
        "involves_state_secret",
    )


# Completeness at submission --------------------------------------------------------------
@pytest.mark.parametrize(
    ("profile", "field", "empty", "control"),
    [
        pytest.param("suqian", "timeliness", "", "hubei", marks=pytest.mark.req("SQ-6")),
        pytest.param("shuozhou", "usage_requirements", "", "suqian", marks=pytest.mark.req("SZ-6")),
        pytest.param("yixing", "share_conditions", "", "suqian", marks=pytest.mark.req("YX-6")),
        pytest.param("hubei", "usage_requirements", "", "neixiang", marks=pytest.mark.req("HB-6")),
        pytest.param("neixiang", "format_category", None, None, marks=pytest.mark.req("NX-17")),
    ],
)
def test_mandatory_fields_are_checked_at_submission(
    client: TestClient, profile: str, field: str, empty: Any, control: str | None
) -> None:
    """A draft may be incomplete; the submission for review may not (each profile's list)."""
    app: FastAPI = client.app  # type: ignore[assignment]
    r = region(app, profile)
    api = r.api()
    v = draft(api, entry(r.dept_id, **{field: empty}))
    refused(api.post(f"/versions/{v['id']}/submit"), "catalog_field_required", field)
    assert api.ok(api.get(f"/versions/{v['id']}"))["state"] == "draft"
    if control is not None:  # a profile that does not list the field accepts the same entry
        c = region(app, control)
        w = draft(c.api(), entry(c.dept_id, **{field: empty}))
        assert c.api().ok(c.api().post(f"/versions/{w['id']}/submit"))["state"] == "submitted"


@pytest.mark.parametrize(
    "profile",
    [
        pytest.param("suqian", marks=pytest.mark.req("SQ-27")),
        pytest.param("yixing", marks=pytest.mark.req("YX-12")),
        pytest.param("shuozhou", marks=pytest.mark.req("SZ-26")),
        pytest.param("neixiang", marks=pytest.mark.req("NX-54")),
    ],
)
def test_confidentiality_review_is_recorded_before_publication(
    client: TestClient, profile: str
) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    r = region(app, profile)
    api = r.api()
    v = draft(api, entry(r.dept_id, confidentiality_review=""))
    refused(
        api.post(f"/versions/{v['id']}/submit"),
        "catalog_confidentiality_review_required",
        "confidentiality_review",
    )
    api.ok(api.put(f"/versions/{v['id']}", entry(r.dept_id)))
    assert api.ok(api.post(f"/versions/{v['id']}/submit"))["state"] == "submitted"
    # Hubei's measure has no confidentiality-review clause
    hb = region(app, "hubei")
    w = draft(hb.api(), entry(hb.dept_id, confidentiality_review=""))
    hb.api().ok(hb.api().post(f"/versions/{w['id']}/submit"))


@pytest.mark.req("SZ-11")
def test_release_review_is_required_under_shuozhou(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    sz, sq = region(app, "shuozhou"), region(app, "suqian")
    api = sz.api()
    for key in ("grade", "release_scenarios", "release_knowledge_scope"):
        v = draft(api, entry(sz.dept_id, **{key: ""}))
        err = refused(
            api.post(f"/versions/{v['id']}/submit"), "catalog_release_review_required", key
        )
        assert key in err["message_en"]
    bare = {
        k: ""
        for k in (
            "grade",
            "release_scenarios",
            "release_consumers",
            "release_region",
            "release_knowledge_scope",
            "release_usage_scope",
        )
    }
    w = draft(sq.api(), entry(sq.dept_id, **bare))
    sq.api().ok(sq.api().post(f"/versions/{w['id']}/submit"))


@pytest.mark.req("SZ-10")
def test_each_item_records_its_collection_basis_under_shuozhou(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    sz, sq = region(app, "shuozhou"), region(app, "suqian")
    items = [
        item("许可流水号", "permit_serial_no"),
        item("联系人电话", "contact_phone", collection_basis="none", collection_basis_text=""),
    ]
    refused(
        sz.api().post("/resources", entry(sz.dept_id, data_items=items)),
        "catalog_collection_basis_required",
        "data_items[2].collection_basis",
    )
    items[1] = item(
        "联系人电话",
        "contact_phone",
        collection_basis="consent",
        collection_basis_text="告知同意书",
    )
    v = draft(sz.api(), entry(sz.dept_id, data_items=items))
    assert v["entry"]["data_items"][1]["collection_basis"] == "consent"
    bare = [item("联系人电话", "contact_phone", collection_basis="none", collection_basis_text="")]
    draft(sq.api(), entry(sq.dept_id, data_items=bare))


@pytest.mark.req("YX-16")
def test_items_follow_the_data_element_standards(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    yx = region(app, "yixing")
    api = yx.api()
    too_long = item("公民身份号码", "id_card", length=20, identifier="id_card")
    err = refused(
        api.post("/resources", entry(yx.dept_id, data_items=[too_long])),
        "catalog_data_element_standard",
        "data_items[1].type",
    )
    assert "GB 11643-1999" in err["message_zh"]
    wrong_type = item("出生日期", "birth_date", type="string")
    refused(
        api.post("/resources", entry(yx.dept_id, data_items=[wrong_type])),
        "catalog_data_element_standard",
        "data_items[1].type",
    )
    good = [
        item("公民身份号码", "id_card", length=18, identifier="id_card"),
        item("出生日期", "birth_date", type="date", length=None),
    ]
    draft(api, entry(yx.dept_id, data_items=good))


@pytest.mark.req("SQ-16", "NX-24")
def test_identifier_items(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    sq, nx = region(app, "suqian"), region(app, "neixiang")
    unflagged = item("公民身份号码", "id_card", length=18)
    refused(
        sq.api().post("/resources", entry(sq.dept_id, data_items=[unflagged])),
        "catalog_identifier_flag",
        "data_items[1].identifier",
    )
    numeric = item("人员编号", "person_no", type="integer", identifier="id_card")
    refused(
        sq.api().post("/resources", entry(sq.dept_id, data_items=[numeric])),
        "catalog_identifier_type",
        "data_items[1].type",
    )
    # SQ-16: the organisation code is the fallback key; NX-24 keys organisations by USCC only
    org = [item("组织机构代码", "org_code", length=9, identifier="org_code")]
    draft(sq.api(), entry(sq.dept_id, data_items=org))
    refused(
        nx.api().post("/resources", entry(nx.dept_id, data_items=org)),
        "catalog_identifier_not_in_profile",
        "data_items[1].identifier",
    )
    uscc = [item("统一社会信用代码", "uscc", length=18, identifier="uscc")]
    draft(nx.api(), entry(nx.dept_id, data_items=uscc))


PERSON_ITEMS = [
    item("姓名", "name", length=50, sensitivity="name"),
    item("公民身份号码", "id_card", length=18, identifier="id_card", sensitivity="id_card"),
]


@pytest.mark.parametrize(
    "profile",
    [
        pytest.param("suqian", marks=pytest.mark.req("SQ-5.3", "SQ-15")),
        pytest.param("shuozhou", marks=pytest.mark.req("SZ-9")),
        pytest.param("yixing", marks=pytest.mark.req("YX-14")),
        pytest.param("neixiang", marks=pytest.mark.req("NX-24")),
    ],
)
def test_one_data_one_source(client: TestClient, profile: str) -> None:
    """A second department cataloguing items another already publishes must justify the
    second source, and the authority sees the overlap when it reviews."""
    app: FastAPI = client.app  # type: ignore[assignment]
    r = region(app, profile)
    first, second, authority = r.api(), r.api("cat2"), r.api("admin")
    items = [*PERSON_ITEMS, item("许可流水号", "permit_serial_no")]
    # (justified too, in case the demo catalog already provides these items)
    existing = publish(
        first,
        authority,
        entry(
            r.dept_id,
            name="从业人员信息",
            data_items=items,
            single_source_justification="许可审批时依法采集",
        ),
    )
    body = entry(r.dept2_id, name="医师执业人员信息", data_items=PERSON_ITEMS)
    v = draft(second, body)
    err = refused(
        second.post(f"/versions/{v['id']}/submit"),
        "catalog_single_source",
        "single_source_justification",
    )
    assert existing["code"] in err["overlaps"] and existing["code"] in err["message_en"]
    second.ok(
        second.put(
            f"/versions/{v['id']}",
            {**body, "single_source_justification": "执业注册时依法核验并留存"},
        )
    )
    second.ok(second.post(f"/versions/{v['id']}/submit"))
    seen = authority.ok(authority.get(f"/versions/{v['id']}"))
    assert existing["code"] in seen["overlaps"]
    assert seen["entry"]["single_source_justification"] == "执业注册时依法核验并留存"
    queue = authority.ok(authority.get("/review-queue"))
    assert [q["version_id"] for q in queue] == [v["id"]]
    # a lone generic item shared with another resource is no overlap
    w = draft(second, entry(r.dept2_id, name="医疗机构许可信息"))
    assert second.ok(second.post(f"/versions/{w['id']}/submit"))["overlaps"] == []


# Authorisation -------------------------------------------------------------------------
def _dept(client: Api, short_name: str) -> str:
    depts = client.client.get("/api/v1/departments").json()
    return str(next(d["id"] for d in depts if d["short_name"] == short_name))


def test_other_departments_cannot_see_or_edit_a_draft(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    ga = Api(app, "ga_catalog")
    other, user, authority = Api(app, "scjg_admin"), Api(app, "rs_user"), Api(app, "admin")
    body = entry(_dept(ga, "公安局"), name="出入境证件签发信息")
    v = draft(ga, body)
    rid, vid = v["resource_id"], v["id"]
    for outsider in (other, user):
        for path in (f"/versions/{vid}", f"/resources/{rid}", f"/resources/{rid}/versions"):
            assert outsider.get(path).status_code == 404, path
        assert outsider.get(f"/resources/{rid}/diff", **{"from": 1, "to": 1}).status_code == 404
    assert other.put(f"/versions/{vid}", body).status_code == 403
    assert other.post(f"/versions/{vid}/submit").status_code == 403
    assert user.put(f"/versions/{vid}", body).status_code == 403  # a data user edits nothing
    assert authority.ok(authority.get(f"/versions/{vid}"))["state"] == "draft"
    assert ga.ok(ga.get(f"/resources/{rid}"))["draft_version_id"] == vid
    # once published, everyone sees the entry, but not the next draft
    ga.ok(ga.post(f"/versions/{vid}/submit"))
    authority.ok(authority.post(f"/versions/{vid}/review", {"decision": "approve"}))
    rev = ga.ok(ga.post(f"/resources/{rid}/revisions"), 201)
    seen = other.ok(other.get(f"/resources/{rid}"))
    assert seen["published"]["id"] == vid and seen["draft_version_id"] is None
    assert [s["version_no"] for s in seen["versions"]] == [1]
    assert other.get(f"/versions/{rev['id']}").status_code == 404
    assert [s["version_no"] for s in ga.ok(ga.get(f"/resources/{rid}"))["versions"]] == [2, 1]


def test_a_cataloguer_cannot_review(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    ga = Api(app, "ga_catalog")
    v = draft(ga, entry(_dept(ga, "公安局"), name="出入境证件签发信息"))
    ga.ok(ga.post(f"/versions/{v['id']}/submit"))
    assert ga.post(f"/versions/{v['id']}/review", {"decision": "approve"}).status_code == 403
    assert ga.get("/review-queue").status_code == 403
    assert ga.ok(ga.get(f"/versions/{v['id']}"))["state"] == "submitted"
    # nor can a department admin, or the data user
    for name in ("ga_admin", "rs_user"):
        caller = Api(app, name)
        assert caller.post(f"/versions/{v['id']}/review", {"decision": "approve"}).status_code in (
            403,
            404,
        )


# Workflows through the API ---------------------------------------------------------------
@pytest.mark.req("SQ-14", "SZ-6")
def test_catalogue_review_publish_revise_and_compare(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    ga, authority = Api(app, "ga_catalog"), Api(app, "admin")
    police = _dept(ga, "公安局")
    body = entry(police, name="流动人口居住登记信息", summary="流动人口居住登记和居住证信息")
    v = draft(ga, body)
    assert v["state"] == "draft" and v["version_no"] == 1 and v["code"].startswith("300")
    rid, vid = v["resource_id"], v["id"]
    # writes from a cookie session need the CSRF header
    no_csrf = ga.client.post(f"{API}/versions/{vid}/submit")
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"
    ga.ok(ga.post(f"/versions/{vid}/submit"))
    queue = authority.ok(authority.get("/review-queue"))
    assert [(q["state"], q["overdue"]) for q in queue if q["version_id"] == vid] == [
        ("submitted", False)
    ]
    refused(
        authority.post(f"/versions/{vid}/review", {"decision": "return", "comment": " "}),
        "validation_failed",
        "comment",
    )
    back = authority.ok(
        authority.post(f"/versions/{vid}/review", {"decision": "return", "comment": "摘要过简"})
    )
    assert (back["state"], back["review_comment"]) == ("returned", "摘要过简")
    body["summary"] = "流动人口居住登记、居住证申领和签注信息"
    assert ga.ok(ga.put(f"/versions/{vid}", body))["state"] == "draft"
    ga.ok(ga.post(f"/versions/{vid}/submit"))
    authority.ok(authority.post(f"/versions/{vid}/review", {"decision": "approve"}))
    # found by its name and by words of it, with facets
    found = ga.ok(ga.get("/resources", q="流动人口居住登记信息"))
    assert found["hits"][0]["resource_id"] == rid
    found = ga.ok(ga.get("/resources", q="流动人口 居住证", delivery_mode="verify"))
    assert rid in [h["resource_id"] for h in found["hits"]]
    assert found["facets"]["delivery_mode"]["verify"] == found["total"]
    res = ga.ok(ga.get(f"/resources/{rid}"))
    assert res["status"] == "published" and res["provider"]["short_name"] == "公安局"
    assert [i["code"] for i in res["published"]["entry"]["data_items"]] == [
        "permit_serial_no",
        "permit_matter",
        "permit_issued_on",
    ]
    # a change creates version 2; version 1 is kept
    v2 = ga.ok(ga.post(f"/resources/{rid}/revisions"), 201)
    assert v2["version_no"] == 2 and v2["code"] == v["code"]
    ga.ok(ga.put(f"/versions/{v2['id']}", {**body, "update_cycle": "weekly"}))
    ga.ok(ga.post(f"/versions/{v2['id']}/submit"))
    authority.ok(authority.post(f"/versions/{v2['id']}/review", {"decision": "approve"}))
    history = ga.ok(ga.get(f"/resources/{rid}/versions"))
    assert [(h["version_no"], h["state"]) for h in history] == [
        (2, "published"),
        (1, "superseded"),
    ]
    changes = ga.ok(ga.get(f"/resources/{rid}/diff", **{"from": 1, "to": 2}))["changes"]
    assert changes == [{"field": "update_cycle", "before": "daily", "after": "weekly"}]
    assert ga.get(f"/resources/{rid}/diff", **{"from": 1, "to": 3}).status_code == 404
    assert ga.get("/resources", page_size=101).status_code == 422


@pytest.mark.req("SQ-8", "SQ-7")
def test_changes_maintenance_and_releases(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    ga, authority, other = Api(app, "ga_catalog"), Api(app, "admin"), Api(app, "scjg_admin")
    police = _dept(ga, "公安局")
    change = ga.ok(
        ga.post(
            "/changes",
            {
                "department_id": police,
                "kind": "law",
                "occurred_on": "2025-03-03",
                "description": "《居住证暂行条例》修订",
            },
        ),
        201,
    )
    # SQ-8: 15 working days from the change; long past, so overdue
    assert (change["update_due"], change["overdue"]) == ("2025-03-24", True)
    assert [c["id"] for c in authority.ok(authority.get("/changes"))] == [change["id"]]
    assert other.ok(other.get("/changes")) == []
    refused(
        ga.post(f"/changes/{change['id']}/resolve", {"resolution": ""}),
        "validation_failed",
        "resolution",
    )
    done = ga.ok(ga.post(f"/changes/{change['id']}/resolve", {"resolution": "目录无需调整"}))
    assert done["resolved_at"] and not done["overdue"]
    assert ga.ok(ga.get("/changes", open_only=True)) == []
    assert ga.post(f"/changes/{change['id']}/report").status_code == 403
    reported = authority.ok(authority.post(f"/changes/{change['id']}/report"))
    assert reported["reported_at"] and reported["report_due"] is None  # a city department
    # a change answered by a catalog update: publishing the update resolves it
    again = ga.ok(
        ga.post(
            "/changes",
            {
                "department_id": police,
                "kind": "functions",
                "occurred_on": "2025-06-02",
                "description": "机构职能调整",
            },
        ),
        201,
    )
    old = publish(ga, authority, entry(police, name="居住证签注信息"))
    rev = ga.ok(ga.post(f"/resources/{old['resource_id']}/revisions"), 201)
    ga.ok(ga.post(f"/versions/{rev['id']}/submit", {"change_trigger_id": again["id"]}))
    assert ga.ok(ga.get("/changes", open_only=True))[0]["id"] == again["id"]
    authority.ok(authority.post(f"/versions/{rev['id']}/review", {"decision": "approve"}))
    assert ga.ok(ga.get("/changes", open_only=True)) == []
    # SQ-7: a full maintenance each year
    status = ga.ok(ga.get("/maintenance", year=2025))
    assert [(s["department_id"], s["required"], s["overdue"]) for s in status] == [
        (police, True, True)
    ]
    ga.ok(ga.post("/maintenance", {"department_id": police, "completed_on": "2025-12-01"}), 201)
    status = ga.ok(ga.get("/maintenance", year=2025))
    assert (status[0]["completed_on"], status[0]["overdue"]) == ("2025-12-01", False)
    assert len(authority.ok(authority.get("/maintenance", year=2025))) > 1
    # a numbered release of the published catalog, filed with the province
    publish(ga, authority, entry(police, name="出入境证件签发信息"))
    rel = authority.ok(authority.post("/releases", {"title": "宿迁市政务信息资源目录"}), 201)
    assert rel["number"] == 1 and rel["entry_count"] == len(rel["entries"]) >= 1
    assert ga.post("/releases", {}).status_code == 403
    filed = authority.ok(
        authority.post(
            f"/releases/{rel['id']}/filing",
            {"filed_with": "江苏省政务数据共享平台", "filing_ref": "苏数备〔2026〕12号"},
        )
    )
    assert filed["filed_at"] and filed["filing_ref"] == "苏数备〔2026〕12号"
    listed = ga.ok(ga.get("/releases"))
    assert [(r["number"], r["filed_with"]) for r in listed] == [(1, "江苏省政务数据共享平台")]
    assert ga.ok(ga.get(f"/releases/{rel['id']}"))["entries"] == rel["entries"]


def test_demands_suggestions_and_duties(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    ga, authority = Api(app, "ga_catalog"), Api(app, "admin")
    consumer, producer = Api(app, "scjg_admin"), Api(app, "rs_admin")
    police, hr = _dept(ga, "公安局"), _dept(ga, "人社局")
    licences = [
        item("网约车驾驶员证号", "ride_hailing_licence_no"),
        item("网约车驾驶员证有效期至", "ride_hailing_licence_expiry", type="date", length=None),
    ]
    people = publish(ga, authority, entry(police, name="网约车驾驶员背景核查", data_items=licences))
    wanted = {"title": "网约车经营许可核验", "duty": "网约车经营许可审批时核验驾驶员资格"}
    met = consumer.ok(
        consumer.post(
            "/demands", {**wanted, "items": ["网约车驾驶员证号", "网约车驾驶员证有效期至"]}
        ),
        201,
    )
    assert [s["code"] for s in met["suggestions"]] == [people["code"]]
    matched = consumer.ok(
        consumer.post(f"/demands/{met['id']}/match", {"resource_id": people["resource_id"]})
    )
    assert matched["status"] == "matched"
    unmet = consumer.ok(consumer.post("/demands", {**wanted, "items": ["网约车平台抽成比例"]}), 201)
    assert unmet["suggestions"] == []
    assert {d["id"] for d in authority.ok(authority.get("/demands"))} == {met["id"], unmet["id"]}
    assert ga.ok(ga.get("/demands")) == []
    duty = authority.ok(
        authority.post(
            "/duties",
            {
                "producer_department_id": hr,
                "title": "提供网约车平台抽成比例",
                "items": ["网约车平台抽成比例"],
                "due_on": "2099-12-31",
                "demand_id": unmet["id"],
            },
        ),
        201,
    )
    assert (duty["status"], duty["overdue"]) == ("assigned", False)
    with_unknown_demand = {
        "producer_department_id": hr,
        "title": "x",
        "items": ["x"],
        "due_on": "2099-12-31",
        "demand_id": "0" * 26,
    }
    assert authority.post("/duties", with_unknown_demand).status_code == 404
    duty_body = {"producer_department_id": hr, "title": "x", "items": ["x"], "due_on": "2099-12-31"}
    assert consumer.post("/duties", duty_body).status_code == 403  # only the authority assigns
    # both sides see it; an unrelated department does not
    assert [d["id"] for d in producer.ok(producer.get("/duties"))] == [duty["id"]]
    assert [d["id"] for d in consumer.ok(consumer.get("/duties"))] == [duty["id"]]
    assert ga.ok(ga.get("/duties")) == []
    items = [item("网约车平台抽成比例", "ride_hailing_commission", type="decimal", length=None)]
    paid = publish(producer, authority, entry(hr, name="网约车平台抽成信息", data_items=items))
    done = producer.ok(
        producer.post(f"/duties/{duty['id']}/fulfil", {"resource_id": paid["resource_id"]})
    )
    assert done["status"] == "fulfilled" and done["resource_id"] == paid["resource_id"]
    statuses = {d["id"]: d["status"] for d in consumer.ok(consumer.get("/demands"))}
    assert statuses == {met["id"]: "matched", unmet["id"]: "fulfilled"}


@pytest.mark.req("SZ-19")
def test_retirement_through_the_api(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    sz = region(app, "shuozhou")
    cat, authority = sz.api(), sz.api("admin")
    old = publish(cat, authority, entry(sz.dept_id, name="旧版施工许可信息"))
    new = draft(cat, entry(sz.dept_id, name="新版施工许可信息"))
    rid = old["resource_id"]
    refused(cat.post(f"/resources/{rid}/retire", {}), "validation_failed", "reason")
    refused(
        cat.post(f"/resources/{rid}/retire", {"replacement_resource_id": new["resource_id"]}),
        "validation_failed",
        "replacement_resource_id",
    )
    cat.ok(cat.post(f"/versions/{new['id']}/submit"))
    authority.ok(authority.post(f"/versions/{new['id']}/review", {"decision": "approve"}))
    refused(
        cat.post(
            f"/resources/{rid}/retire",
            {"replacement_resource_id": new["resource_id"], "transition_days": 19},
        ),
        "validation_failed",
        "transition_days",
    )
    done = cat.ok(
        cat.post(f"/resources/{rid}/retire", {"replacement_resource_id": new["resource_id"]})
    )
    assert done["replacement_code"] == new["code"]
    today = local_date(utcnow())
    assert done["transition_ends_on"] == (today + timedelta(days=20)).isoformat()
    res = cat.ok(cat.get(f"/resources/{rid}"))
    assert res["status"] == "retiring" and res["transition_ends_on"] == done["transition_ends_on"]


def test_a_delivery_mode_is_listed_once(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    ga = Api(app, "ga_catalog")
    body = entry(_dept(ga, "公安局"), delivery_modes=["query", "query"])
    refused(ga.post("/resources", body), "catalog_delivery_mode_duplicate", "delivery_modes")


@pytest.mark.req("SQ-10.3", "HB-8.3", "NX-37.3")
def test_theme_resources_name_their_theme_and_are_shared_by_the_rules(
    client: TestClient,
) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    hb, sq, nx = region(app, "hubei"), region(app, "suqian"), region(app, "neixiang")
    theme = {"classification": "theme", "name": "社会保障一卡通信息"}
    refused(
        hb.api().post("/resources", entry(hb.dept_id, **theme)), "catalog_theme_required", "theme"
    )
    # HB-8.3: a theme of the profile's list gets its own sub-code (全民社会保障 is the 3rd)
    v = draft(hb.api(), entry(hb.dept_id, **theme, theme="全民社会保障"))
    assert v["code"].startswith("203")
    # SQ-10.3: Suqian lists no themes; the theme resource is catalogued and shared all the same
    shared = publish(sq.api(), sq.api("admin"), entry(sq.dept_id, **theme, theme="社会保障"))
    assert shared["code"].startswith("200")
    found = sq.api().ok(sq.api().get("/resources", q="一卡通", classification="theme"))
    assert shared["resource_id"] in [h["resource_id"] for h in found["hits"]]
    # NX-37.3: thematic data follows the same sharing rules (a basis for a restriction)
    restricted = entry(
        nx.dept_id,
        **theme,
        theme="社会保障",
        share_category="conditional",
        share_conditions="限社保",
    )
    refused(nx.api().post("/resources", restricted), "catalog_basis_required", "share_basis_type")


@pytest.mark.req("YX-8", "YX-9")
def test_yixing_shares_unconditionally_or_under_stated_conditions(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    yx = region(app, "yixing")
    cat, authority = yx.api(), yx.api("admin")
    free = publish(cat, authority, entry(yx.dept_id, name="法人基本信息"))
    v = draft(
        cat,
        entry(yx.dept_id, name="企业纳税信息", share_category="conditional", share_conditions=""),
    )
    err = refused(
        cat.post(f"/versions/{v['id']}/submit"), "catalog_field_required", "share_conditions"
    )
    assert "catalog_share_conditions_required" in [p["code"] for p in err["problems"]]
    body = entry(
        yx.dept_id,
        name="企业纳税信息",
        share_category="conditional",
        share_conditions="仅限税源管理",
    )
    cat.ok(cat.put(f"/versions/{v['id']}", body))
    cat.ok(cat.post(f"/versions/{v['id']}/submit"))
    authority.ok(authority.post(f"/versions/{v['id']}/review", {"decision": "approve"}))
    found = cat.ok(cat.get("/resources", provider_department_id=yx.dept_id))
    assert found["facets"]["share_category"] == {"unconditional": 1, "conditional": 1}
    assert free["entry"]["share_category"] == "unconditional"


@pytest.mark.req("NX-26")
def test_joint_collection_through_the_api(client: TestClient) -> None:
    r = region(client.app, "neixiang")  # type: ignore[arg-type]
    published = publish(r.api("cat"), r.api("admin"), entry(r.dept_id))
    rid = published["resource_id"]
    body = {
        "shares": [
            {
                "department_id": r.dept_id,
                "items": ["许可流水号", "许可事项"],
                "duty": "住建局核发许可",
            },
            {"department_id": r.dept2_id, "items": ["许可发证日期"], "duty": "卫健委登记发证日期"},
        ]
    }
    shares = r.api("cat").ok(r.api("cat").post(f"/resources/{rid}/joint-collection", body), 201)
    assert [s["confirmed"] for s in shares] == [True, False]
    group = shares[0]["group_id"]
    cat2 = r.api("cat2")
    assert (
        cat2.post(f"/joint-collections/{group}/confirm", {"department_id": r.dept2_id}).status_code
        == 204
    )
    listed = cat2.ok(cat2.get(f"/resources/{rid}/joint-collection"))
    assert all(s["confirmed"] for s in listed)
    again = r.api("cat").post(f"/resources/{rid}/joint-collection", body)
    assert again.status_code == 409
