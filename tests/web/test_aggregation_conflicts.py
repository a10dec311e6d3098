"""The coordination pages and API for cross-source conflicts, through the real app: the
authority sees and settles, the provider corrects, nobody sees a raw identifier."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from govshare.aggregation import ingest
from govshare.kernel.masking import mask
from govshare.platform import Platform
from tests.integration.aggregation.conftest import ITEMS, id_card, publish
from tests.integration.catalog.conftest import City
from tests.web.conftest import login

KEY = id_card(seq=512)
OTHER = id_card(seq=513)


def _push(city: City, resource_id: str, user: str, rows: list[dict[str, Any]]) -> None:
    ingest.push_rows(city.db, resource_id, rows, [], actor=city.actor(user), idempotency_key=None)


@pytest.fixture
def conflict(demo_platform: Platform) -> tuple[City, str, str]:
    """公安局 and 人社局 disagree on the 姓名 of KEY; agree on OTHER."""
    city = City(demo_platform)
    population = publish(city)
    hr = publish(city, "社会保险参保人员信息", ITEMS[:2], dept="人社局", user="rs_admin")
    _push(
        city,
        population,
        "ga_catalog",
        [{"姓名": "李四", "公民身份号码": KEY}, {"姓名": "王五", "公民身份号码": OTHER}],
    )
    _push(
        city,
        hr,
        "rs_admin",
        [{"姓名": "黎四", "公民身份号码": KEY}, {"姓名": "王五", "公民身份号码": OTHER}],
    )
    return city, population, hr


def _no_raw(text: str) -> None:
    assert KEY not in text and OTHER not in text
    assert "李四" not in text and "黎四" not in text  # names are masked too


@pytest.mark.req("SQ-15", "YX-17", "NX-27")
def test_the_authority_sees_the_conflict_masked_on_the_page_and_in_the_api(
    client: TestClient, conflict: tuple[City, str, str]
) -> None:
    login(client, "admin")
    page = client.get("/conflicts")
    assert page.status_code == 200
    assert "数据冲突" in page.text and "姓名" in page.text
    assert mask(KEY, "id_card") in page.text and "公安局" in page.text and "人社局" in page.text
    _no_raw(page.text)
    api = client.get("/api/v1/conflicts")
    assert api.status_code == 200, api.text
    [item] = api.json()["items"]
    assert item["element"] == "姓名" and item["key_masked"] == mask(KEY, "id_card")
    city = conflict[0]
    ids = {city.depts["公安局"].id, city.depts["人社局"].id}
    assert {s["department_id"] for s in item["sides"]} == ids
    assert all(s["value_masked"].endswith("*") for s in item["sides"])
    assert item["status"] == "open" and item["assignee_department_id"] is None
    _no_raw(api.text)
    detail = client.get(f"/conflicts/{item['id']}")
    assert detail.status_code == 200 and "姓名" in detail.text
    assert "指定" in client.get("/conflicts").text  # the authority may name a source
    _no_raw(detail.text)
    one = client.get(f"/api/v1/conflicts/{item['id']}")
    assert [e["action"] for e in one.json()["events"]] == ["opened"]
    _no_raw(one.text)
    # found again by the raw key, which is not echoed back
    r = client.post(
        "/api/v1/conflicts/lookup",
        json={"key": KEY},
        headers={"x-csrf-token": login(client, "admin")},
    )
    assert [i["id"] for i in r.json()["items"]] == [item["id"]]
    _no_raw(r.text)
    token = login(client, "admin")
    found = client.post("/conflicts/lookup", data={"key": KEY, "csrf_token": token})
    assert found.status_code == 200 and mask(KEY, "id_card") in found.text
    _no_raw(found.text)


@pytest.mark.req("YX-17", "HB-17", "NX-27")
def test_naming_the_source_routes_to_the_provider_who_corrects_and_closes(
    client: TestClient, conflict: tuple[City, str, str]
) -> None:
    city, population, hr = conflict
    ga = city.depts["公安局"].id
    rs = city.depts["人社局"].id
    token = login(client, "admin")
    r = client.post(
        "/conflicts/sources",
        data={
            "element": "姓名",
            "department_id": ga,
            "resource_id": population,
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/conflicts")
    assert "已指定数源部门" in page.text
    [item] = client.get("/api/v1/conflicts").json()["items"]
    assert item["status"] == "routed" and item["assignee_department_id"] == rs
    assert item["authoritative_department_id"] == ga
    sources = client.get("/api/v1/conflicts/sources").json()
    assert [(s["element"], s["department_id"]) for s in sources] == [("姓名", ga)]

    token = login(client, "rs_admin")
    page = client.get("/conflicts")
    assert "交办本部门更正" in page.text and mask(KEY, "id_card") in page.text
    _no_raw(page.text)
    early = client.post(
        f"/api/v1/conflicts/{item['id']}/corrected", json={}, headers={"x-csrf-token": token}
    )
    assert early.status_code == 409 and early.json()["error"]["code"] == "values_still_differ"
    _push(city, hr, "rs_admin", [{"姓名": "李四", "公民身份号码": KEY}])  # corrected at source
    detail = client.get(f"/conflicts/{item['id']}")
    assert "数值已一致" in detail.text
    r = client.post(
        f"/conflicts/{item['id']}/corrected",
        data={"note": "已按户籍信息更正", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    done = client.get(f"/api/v1/conflicts/{item['id']}").json()
    assert done["status"] == "resolved" and done["resolution"] == "corrected"
    assert done["assignee_department_id"] == rs  # the responsible producer stays on record
    assert [e["action"] for e in done["events"]] == ["opened", "routed", "agreed", "corrected"]


@pytest.mark.req("SQ-15", "YX-17")
def test_a_provider_disputes_and_the_authority_settles_through_the_api(
    client: TestClient, conflict: tuple[City, str, str]
) -> None:
    city, _, _ = conflict
    rs = city.depts["人社局"].id
    token = login(client, "admin")
    [item] = client.get("/api/v1/conflicts").json()["items"]
    h = {"x-csrf-token": token}
    r = client.post(f"/api/v1/conflicts/{item['id']}/route", json={"department_id": rs}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "routed"
    token = login(client, "rs_admin")
    r = client.post(
        f"/api/v1/conflicts/{item['id']}/dispute",
        json={"note": "以参保登记材料为准"},
        headers={"x-csrf-token": token},
    )
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["disputed"]
    refused = client.post(
        f"/api/v1/conflicts/{item['id']}/resolve",
        json={"note": "x"},
        headers={"x-csrf-token": token},
    )
    assert refused.status_code == 403  # only the authority settles
    token = login(client, "admin")
    h = {"x-csrf-token": token}
    empty = client.post(f"/api/v1/conflicts/{item['id']}/resolve", json={"note": ""}, headers=h)
    assert empty.status_code == 422
    r = client.post(
        f"/api/v1/conflicts/{item['id']}/resolve", json={"note": "会同两部门核实"}, headers=h
    )
    assert r.json()["status"] == "resolved" and r.json()["resolution"] == "settled"
    assert client.get("/api/v1/conflicts").json()["items"] == []  # unresolved only by default
    assert len(client.get("/api/v1/conflicts?status=all").json()["items"]) == 1


def test_departments_not_named_and_plain_users_do_not_see_the_item(
    client: TestClient, conflict: tuple[City, str, str]
) -> None:
    login(client, "admin")
    [item] = client.get("/api/v1/conflicts").json()["items"]
    login(client, "scjg_admin")  # 市场监管局: not one of the two providers
    assert client.get("/api/v1/conflicts").json()["items"] == []
    assert client.get(f"/api/v1/conflicts/{item['id']}").status_code == 404
    assert client.get(f"/conflicts/{item['id']}").status_code == 404
    login(client, "rs_user")  # a data user of 人社局 does not work on its pools
    assert client.get("/api/v1/conflicts").status_code == 403
    token = login(client, "ga_admin")  # a provider cannot name sources
    r = client.post(
        "/api/v1/conflicts/sources",
        json={"element": "姓名", "department_id": item["sides"][0]["department_id"]},
        headers={"x-csrf-token": token},
    )
    assert r.status_code == 403
