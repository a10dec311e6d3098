"""Health, metrics, public keys, language switch, headers, logs free of secrets."""

from __future__ import annotations

import base64
import gc
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from govshare.kernel.heap import OLDER, YOUNG
from govshare.platform import Platform
from govshare.web.app import create_app
from tests.web.conftest import login


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/healthz")
    body = client.get("/metrics").text
    assert 'govshare_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert "govshare_http_request_duration_seconds_bucket" in body


@pytest.mark.req("HB-27")
def test_public_key_is_served_as_jwk(client: TestClient) -> None:
    keys = client.get("/.well-known/govshare/keys").json()["keys"]
    assert keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519"
    raw = base64.urlsafe_b64decode(keys[0]["x"] + "==")
    assert len(raw) == 32


def test_chinese_by_default_english_on_request(client: TestClient) -> None:
    page = client.get("/login")
    assert 'lang="zh-CN"' in page.text and "登录" in page.text
    client.get("/lang/en", follow_redirects=False)
    page = client.get("/login")
    assert 'lang="en"' in page.text and "Sign in" in page.text and "登录" not in page.text


@pytest.mark.req("SQ-24")
def test_security_headers(client: TestClient) -> None:
    r = client.get("/login")
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_htmx_is_served_from_the_npm_package(client: TestClient) -> None:
    r = client.get("/vendor/htmx/htmx.min.js")
    assert r.status_code == 200 and "htmx" in r.text[:2000]


SCRIPT_RE = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


def test_api_docs_are_served_from_this_origin_without_inline_script(client: TestClient) -> None:
    r = client.get("/api/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "接口文档" in r.text
    assert 'data-spec-url="/api/openapi.json"' in r.text
    # what the page's CSP (script-src 'self') lets run: scripts from files on this origin
    scripts = SCRIPT_RE.findall(r.text)
    assert {attrs.strip() for attrs, _ in scripts} >= {
        'src="/vendor/swagger-ui/swagger-ui-bundle.js"',
        'src="/static/api-docs.js"',
    }
    assert all(body.strip() == "" for _, body in scripts)
    assert all('src="/' in attrs for attrs, _ in scripts)
    assert "script-src 'self'" in r.headers["content-security-policy"]
    for path in ("/vendor/swagger-ui/swagger-ui-bundle.js", "/vendor/swagger-ui/swagger-ui.css"):
        assert client.get(path).status_code == 200, path
    # only what the page loads: not the package's demo page (a public example API)
    for path in ("/vendor/swagger-ui/index.html", "/vendor/swagger-ui/swagger-initializer.js"):
        assert client.get(path).status_code == 404, path
    assert "SwaggerUIBundle" in client.get("/static/api-docs.js").text


def test_api_docs_say_so_when_the_viewer_is_not_installed(
    demo_platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_platform.settings, "node_modules_dir", tmp_path)  # no packages
    with TestClient(create_app(platform=demo_platform)) as c:
        r = c.get("/api/docs")
    assert r.status_code == 200
    assert "npm ci" in r.text and "swagger-ui-bundle" not in r.text
    assert '<a href="/api/openapi.json">' in r.text


@pytest.mark.req("SQ-24", "NX-52")
def test_logs_hold_no_password_or_secret(
    client: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    from govshare.web.logging import get_logger

    login(client, "admin")
    client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "x",
            "client_secret": "s3cr3t-value-xyz",
        },
    )
    get_logger().info("probe", password="Demo-Pass-2026", mobile="13812345678")
    out, err = capfd.readouterr()
    logs = out + err
    assert '"event": "request"' in logs  # the request log is there, as JSON
    assert "Demo-Pass-2026" not in logs and "s3cr3t-value-xyz" not in logs
    assert "13812345678" not in logs and "138****5678" in logs


def test_unknown_route_is_404_not_500(client: TestClient) -> None:
    assert client.get("/api/v1/departments/NOPE").status_code in (401, 404)
    login(client, "admin")
    r = client.get("/api/v1/departments/NOPE")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_the_served_app_freezes_start_up_objects_while_it_runs(demo_platform: Platform) -> None:
    """``govshare serve``'s app (``tune_gc``) keeps what start-up made out of the garbage
    collector's walks and collects less often while it runs, and gives both back when it
    stops; an app made without it (the tests') changes nothing."""
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(platform=demo_platform)) as c:
        assert c.get("/healthz").status_code == 200
        assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
    with TestClient(create_app(platform=demo_platform, tune_gc=True)) as c:
        assert c.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 0 and gc.get_threshold() == (YOUNG, OLDER, OLDER)
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_serve_builds_its_app_with_the_tuned_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from govshare.cli import serve as serve_cli
    from govshare.web import app as web_app

    made: list[dict[str, object]] = []
    served: list[object] = []

    def fake_create_app(*args: object, **kwargs: object) -> object:
        made.append(kwargs)
        return "the app"

    monkeypatch.setattr(web_app, "create_app", fake_create_app)
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    serve_cli.serve(host="127.0.0.1", port=8765)
    assert made == [{"tune_gc": True}] and served == ["the app"]
