"""``web.lane`` answers lookup and verification with a bearer token outside the router:
every answer must be the one the routes give (status, body, headers), on both databases,
for the calls it serves and for those it hands back to the routes (which validate them)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from govshare.identity import services as identity_services
from govshare.platform import Platform
from govshare.web.app import create_app
from govshare.web.routes import delivery_api
from tests.integration.delivery.conftest import P1, Delivery
from tests.web.test_delivery_api import HEADERS, auth, d, records_url, verify_url

__all__ = ["d"]  # the fixture, shared with the route tests

VOLATILE = {"call_id", "receipt", "at", "audit_seq", "audit_hash", "signature"}


@pytest.fixture
def routes_only(demo_platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform=demo_platform, lane=False)) as c:
        yield c


def _stable(r: Any) -> tuple[int, Any, dict[str, str]]:
    try:
        body = r.json()
    except json.JSONDecodeError:
        body = r.text
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in VOLATILE}
    headers = {
        k: v
        for k, v in r.headers.items()
        if k.lower() not in ("x-call-receipt", "content-length", "date")
    }
    return r.status_code, body, headers


Call = Callable[[TestClient, dict[str, str]], Any]


def _calls(d: Delivery) -> dict[str, Call]:
    long_key = "1" * 65
    return {
        "lookup": lambda c, h: c.get(records_url(d), headers=h),
        "lookup items": lambda c, h: c.get(records_url(d, items="name, mobile"), headers=h),
        "lookup unknown key": lambda c, h: c.get(
            records_url(d, key="110101199001011237"), headers=h
        ),
        "lookup blank key": lambda c, h: c.get(records_url(d, key=""), headers=h),
        "lookup no key": lambda c, h: c.get(records_url(d).split("?")[0], headers=h),
        "lookup long key": lambda c, h: c.get(records_url(d, key=long_key), headers=h),
        "lookup key twice": lambda c, h: c.get(records_url(d) + "&key=x", headers=h),
        "lookup item not granted": lambda c, h: c.get(records_url(d, items="income"), headers=h),
        "lookup other grant": lambda c, h: c.get(
            "/api/v1/delivery/grants/01JNOSUCHGRANT000000000000/records?key=1", headers=h
        ),
        "lookup no purpose": lambda c, h: c.get(
            records_url(d), headers={k: v for k, v in h.items() if k != "X-Purpose"}
        ),
        "lookup bad token": lambda c, h: c.get(
            records_url(d), headers={**h, "Authorization": "Bearer nope"}
        ),
        "lookup posted": lambda c, h: c.post(records_url(d), headers=h),
        "verify": lambda c, h: c.post(
            verify_url(d), headers=h, json={"key": P1, "claims": {"name": "欧阳娜娜"}}
        ),
        "verify mismatch": lambda c, h: c.post(
            verify_url(d), headers=h, json={"key": P1, "claims": {"mobile": "1"}}
        ),
        "verify no claims": lambda c, h: c.post(
            verify_url(d), headers=h, json={"key": P1, "claims": {}}
        ),
        "verify extra field": lambda c, h: c.post(
            verify_url(d), headers=h, json={"key": P1, "claims": {}, "x": 1}
        ),
        "verify key not text": lambda c, h: c.post(
            verify_url(d), headers=h, json={"key": 5, "claims": {"name": "x"}}
        ),
        "verify long key": lambda c, h: c.post(
            verify_url(d), headers=h, json={"key": "1" * 65, "claims": {"name": "x"}}
        ),
        "verify not json": lambda c, h: c.post(
            verify_url(d), headers={**h, "Content-Type": "application/json"}, content=b"{nope"
        ),
        "verify NaN": lambda c, h: c.post(
            verify_url(d),
            headers={**h, "Content-Type": "application/json"},
            content=b'{"key": "1", "claims": {"name": NaN}}',
        ),
        "verify form": lambda c, h: c.post(verify_url(d), headers=h, data={"key": P1}),
        "verify got": lambda c, h: c.get(verify_url(d), headers=h),
    }


@pytest.mark.req("SZ-16.4", "NX-12", "NX-14")
def test_the_lane_answers_as_the_routes_do(
    client: TestClient, routes_only: TestClient, d: Delivery
) -> None:
    d.set_grant(rate_limit_per_minute=100_000, quota_per_day=100_000)
    h = auth(client, d)
    for name, call in _calls(d).items():
        lane, routes = call(client, h), call(routes_only, h)
        assert _stable(lane) == _stable(routes), name
    # a revoked client system is refused at its next call on both paths
    with d.platform.db.read() as conn:
        from govshare.identity import queries as identity_queries

        cs = next(c for c in identity_queries.list_client_systems(conn) if c.name == "人社业务系统")
    identity_services.revoke_client_system(
        d.platform.db, cs.id, actor=d.city.actor("admin"), reason="停用"
    )
    for c in (client, routes_only):
        r = c.get(records_url(d), headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (401, "client_revoked")


def test_the_lane_keeps_metrics_log_template_and_security_headers(
    client: TestClient, d: Delivery
) -> None:
    h = auth(client, d)
    r = client.get(records_url(d), headers=h)
    assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in r.headers  # no session for a client system
    text = client.get("/metrics").text
    template = "/api/v1/delivery/grants/{grant_id}/records"
    assert f'govshare_http_requests_total{{method="GET",route="{template}",status="200"}}' in text
    assert d.grant_id not in text.split("govshare_http_requests_total")[1].split("\n#")[0]
    # without a token the routes answer (401), and the cookie session path is untouched
    assert client.get(records_url(d), headers=HEADERS).status_code == 401


def test_the_lane_answers_tls_and_failures_as_the_middlewares_do(
    demo_platform: Platform, d: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lane runs before the middleware stack: over TLS its answers carry HSTS as the
    routes' do, and an unexpected failure is answered 500 as the framework's error
    middleware answers it, with the security headers besides (and raised for the server
    to log), counted in the metrics."""
    lane_app = create_app(platform=demo_platform)
    routes_app = create_app(platform=demo_platform, lane=False)
    base = "https://testserver"
    with (
        TestClient(lane_app, base_url=base) as lane,
        TestClient(routes_app, base_url=base) as routes,
    ):
        h = auth(lane, d)
        for name in ("lookup", "verify", "lookup unknown key", "lookup bad token"):
            call = _calls(d)[name]
            a, b = call(lane, h), call(routes, h)
            assert a.headers["strict-transport-security"].startswith("max-age="), name
            assert _stable(a) == _stable(b), name

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(delivery_api, "run_lookup", broken)
    answers = []
    for app in (lane_app, routes_app):
        with TestClient(app, raise_server_exceptions=False) as c:
            answers.append(_stable(c.get(records_url(d), headers=h)))
        with TestClient(app) as c, pytest.raises(RuntimeError, match="a bug"):
            c.get(records_url(d), headers=h)
    (status, body, headers), (r_status, r_body, r_headers) = answers
    assert (status, body) == (r_status, r_body) == (500, "Internal Server Error")
    # the routes' 500 comes from outside the security headers; the lane's carries them
    assert headers == {**r_headers, **{k: v for k, v in headers.items() if k not in r_headers}}
    assert headers["x-content-type-options"] == "nosniff"
    with TestClient(lane_app) as c:
        text = c.get("/metrics").text
    template = "/api/v1/delivery/grants/{grant_id}/records"
    assert f'govshare_http_requests_total{{method="GET",route="{template}",status="500"}}' in text
