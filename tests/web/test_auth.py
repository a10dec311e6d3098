"""Web sign-in: argon2, lockout, session cookie flags, CSRF, logout, immediate deactivation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govshare.identity.tables import app_user
from govshare.platform import Platform
from tests.web.conftest import csrf_from, login


@pytest.mark.req("SQ-28", "YX-25", "NX-52")
def test_login_reaches_home_with_department_and_role(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).status_code == 303  # anonymous -> login
    login(client, "ga_admin")
    home = client.get("/")
    assert home.status_code == 200
    assert "宿迁市公安局" in home.text and "部门管理员" in home.text


@pytest.mark.req("SQ-28", "NX-52")
def test_passwords_are_argon2_hashed(demo_platform: Platform) -> None:
    with demo_platform.db.read() as conn:
        hashes = [r[0] for r in conn.execute(select(app_user.c.password_hash)).all()]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


@pytest.mark.req("SQ-28", "YX-25")
def test_wrong_password_then_lockout(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    for i in range(5):
        r = client.post(
            "/login", data={"username": "rs_user", "password": f"wrong-{i}", "csrf_token": token}
        )
        assert r.status_code == 401
    assert "锁定" in r.text  # the fifth failure locks the account
    # even the right password is refused while locked
    r = client.post(
        "/login", data={"username": "rs_user", "password": "Demo-Pass-2026", "csrf_token": token}
    )
    assert r.status_code == 401 and "锁定" in r.text
    assert client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.req("SQ-24")
def test_session_cookie_flags(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": "admin", "password": "Demo-Pass-2026", "csrf_token": token},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


@pytest.mark.req("SQ-24")
def test_forms_without_csrf_token_are_refused(client: TestClient) -> None:
    client.get("/login")
    r = client.post("/login", data={"username": "admin", "password": "Demo-Pass-2026"})
    assert r.status_code == 403
    token = login(client, "admin")
    r = client.post("/admin/departments", data={"name": "x"})
    assert r.status_code == 403
    r = client.post("/admin/departments", data={"name": "x", "csrf_token": token + "x"})
    assert r.status_code == 403


def test_logout_ends_the_session(client: TestClient) -> None:
    token = login(client, "admin")
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.req("YX-25", "SQ-24")
def test_deactivated_user_loses_access_at_once(client: TestClient, demo_platform: Platform) -> None:
    from govshare.identity import queries, services
    from govshare.kernel.actor import Actor

    login(client, "rs_user")
    assert client.get("/").status_code == 200
    with demo_platform.db.read() as conn:
        user = queries.user_by_username(conn, "rs_user")
    assert user is not None
    services.set_user_active(demo_platform.db, user.id, False, actor=Actor.system("test"))
    assert client.get("/", follow_redirects=False).status_code == 303
