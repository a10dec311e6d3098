"""Demand and duty lists, change triggers and annual maintenance, through the pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from govshare.catalog import services
from govshare.catalog.model import DataItemInput, ItemType, ReviewDecision
from govshare.identity import queries as identity_queries
from govshare.kernel.clock import local_date, utcnow
from govshare.platform import Platform
from tests.integration.catalog.conftest import City
from tests.web.conftest import login


def _publish(platform: Platform, name: str, items: tuple[DataItemInput, ...]) -> str:
    city = City(platform)
    cat = city.actor("ga_catalog")
    v = services.create_draft(
        city.db, city.profiles, city.entry(name=name, data_items=items), actor=cat
    )
    v = services.submit(city.db, city.profiles, v.id, actor=cat)
    services.review(city.db, v.id, ReviewDecision.APPROVE, actor=city.actor("admin"))
    return v.resource_id


@pytest.mark.req("NX-19", "NX-21", "YX-19")
def test_demand_suggestion_duty_and_fulfilment(client: TestClient, demo_platform: Platform) -> None:
    items = (
        DataItemInput(name="警犬芯片号", code="dog_chip", type=ItemType.STRING, length=30),
        DataItemInput(name="警犬品种", code="dog_breed", type=ItemType.STRING, length=30),
    )
    rid = _publish(demo_platform, "警犬登记信息", items)
    token = login(client, "rs_user")
    page = client.get("/catalog/demands")
    assert page.status_code == 200 and "需求与责任清单" in page.text
    dept = re.search(r'name="consumer_department_id"><option value="([0-9A-Z]{26})"', page.text)
    assert dept
    client.post(
        "/catalog/demands",
        data={
            "csrf_token": token,
            "consumer_department_id": dept.group(1),
            "title": "警犬信息核查",
            "duty": "工伤认定核查",
            "items": "警犬芯片号，警犬品种",
        },
    )
    page = client.get("/catalog/demands").text
    assert "警犬信息核查" in page and f"/catalog/resources/{rid}" in page  # the suggestion
    client.post("/logout", data={"csrf_token": token})
    # an unmet demand becomes a duty for a producer
    token = login(client, "rs_user")
    client.post(
        "/catalog/demands",
        data={
            "csrf_token": token,
            "consumer_department_id": dept.group(1),
            "title": "灵活就业登记",
            "duty": "就业统计",
            "items": "灵活就业类型",
        },
    )
    client.post("/logout", data={"csrf_token": token})
    token = login(client, "admin")
    page = client.get("/catalog/demands").text
    assert 'id="unmet"' in page and "灵活就业登记" in page
    demand_id = re.search(r'name="demand_id" value="([0-9A-Z]{26})"', page.split("灵活就业登记")[1])
    assert demand_id
    with demo_platform.db.read() as conn:
        police = next(
            d for d in identity_queries.list_departments(conn) if d.short_name == "公安局"
        )
    due = (local_date(utcnow()) + timedelta(days=30)).isoformat()
    client.post(
        "/catalog/duties",
        data={
            "csrf_token": token,
            "demand_id": demand_id.group(1),
            "title": "灵活就业登记",
            "items": "灵活就业类型",
            "producer_department_id": police.id,
            "due_on": due,
        },
    )
    page = client.get("/catalog/demands").text
    assert due in page.split('id="duties"')[1]
    client.post("/logout", data={"csrf_token": token})
    token = login(client, "ga_catalog")
    page = client.get("/catalog/demands").text
    duty = re.search(r'action="/catalog/duties/([0-9A-Z]{26})/fulfil"', page)
    assert duty
    client.post(
        f"/catalog/duties/{duty.group(1)}/fulfil", data={"csrf_token": token, "resource_id": rid}
    )
    assert "已完成" in client.get("/catalog/demands").text.split('id="duties"')[1]


@pytest.mark.req("SQ-8", "SQ-7")
def test_change_and_maintenance_pages(client: TestClient) -> None:
    token = login(client, "ga_catalog")
    page = client.get("/catalog/changes")
    assert page.status_code == 200
    dept = re.search(r'name="department_id"><option value="([0-9A-Z]{26})"', page.text)
    assert dept
    long_ago = (local_date(utcnow()) - timedelta(days=60)).isoformat()
    client.post(
        "/catalog/changes",
        data={
            "csrf_token": token,
            "department_id": dept.group(1),
            "kind": "law",
            "occurred_on": long_ago,
            "description": "《居民身份证法》修订",
        },
    )
    page = client.get("/catalog/changes").text
    row = page.split("《居民身份证法》修订")[1].split("</tr>")[0]
    assert "已超期" in row  # 15 working days after a date 60 days ago have passed (SQ-8)
    # SQ-7: last year's full maintenance is missing for the demo departments
    assert 'id="maintenance"' in page and "未完成" in page
    today = local_date(utcnow()).isoformat()
    client.post(
        "/catalog/maintenance",
        data={
            "csrf_token": token,
            "department_id": dept.group(1),
            "completed_on": today,
            "note": "年度全面维护",
        },
    )
    assert today in client.get("/catalog/changes").text.split('id="maintenance"')[1]
    trig = re.search(r'action="/catalog/changes/([0-9A-Z]{26})/resolve"', page)
    assert trig
    client.post(
        f"/catalog/changes/{trig.group(1)}/resolve",
        data={"csrf_token": token, "resolution": "已在v2中更新"},
    )
    assert "已办结" in client.get("/catalog/changes").text


def test_data_user_sees_demands_but_not_upkeep(client: TestClient) -> None:
    login(client, "rs_user")
    assert client.get("/catalog/demands").status_code == 200
    assert client.get("/catalog/changes").status_code == 403
