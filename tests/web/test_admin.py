"""Administration of departments, users and client systems, through the UI and the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from govshare.kernel.identifiers import make_uscc
from govshare.platform import Platform
from tests.web.conftest import login


def _city_id(client: TestClient, token: str) -> str:
    import re

    page = client.get("/admin/departments/new").text
    match = re.search(r'<option value="([0-9A-Z]{26})"', page)
    assert match
    return match.group(1)


@pytest.mark.req("SZ-4", "YX-4", "SQ-11", "NX-35")
def test_authority_creates_and_edits_a_department(client: TestClient) -> None:
    token = login(client, "admin")
    city = _city_id(client, token)
    uscc = make_uscc("1", "1", "321300", "77001234")
    r = client.post(
        "/admin/departments",
        data={
            "csrf_token": token,
            "name": "宿迁市档案局",
            "short_name": "档案局",
            "uscc": uscc,
            "jurisdiction_id": city,
            "contact_phone": "0527-84368888",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    detail = client.get(r.headers["location"])
    assert "宿迁市档案局" in detail.text and uscc in detail.text
    # SZ-4: file the responsible unit and person
    r = client.post(
        r.headers["location"] + "/responsibility",
        data={"csrf_token": token, "responsible_unit": "办公室", "responsible_person": "陈主任"},
        follow_redirects=True,
    )
    assert "陈主任" in r.text
    # YX-4: register its front-end processor
    loc = detail.url.path
    r = client.post(
        loc + "/interfaces",
        data={
            "csrf_token": token,
            "kind": "front_end_processor",
            "name": "档案前置机",
            "endpoint": "10.0.0.9",
        },
        follow_redirects=True,
    )
    assert "档案前置机" in r.text and "前置机" in r.text
    # deactivate
    r = client.post(
        loc + "/active",
        data={"csrf_token": token, "active": "0", "reason": "撤并"},
        follow_redirects=True,
    )
    assert "已停用" in r.text


@pytest.mark.req("SQ-16")
def test_invalid_uscc_is_refused_in_the_ui_with_the_failed_check(client: TestClient) -> None:
    token = login(client, "admin")
    city = _city_id(client, token)
    good = make_uscc("1", "1", "321300", "77001234")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    r = client.post(
        "/admin/departments",
        data={
            "csrf_token": token,
            "name": "坏代码局",
            "short_name": "坏",
            "uscc": bad,
            "jurisdiction_id": city,
        },
    )
    assert r.status_code == 422
    assert "第18位（校验码，GB 32100）校验失败" in r.text
    assert "坏代码局" in r.text  # the form keeps what was typed
    assert "坏代码局" not in client.get("/admin/departments").text


@pytest.mark.req("SQ-16")
def test_invalid_uscc_is_refused_by_the_api(client: TestClient) -> None:
    client.get("/login")
    token = client.get("/api/v1/session/csrf").json()["csrf_token"]
    r = client.post(
        "/api/v1/session",
        json={"username": "admin", "password": "Demo-Pass-2026"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200
    token = r.json()["csrf_token"]
    me = client.get("/api/v1/me").json()
    depts = client.get("/api/v1/departments").json()
    city = next(d for d in depts if d["id"] == me["department_id"])["jurisdiction_id"]
    good = make_uscc("1", "1", "321300", "77001235")
    body = {
        "name": "接口测试局",
        "short_name": "接口",
        "uscc": good[:16] + "X" + good[17],
        "jurisdiction_id": city,
    }
    r = client.post("/api/v1/departments", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["field"] == "uscc" and err["code"].startswith("uscc_")
    assert "GB" in err["message_en"]
    body["uscc"] = good
    r = client.post("/api/v1/departments", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201 and r.json()["uscc"] == good
    # without the CSRF header the same session cannot write
    body["name"], body["uscc"] = "又一局", make_uscc("1", "1", "321300", "77001236")
    assert client.post("/api/v1/departments", json=body).status_code == 403


@pytest.mark.req("YX-25", "NX-11")
def test_department_admin_cannot_administer_departments(client: TestClient) -> None:
    login(client, "ga_admin")
    assert client.get("/admin/departments").status_code == 403
    users = client.get("/admin/users")
    assert users.status_code == 200
    # a department admin sees its own department's users only
    assert "ga_catalog" in users.text and "rs_user" not in users.text


@pytest.mark.req("NX-11", "YX-25")
def test_authority_creates_a_user_with_roles(client: TestClient) -> None:
    token = login(client, "admin")
    form = client.get("/admin/users/new").text
    import re

    role_value = re.search(r'value="([0-9A-Z]{26}:cataloguer)"', form)
    assert role_value
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "new_cat",
            "display_name": "新编目员",
            "password": "Str0ng-Passw0rd",
            "roles": role_value.group(1),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    # weak password is refused with a message
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "weak_one",
            "display_name": "弱",
            "password": "short",
            "roles": role_value.group(1),
        },
    )
    assert r.status_code == 422 and "密码至少" in r.text
    client.post("/logout", data={"csrf_token": token})
    login(client, "new_cat", "Str0ng-Passw0rd")
    assert "目录编制员" in client.get("/").text


@pytest.mark.req("SQ-24", "SQ-28", "YX-25", "HB-27")
def test_client_credentials_and_immediate_revocation(client: TestClient) -> None:
    token = login(client, "rs_admin")
    page = client.get("/admin/clients").text
    import re

    dept = re.search(r'<select name="department_id"><option value="([0-9A-Z]{26})"', page)
    assert dept
    r = client.post(
        "/admin/clients",
        data={"csrf_token": token, "name": "社保核验系统", "department_id": dept.group(1)},
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    client_id = re.search(r'id="client-id">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    secret = re.search(r'id="client-secret">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    # the secret is shown once: the list never shows it
    assert secret not in client.get("/admin/clients").text
    bad = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "nope"},
    )
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_client"
    ok = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert ok.status_code == 200
    access = ok.json()["access_token"]
    assert ok.json()["expires_in"] <= 900
    api = TestClient(client.app)
    me = api.get("/api/v1/client/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200 and me.json()["id"] == client_id
    # revoke: the very next call with the still-unexpired token is refused
    pk = re.search(
        r'action="/admin/clients/([0-9A-Z]{26})/revoke"',
        client.get("/admin/clients").text.split(client_id)[1],
    )
    assert pk
    client.post(
        f"/admin/clients/{pk.group(1)}/revoke", data={"csrf_token": token, "reason": "停用"}
    )
    refused = api.get("/api/v1/client/me", headers={"Authorization": f"Bearer {access}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "client_revoked"
    again = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert again.status_code == 401


def test_tampered_token_is_refused(client: TestClient) -> None:
    r = client.get("/api/v1/client/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert r.status_code == 401


@pytest.mark.req("SQ-25", "HB-27")
def test_every_admin_action_is_in_the_audit_log(
    client: TestClient, demo_platform: Platform
) -> None:
    from govshare.audit.queries import AuditFilter, list_entries

    token = login(client, "admin")
    city = _city_id(client, token)
    client.post(
        "/admin/departments",
        data={
            "csrf_token": token,
            "name": "审计测试局",
            "short_name": "审计测",
            "jurisdiction_id": city,
            "uscc": make_uscc("1", "1", "321300", "77009999"),
        },
    )
    with demo_platform.db.read() as conn:
        page = list_entries(conn, AuditFilter(object_type="department", action="create"))
        logins = list_entries(conn, AuditFilter(action="login", actor="admin"))
    assert any("审计测试局" in e.details and e.actor_name == "admin" for e in page.entries)
    assert logins.total >= 1
