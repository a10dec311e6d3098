"""The message centre, webhook subscriptions and the delivery log through the real app:
pages with CSRF, the JSON API for users and for client systems, and the app's background
dispatcher sending right after a commit."""

from __future__ import annotations

import hashlib
import hmac
import re

from fastapi.testclient import TestClient

from govshare.demo.seed import demo_client_secret
from govshare.identity import queries as identity_queries
from govshare.notify import services as notify_services
from govshare.platform import Platform
from tests.integration.notify.conftest import Receiver
from tests.integration.notify.conftest import receiver as receiver  # the fixture, shared
from tests.web.conftest import csrf_from, login


def _notify(
    platform: Platform,
    dept: str | None,
    *,
    username: str | None = None,
    subject_zh: str = "共享申请已通过",
    link: str = "/catalog",
) -> str:
    with platform.db.read() as conn:
        dept_id = (
            next(d.id for d in identity_queries.list_departments(conn) if d.short_name == dept)
            if dept
            else None
        )
    with platform.db.transaction() as tx:
        return notify_services.notify(
            tx,
            event="sharing.application.approved",
            department_id=dept_id,
            username=username,
            subject_zh=subject_zh,
            subject_en="share application approved",
            link=link,
        )


def _badge(html: str) -> str | None:
    match = re.search(r'id="unread-badge"[^>]*>([^<]+)<', html)
    return match.group(1) if match else None


def test_inbox_badge_and_read_marks(client: TestClient, demo_platform: Platform) -> None:
    first = _notify(demo_platform, "人社局", subject_zh="人社局通知一")
    second = _notify(demo_platform, None, username="rs_user", subject_zh="给本人的通知")
    police = _notify(demo_platform, "公安局", subject_zh="公安局内部通知")
    token = login(client, "rs_user")
    page = client.get("/notifications")
    assert page.status_code == 200
    assert "人社局通知一" in page.text and "给本人的通知" in page.text
    assert "公安局内部通知" not in page.text
    assert _badge(page.text) == "2"

    refused = client.post(f"/notifications/{first}/read", data={}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token
    r = client.post(
        f"/notifications/{first}/read", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/notifications"
    page = client.get("/notifications?unread=1")
    assert _badge(page.text) == "1"
    assert "给本人的通知" in page.text and "人社局通知一" not in page.text

    # another department's notice: not found, whatever its id
    other = client.post(f"/notifications/{police}/read", data={"csrf_token": token})
    assert other.status_code == 404

    opened = client.post(
        f"/notifications/{second}/read",
        data={"csrf_token": token, "open": "1"},
        follow_redirects=False,
    )
    assert opened.status_code == 303 and opened.headers["location"] == "/catalog"
    assert _badge(client.get("/notifications").text) is None

    # rs_admin (same department) still has the department notice unread
    client.post("/logout", data={"csrf_token": token})
    token = login(client, "rs_admin")
    assert _badge(client.get("/").text) == "1"
    r = client.post("/notifications/read-all", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and _badge(client.get("/").text) is None


def test_a_link_off_the_site_is_never_followed(client: TestClient, demo_platform: Platform) -> None:
    nid = _notify(demo_platform, "人社局", link="//evil.example.com/x")
    token = login(client, "rs_user")
    assert 'href="//evil.example.com/x"' not in client.get("/notifications").text
    r = client.post(
        f"/notifications/{nid}/read",
        data={"csrf_token": token, "open": "1"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/notifications"


def test_notices_api(client: TestClient, demo_platform: Platform) -> None:
    nid = _notify(demo_platform, "人社局")
    _notify(demo_platform, "公安局")
    login(client, "rs_user")
    body = client.get("/api/v1/notifications").json()
    assert body["unread"] == 1 and [n["id"] for n in body["notices"]] == [nid]
    assert body["notices"][0]["subject"] == "共享申请已通过" and body["notices"][0]["unread"]
    csrf = client.get("/api/v1/session/csrf").json()["csrf_token"]
    assert client.post(f"/api/v1/notifications/{nid}/read").status_code == 403
    read = client.post(f"/api/v1/notifications/{nid}/read", headers={"X-CSRF-Token": csrf})
    assert read.status_code == 200 and read.json()["unread"] is False
    assert client.get("/api/v1/notifications?unread=true").json()["notices"] == []
    all_read = client.post("/api/v1/notifications/read-all", headers={"X-CSRF-Token": csrf})
    assert all_read.json() == {"marked": 0}
    anonymous = TestClient(client.app).get("/api/v1/notifications")
    assert anonymous.status_code == 401


def test_admin_subscribes_then_the_app_delivers_after_commit(
    client: TestClient, demo_platform: Platform, receiver: Receiver
) -> None:
    token = login(client, "rs_admin")
    page = client.get("/notifications/webhooks")
    assert page.status_code == 200 and "人社业务系统" in page.text
    assert "公安人口库接口" not in page.text  # another department's client system
    client_pk = re.search(r'<option value="([0-9A-Z]{26})">人社业务系统', page.text)
    assert client_pk
    r = client.post(
        "/notifications/webhooks",
        data={
            "csrf_token": token,
            "client_system_id": client_pk.group(1),
            "url": receiver.url,
            "events": "sharing",
        },
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    secret_match = re.search(r'id="webhook-secret">([^<]+)<', r.text)
    assert secret_match
    secret = secret_match.group(1)
    listing = client.get("/notifications/webhooks").text
    assert receiver.url in listing and secret not in listing

    _notify(demo_platform, "人社局")
    assert client.app.state.dispatcher.drain(timeout=30)  # type: ignore[attr-defined]
    [got] = receiver.received
    ts = got.headers["X-Govshare-Timestamp"]
    mac = hmac.new(secret.encode(), ts.encode() + b"." + got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Govshare-Signature"] == f"sha256={mac}"

    log = client.get("/notifications/deliveries")
    assert log.status_code == 200
    assert receiver.url in log.text and "sharing.application.approved" in log.text

    sub_id = re.search(r"/notifications/webhooks/([0-9A-Z]{26})/deactivate", listing)
    assert sub_id
    r = client.post(
        f"/notifications/webhooks/{sub_id.group(1)}/deactivate",
        data={"csrf_token": token, "reason": "更换地址"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "/deactivate" not in r.text


def test_webhook_pages_are_for_admins(client: TestClient) -> None:
    login(client, "rs_user")
    assert client.get("/notifications/webhooks").status_code == 403
    assert client.get("/notifications/deliveries").status_code == 403


def test_bad_url_is_refused_with_a_message(client: TestClient) -> None:
    token = login(client, "rs_admin")
    page = client.get("/notifications/webhooks").text
    pk = re.search(r'<option value="([0-9A-Z]{26})">人社业务系统', page)
    assert pk
    r = client.post(
        "/notifications/webhooks",
        data={"csrf_token": token, "client_system_id": pk.group(1), "url": "ftp://x/y"},
        follow_redirects=True,
    )
    assert "回调地址须为 http:// 或 https:// 开头的完整地址" in r.text
    assert csrf_from(r.text)


def _bearer(client: TestClient, platform: Platform, name: str) -> dict[str, str]:
    with platform.db.read() as conn:
        c = next(c for c in identity_queries.list_client_systems(conn) if c.name == name)
    r = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": c.client_id,
            "client_secret": demo_client_secret(name),
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_a_client_system_manages_its_own_webhooks_by_api(
    client: TestClient, demo_platform: Platform, receiver: Receiver
) -> None:
    rs = _bearer(client, demo_platform, "人社业务系统")
    ga = _bearer(client, demo_platform, "公安人口库接口")
    r = client.post(
        "/api/v1/client/webhooks", json={"url": receiver.url, "events": ["sharing"]}, headers=rs
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["active"] and created["events"] == ["sharing"] and created["secret"]
    listed = client.get("/api/v1/client/webhooks", headers=rs).json()
    assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]
    assert client.get("/api/v1/client/webhooks", headers=ga).json() == []

    bad = client.post("/api/v1/client/webhooks", json={"url": "file:///etc/passwd"}, headers=rs)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "webhook_url_invalid"

    _notify(demo_platform, "人社局")
    assert client.app.state.dispatcher.drain(timeout=30)  # type: ignore[attr-defined]
    log = client.get("/api/v1/client/webhooks/deliveries", headers=rs).json()
    assert [(d["status"], d["attempts"]) for d in log] == [("delivered", 1)]
    assert client.get("/api/v1/client/webhooks/deliveries", headers=ga).json() == []

    stolen = client.post(f"/api/v1/client/webhooks/{created['id']}/deactivate", headers=ga)
    assert stolen.status_code == 403
    done = client.post(f"/api/v1/client/webhooks/{created['id']}/deactivate", headers=rs)
    assert done.status_code == 200 and done.json()["active"] is False
    assert client.get("/api/v1/client/webhooks").status_code == 401  # users have no access
