"""The audit viewer (filters, verify button) and the working-day page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import login


@pytest.mark.req("SQ-25", "HB-27", "YX-25", "NX-33")
def test_auditor_filters_and_verifies(client: TestClient) -> None:
    token = login(client, "auditor")
    page = client.get("/audit")
    assert page.status_code == 200 and "审计日志" in page.text
    only_logins = client.get("/audit", params={"action": "login"})
    assert "登录" in only_logins.text
    assert "创建" not in only_logins.text.split('id="audit"')[1]
    by_actor = client.get("/audit", params={"who": "demo-seed", "object_type": "department"})
    assert "宿迁市公安局" in by_actor.text
    r = client.post("/audit/verify", headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert r.status_code == 200 and 'id="verify-ok"' in r.text
    # an auditor may not sign checkpoints
    assert client.post("/audit/checkpoint", headers={"X-CSRF-Token": token}).status_code == 403


@pytest.mark.req("YX-25")
def test_data_user_cannot_read_the_audit_log(client: TestClient) -> None:
    login(client, "rs_user")
    assert client.get("/audit").status_code == 403


def test_authority_signs_a_checkpoint(client: TestClient) -> None:
    token = login(client, "admin")
    r = client.post("/audit/checkpoint", headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert r.status_code == 200 and "检查点" in r.text
    r = client.post("/audit/verify", headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert "1 signed checkpoints" in r.text


@pytest.mark.req("SZ-15.2")
def test_calendar_page_computes_a_profile_deadlines(client: TestClient) -> None:
    login(client, "rs_user")
    r = client.get("/calendar", params={"start": "2026-09-30", "days": 5, "profile": "shuozhou"})
    assert r.status_code == 200
    assert "<strong>2026-10-13</strong>" in r.text
    assert 'id="profile-deadlines"' in r.text and "2026-10-13" in r.text


def test_calendar_page_flags_unknown_year(client: TestClient) -> None:
    login(client, "rs_user")
    r = client.get("/calendar", params={"start": "2026-12-25", "days": 10})
    assert "2027" in r.text and "暂定" in r.text


def test_calendar_api(client: TestClient) -> None:
    login(client, "rs_user")
    r = client.get("/api/v1/calendar/add", params={"start": "2026-11-21", "days": 1})
    assert r.json()["deadline"] == "2026-11-23"
    r = client.get("/api/v1/calendar/add", params={"start": "2026-12-25", "days": 10})
    assert r.status_code == 422 and r.json()["error"]["year"] == 2027
