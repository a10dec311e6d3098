"""Secrets and raw sensitive values never reach the logs (nor the audit details): known values
are planted through real code paths, at DEBUG, and every line the process wrote is scanned."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govshare.audit.tables import audit_entry
from govshare.demo.seed import demo_client_secret
from govshare.identity import queries as identity_queries
from govshare.kernel.identifiers import id_card_check_char
from govshare.platform import Platform
from govshare.web.app import create_app
from tests.integration.aggregation.conftest import publish
from tests.integration.catalog.conftest import City
from tests.web.conftest import csrf_from, login

_first17 = "32130219880512771"
ID_CARD = _first17 + id_card_check_char(_first17)  # valid: loads into the pool
BAD_ID_CARD = "32130219880512772" + ("0" if id_card_check_char("32130219880512772") != "0" else "1")
PHONE = "13987654321"
PASSWORD = "Planted-Wrong-Passw0rd!"
CLIENT_SECRET = "planted-client-secret-9f8e7d6c5b4a"
NAME = "欧阳植入"
PLANTED = [ID_CARD, BAD_ID_CARD, PHONE, PASSWORD, CLIENT_SECRET, NAME]


@pytest.fixture
def app_client(demo_platform: Platform) -> Iterator[TestClient]:
    demo_platform.settings = demo_platform.settings.model_copy(update={"log_level": "DEBUG"})
    with TestClient(create_app(platform=demo_platform), raise_server_exceptions=False) as c:
        yield c


def _csv(rows: list[list[str]]) -> bytes:
    return ("\r\n".join(",".join(r) for r in rows) + "\r\n").encode()


@pytest.mark.req("SQ-24", "NX-52")
def test_planted_values_never_reach_the_logs(
    app_client: TestClient, demo_platform: Platform, capfd: pytest.CaptureFixture[str]
) -> None:
    c, p = app_client, demo_platform
    resource = publish(City(p))
    capfd.readouterr()  # from here on, every line is scanned

    # sign-in with a wrong password (and a username that is a planted value)
    token = csrf_from(c.get("/login").text)
    for username in ("ga_catalog", ID_CARD):
        r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 401
    # token requests: a wrong secret, and the right one (which must not be logged either)
    with p.db.read() as conn:
        cs = next(
            x for x in identity_queries.list_client_systems(conn) if x.name == "公安人口库接口"
        )
    real_secret = demo_client_secret("公安人口库接口")
    r = c.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": cs.client_id,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert r.status_code == 401
    r = c.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": cs.client_id,
            "client_secret": real_secret,
        },
    )
    assert r.status_code == 200
    access = r.json()["access_token"]
    # ingest: a good row and a bad one, by upload and by push
    csrf = login(c, "ga_catalog")
    header = ["姓名", "公民身份号码", "性别", "出生日期", "手机号码", "月收入"]
    data = _csv(
        [
            header,
            [NAME, ID_CARD, "1", "1988-05-12", PHONE, "1"],
            [NAME, BAD_ID_CARD, "1", "1988-05-12", PHONE, "1"],
        ]
    )
    r = c.post(
        f"/api/v1/pools/{resource}/upload",
        files={"file": ("p.csv", data)},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201 and r.json()["rows_rejected"] == 1
    r = c.post(
        f"/api/v1/pools/{resource}/rows",
        json={
            "upserts": [dict(zip(header, [NAME, BAD_ID_CARD, "9", "x", PHONE, "y"], strict=True))]
        },
        headers={"Authorization": f"Bearer {access}", "Idempotency-Key": "k1"},
    )
    assert r.status_code == 201
    # error pages and refusals carrying planted values in paths, queries and bodies
    for url in (
        f"/api/v1/catalog/resources/{ID_CARD}",
        f"/catalog/resources/{PHONE}",
        f"/api/v1/pools/batches/{BAD_ID_CARD}",
        f"/login?next=/{PASSWORD}",
        f"/catalog?q={ID_CARD}",
        f"/api/v1/catalog/resources?q={NAME}",
    ):
        assert c.get(url, follow_redirects=False).status_code < 500
    r = c.post(
        "/api/v1/departments", json={"uscc": ID_CARD, "name": NAME}, headers={"X-CSRF-Token": csrf}
    )
    assert 400 <= r.status_code < 500
    r = c.get("/api/v1/me", headers={"Authorization": f"Bearer {CLIENT_SECRET}"})
    assert r.status_code == 401

    out, err = capfd.readouterr()
    lines = (out + err).splitlines()
    assert len(lines) >= 15, "every request above is logged"
    leaked = {v for v in [*PLANTED, real_secret, access] for line in lines if v in line}
    assert not leaked, f"leaked into the logs: {leaked}"
    with p.db.read() as conn:
        details = [str(d) for d in conn.execute(select(audit_entry.c.details)).scalars()]
    in_audit = {v for v in [*PLANTED, real_secret, access] for d in details if v in d}
    assert not in_audit, f"raw values in audit details: {in_audit}"


def test_the_scan_would_see_a_leak(capfd: pytest.CaptureFixture[str]) -> None:
    """The scan is real: a value logged through the platform's logger is found."""
    from govshare.web.logging import configure_logging, get_logger

    configure_logging("DEBUG")
    get_logger("test").info("probe", note=f"value {ID_CARD}")
    out, err = capfd.readouterr()
    assert ID_CARD in out + err
