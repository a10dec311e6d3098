"""The data services over HTTP through the real app, on both databases: token to lookup,
verify and receipt check; the authorization of every endpoint; refusals as JSON with their
status and code; deprecation headers; OpenAPI; metrics."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from govshare.demo.seed import demo_client_secret
from govshare.identity import queries as identity_queries
from govshare.kernel.clock import local_date, utcnow
from govshare.platform import Platform
from govshare.sharing import services as sharing
from tests.integration.catalog.conftest import City
from tests.integration.delivery.conftest import (
    P1,
    ROWS,
    Delivery,
    client_actor,
    grant,
    population_resource,
)
from tests.web.conftest import login

HEADERS = {
    "X-Purpose": "administrative_basis",
    "X-End-User": quote("周人社"),
    "X-Case-Number": "RS-2026-0001",
}


def token(client: TestClient, platform: Platform, name: str) -> str:
    with platform.db.read() as conn:
        cs = next(c for c in identity_queries.list_client_systems(conn) if c.name == name)
    r = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": cs.client_id,
            "client_secret": demo_client_secret(name),
        },
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture
def d(demo_platform: Platform) -> Delivery:
    from govshare.aggregation import ingest

    city = City(demo_platform)
    rid = population_resource(city)
    ingest.push_rows(city.db, rid, ROWS, [], actor=city.actor("ga_catalog"), idempotency_key="s")
    return Delivery(
        city=city,
        platform=demo_platform,
        resource_id=rid,
        grant_id=grant(city, rid),
        client=client_actor(demo_platform, "人社业务系统"),
        other_client=client_actor(demo_platform, "市场监管登记系统"),
    )


def auth(client: TestClient, d: Delivery, name: str = "人社业务系统") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(client, d.platform, name)}", **HEADERS}


def records_url(d: Delivery, **params: str) -> str:
    query = "&".join(f"{k}={quote(v)}" for k, v in {"key": P1, **params}.items())
    return f"/api/v1/delivery/grants/{d.grant_id}/records?{query}"


def verify_url(d: Delivery) -> str:
    return f"/api/v1/delivery/grants/{d.grant_id}/verify"


@pytest.mark.req("NX-40", "SZ-16.4", "SQ-26", "SQ-21")
def test_token_lookup_verify_and_receipt_check(client: TestClient, d: Delivery) -> None:
    h = auth(client, d)
    r = client.get(records_url(d), headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["found"] and body["records"][0]["name"] == "欧阳**"
    assert body["records"][0]["mobile"] == "138****5678" and P1 not in r.text
    compact = r.headers["X-Call-Receipt"]
    assert body["receipt"]["call_id"] == body["call_id"]
    for receipt in (compact, body["receipt"]):
        ok = client.post("/api/v1/receipts/verify", json={"receipt": receipt})
        assert ok.status_code == 200 and ok.json()["valid"] and ok.json()["audit"] == "matches"
    forged = {**body["receipt"], "rows": 50}
    bad = client.post("/api/v1/receipts/verify", json={"receipt": forged})
    assert bad.status_code == 200 and bad.json()["valid"] is False

    v = client.post(
        verify_url(d),
        headers=h,
        json={"key": P1, "claims": {"name": "欧阳娜娜", "mobile": "13800000000"}},
    )
    assert v.status_code == 200, v.text
    assert v.json()["results"] == {"name": "match", "mobile": "mismatch"}
    assert "13812345678" not in v.text and "X-Call-Receipt" in v.headers
    with d.platform.db.read() as conn:
        from govshare.audit.queries import AuditFilter, list_entries

        (q,) = list_entries(conn, AuditFilter(action="query")).entries
    assert json.loads(q.details)["end_user"] == "周人社"  # percent-decoded


@pytest.mark.req("YX-25", "SQ-24")
def test_every_delivery_endpoint_needs_a_client_token(client: TestClient, d: Delivery) -> None:
    calls = [
        lambda h: client.get(records_url(d), headers=h),
        lambda h: client.post(verify_url(d), headers=h, json={"key": P1, "claims": {"name": "x"}}),
    ]
    assert calls[0](HEADERS).status_code == 401
    # an anonymous POST is refused before anything else (no session, no CSRF token)
    assert calls[1](HEADERS).json()["error"]["code"] == "csrf_failed"
    for send in calls:
        r = send({**HEADERS, "Authorization": "Bearer not-a-token"})
        assert (r.status_code, r.json()["error"]["code"]) == (401, "token_invalid")
    csrf = login(client, "rs_user")  # a signed-in user is not a client system
    assert calls[0](HEADERS).status_code == 403
    assert calls[1]({**HEADERS, "X-CSRF-Token": csrf}).status_code == 403
    # checking a receipt needs nobody's credentials (it discloses nothing)
    r = client.post("/api/v1/receipts/verify", json={"receipt": "x.y"})
    assert r.status_code == 200 and r.json()["valid"] is False


@pytest.mark.req("YX-25", "HB-24", "SQ-21", "NX-41", "SZ-27")
def test_refusals_are_json_with_status_and_code(client: TestClient, d: Delivery) -> None:
    h = auth(client, d)

    def code(r: Any) -> tuple[int, str]:
        return r.status_code, r.json()["error"]["code"]

    other = auth(client, d, "市场监管登记系统")
    assert code(client.get(records_url(d), headers=other)) == (403, "grant_not_yours")
    missing = f"/api/v1/delivery/grants/01JNOSUCHGRANT000000000000/records?key={P1}"
    assert code(client.get(missing, headers=h)) == (404, "grant_not_found")
    assert code(client.get(records_url(d, items="income"), headers=h)) == (403, "item_not_granted")
    no_purpose = {k: v for k, v in h.items() if k != "X-Purpose"}
    assert code(client.get(records_url(d), headers=no_purpose)) == (422, "purpose_required")
    wrong = {**h, "X-Purpose": "work_reference"}
    assert code(client.get(records_url(d), headers=wrong)) == (403, "purpose_mismatch")
    no_case = {k: v for k, v in h.items() if k != "X-Case-Number"}
    assert code(client.get(records_url(d), headers=no_case)) == (422, "case_number_required")
    no_user = {k: v for k, v in h.items() if k != "X-End-User"}
    assert code(client.get(records_url(d), headers=no_user)) == (422, "end_user_required")
    d.set_grant(modes='["query"]')
    r = client.post(verify_url(d), headers=h, json={"key": P1, "claims": {"name": "x"}})
    assert code(r) == (403, "mode_not_granted")
    d.set_grant(modes='["query", "verify"]', rate_limit_per_minute=4)
    assert client.post(verify_url(d), headers=h, json={"key": P1, "claims": {"name": "x"}})
    r = client.post(verify_url(d), headers=h, json={"key": P1, "claims": {"name": "x"}})
    assert code(r) == (429, "rate_limited") and r.json()["error"]["retry_after"] >= 1
    d.set_grant(rate_limit_per_minute=60, quota_per_day=1)  # one verification so far today
    assert code(client.get(records_url(d), headers=h)) == (429, "quota_exceeded")
    d.set_grant(quota_per_day=100)
    assert client.get(records_url(d), headers=h).status_code == 200
    city = d.city
    sharing.revoke_grant(city.db, d.grant_id, actor=city.actor("admin"), reason="违规使用")
    assert code(client.get(records_url(d), headers=h)) == (403, "grant_revoked")


@pytest.mark.req("SZ-19", "SZ-27")
def test_deprecation_and_sunset_headers_then_gone(client: TestClient, d: Delivery) -> None:
    h = auth(client, d)
    today = local_date(utcnow())
    d.set_grant(transition_until=today + timedelta(days=20), replacement_code="NEW-POP")
    r = client.get(records_url(d), headers=h)
    assert r.status_code == 200 and r.headers["Deprecation"].startswith("@")
    assert r.headers["Sunset"].endswith("GMT") and r.headers["X-Replacement-Resource"] == "NEW-POP"
    d.set_grant(transition_until=today - timedelta(days=1))
    r = client.get(records_url(d), headers=h)
    assert r.status_code == 410
    err = r.json()["error"]
    assert err["code"] == "resource_retired" and err["replacement"] == "NEW-POP"
    assert "NEW-POP" in err["message_zh"]


def test_openapi_documents_the_data_services(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    lookup = spec["paths"]["/api/v1/delivery/grants/{grant_id}/records"]["get"]
    verify = spec["paths"]["/api/v1/delivery/grants/{grant_id}/verify"]["post"]
    assert "/api/v1/receipts/verify" in spec["paths"]
    for op in (lookup, verify):
        assert {"401", "403", "404", "410", "422", "429"} <= set(op["responses"])
        assert "grant_suspended" in op["responses"]["403"]["description"]
        names = {p["name"] for p in op["parameters"]}
        assert {"X-Purpose", "X-End-User", "X-Case-Number"} <= names
    assert "examples" in json.dumps(verify["requestBody"])
    assert "examples" in json.dumps(spec["components"]["schemas"]["LookupOut"])


def test_metrics_count_calls_by_outcome(client: TestClient, d: Delivery) -> None:
    h = auth(client, d)
    client.get(records_url(d), headers=h)
    client.get(records_url(d, items="income"), headers=h)
    text = client.get("/metrics").text
    assert (
        f'govshare_delivery_calls_total{{grant="{d.grant_id}",mode="query",outcome="ok"}}' in text
    )
    assert 'outcome="item_not_granted"' in text
    assert "govshare_delivery_call_duration_seconds_bucket" in text
