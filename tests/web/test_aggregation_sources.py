"""Aggregation sources through HTTP: connectors (URL entered once, never echoed back),
agreements filed by the authority, extensions and offline approvals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from govshare.identity.tables import jurisdiction
from govshare.platform import Platform
from tests.integration.aggregation.conftest import id_card, publish
from tests.integration.catalog.conftest import City
from tests.web.conftest import login

PASSWORD = "Pw-never-shown-7731"


@pytest.fixture
def population(demo_platform: Platform) -> str:
    return publish(City(demo_platform))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "dept.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE people (姓名 TEXT, id_card TEXT, sex TEXT, seq INTEGER)")
        conn.executemany(
            "INSERT INTO people VALUES (?, ?, ?, ?)",
            [(f"人{i}", id_card(seq=i), "2", i) for i in range(1, 4)],
        )
    return path


def _no_secret(text: str) -> None:
    assert PASSWORD not in text


@pytest.mark.req("NX-29")
def test_provider_creates_and_runs_a_connector_without_the_url_leaking(
    client: TestClient, population: str, source: Path
) -> None:
    csrf = login(client, "ga_catalog")
    page = client.get("/sources")
    assert page.status_code == 200 and 'type="password"' in page.text
    # the password only makes sense for server databases; sqlite ignores it, which is
    # enough to show where the URL does (not) go
    url = f"sqlite:///{source}?password={PASSWORD}"
    r = client.post(
        "/sources/connectors",
        data={
            "csrf_token": csrf,
            "resource_id": population,
            "name": "公安人口前置机",
            "url": url,
            "source_table": "people",
            "incremental_column": "seq",
            "column_map": "",
            "batch_rows": "1000",
            "enabled": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    listed = client.get("/api/v1/sources/connectors").json()["connectors"]
    assert len(listed) == 1
    c = listed[0]
    assert c["name"] == "公安人口前置机" and "password=***" in c["url"]
    assert c["interval_hours"] == 24  # a daily resource
    run = client.post(
        f"/api/v1/sources/connectors/{c['id']}/run", headers={"x-csrf-token": csrf}
    ).json()
    assert run["status"] == "loaded" and run["rows"] == 3
    detail = client.get(f"/api/v1/sources/connectors/{c['id']}").json()
    assert detail["cursor"] == "3" and detail["runs"][0]["status"] == "loaded"
    page = client.get(f"/sources/connectors/{c['id']}")
    assert page.status_code == 200 and "公安人口前置机" in page.text
    for text in (page.text, client.get("/sources").text, str(detail), str(listed)):
        _no_secret(text)
    # the form run: nothing new
    r = client.post(
        f"/sources/connectors/{c['id']}/run", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert r.status_code == 200
    _no_secret(r.text)
    # another department's staff do not see it
    client.post("/logout", data={"csrf_token": csrf})
    login(client, "scjg_admin")
    assert client.get("/api/v1/sources/connectors").json()["connectors"] == []
    assert client.get(f"/api/v1/sources/connectors/{c['id']}").status_code == 404


@pytest.mark.req("NX-29", "SQ-20", "NX-13")
def test_agreement_filing_and_extension_limit_over_the_api(
    client: TestClient, population: str
) -> None:
    csrf = login(client, "ga_catalog")
    h = {"x-csrf-token": csrf}
    r = client.put(
        f"/api/v1/sources/agreements/{population}",
        json={"mode": "manual_upload", "interval_hours": 48, "agreed_cycle_days": 3},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["filed"] is False
    assert (
        client.post(
            f"/api/v1/sources/agreements/{population}/filing", json={}, headers=h
        ).status_code
        == 403
    )
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "admin")
    h = {"x-csrf-token": csrf}
    filed = client.post(
        f"/api/v1/sources/agreements/{population}/filing",
        json={"filing_ref": "备案001"},
        headers=h,
    ).json()
    assert filed["filed"] and filed["filed_by_name"]
    got = client.get(f"/api/v1/sources/agreements/{population}").json()
    assert got["agreed_cycle_days"] == 3
    d = client.post(
        "/api/v1/sources/deliveries",
        json={"resource_id": population, "title": "人口核验接口", "agreed_on": "2025-09-30"},
        headers=h,
    ).json()
    assert "备案001" in client.get("/sources").text
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "ga_catalog")
    h = {"x-csrf-token": csrf}
    too_long = client.post(
        f"/api/v1/sources/deliveries/{d['id']}/extensions",
        json={"working_days": 6, "reason": "改造"},
        headers=h,
    )
    assert too_long.status_code == 422
    assert too_long.json()["error"]["code"] == "extension_too_long"
    ext = client.post(
        f"/api/v1/sources/deliveries/{d['id']}/extensions",
        json={"working_days": 5, "reason": "改造"},
        headers=h,
    )
    assert ext.status_code == 201
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "admin")
    r = client.post(
        f"/sources/extensions/{ext.json()['id']}/decide",
        data={"csrf_token": csrf, "decision": "approve"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    deliveries = client.get("/api/v1/sources/deliveries").json()["deliveries"]
    assert deliveries[0]["due_on"] == "2025-10-14"


@pytest.mark.req("HB-16")
def test_authority_records_the_offline_approval_that_unlocks_uploads(
    client: TestClient, demo_platform: Platform, population: str
) -> None:
    with demo_platform.db.transaction() as tx:  # the demo city under the Hubei measures
        tx.conn.execute(update(jurisdiction).values(profile="hubei"))
    csrf = login(client, "admin")
    r = client.post(
        "/sources/offline-approvals",
        data={
            "csrf_token": csrf,
            "resource_id": population,
            "agency": "湖北省大数据能力中心",
            "approval_ref": "鄂数批〔2026〕7号",
            "approved_on": "2026-01-05",
            "valid_until": "",
        },
        follow_redirects=True,
    )
    assert r.status_code == 200 and "鄂数批〔2026〕7号" in r.text
    approvals = client.get("/api/v1/sources/offline-approvals").json()["approvals"]
    assert approvals[0]["approval_ref"] == "鄂数批〔2026〕7号"
    revoked = client.post(
        f"/api/v1/sources/offline-approvals/{approvals[0]['id']}/revoke",
        headers={"x-csrf-token": csrf},
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
