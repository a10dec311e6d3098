"""Batch export, feed and documents over HTTP through the real app (an immediate job queue),
on both databases: the consumer's path from token to file, the public checks of manifests
and document signatures, authorization per endpoint, and the OpenAPI document."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from govshare.demo.documents import minimal_pdf
from tests.integration.catalog.conftest import City
from tests.integration.delivery.conftest import P1, Delivery
from tests.integration.delivery.files_support import (
    HTTP_HEADERS,
    SECRETS,
    app_client,
    bearer,
    files_delivery,
)
from tests.web.conftest import login

# the export routes are HTTP routes: none writes on the event loop's thread
pytestmark = pytest.mark.usefixtures("no_writes_on_the_event_loop")


@pytest.fixture
def d(demo_platform: Any) -> Delivery:
    return files_delivery(City(demo_platform))


@pytest.fixture
def client(d: Delivery) -> Iterator[TestClient]:
    yield from app_client(d.platform)


@pytest.mark.req("SQ-18", "SQ-26", "SZ-16.4", "NX-40")
def test_export_over_http_from_token_to_verified_file(client: TestClient, d: Delivery) -> None:
    h = bearer(client, d.platform)
    r = client.post(
        f"/api/v1/delivery/grants/{d.grant_id}/exports",
        json={"format": "csv", "encoding": "utf-8-bom"},
        headers=h,
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["state"] == "done"  # the immediate queue ran it inside the request
    assert r.headers["X-Call-Receipt"] and body["receipt"]["mode"] == "batch"
    status = client.get(f"/api/v1/delivery/exports/{body['job_id']}", headers=h).json()
    assert status["rows"] == 2 and status["download_url"].startswith("/api/v1/delivery/exports/")
    f = client.get(status["download_url"], headers=h)
    assert f.status_code == 200, f.text
    assert f.content.startswith(b"\xef\xbb\xbfname,id_card")
    text = f.content.decode("utf-8-sig")
    assert all(s not in text for s in SECRETS)
    sha = hashlib.sha256(f.content).hexdigest()
    assert f.headers["X-Export-SHA256"] == sha == status["sha256"]
    checked = client.post(
        "/api/v1/delivery/manifests/verify",
        json={
            "manifest": status["manifest"],
            "signature": status["manifest_signature"],
            "sha256": sha,
        },
    ).json()
    assert checked["valid"] is True
    tampered = {**status["manifest"], "rows": 1}
    assert (
        client.post(
            "/api/v1/delivery/manifests/verify",
            json={"manifest": tampered, "signature": status["manifest_signature"]},
        ).json()["valid"]
        is False
    )
    receipt = client.post("/api/v1/receipts/verify", json={"receipt": f.headers["X-Call-Receipt"]})
    assert receipt.json()["valid"] is True and receipt.json()["audit"] == "matches"
    # a forged link
    forged = status["download_url"].replace("token=", "token=x")
    refused = client.get(forged, headers=h)
    assert refused.status_code == 410 and refused.json()["error"]["code"] == "export_link_invalid"


@pytest.mark.req("NX-40", "SZ-16.4", "NX-39")
def test_feed_and_document_over_http(client: TestClient, d: Delivery) -> None:
    h = bearer(client, d.platform)
    r = client.get(f"/api/v1/delivery/grants/{d.grant_id}/changes?cursor=0&limit=1", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["has_more"] is True and r.json()["changes"][0]["op"] == "upsert"
    assert r.headers["X-Call-Receipt"]
    nxt = r.json()["next_cursor"]
    r2 = client.get(f"/api/v1/delivery/grants/{d.grant_id}/changes?cursor={nxt}", headers=h)
    assert r2.json()["has_more"] is False and len(r2.json()["changes"]) == 1
    # the provider's staff store a licence through the API (session + CSRF)
    pdf = minimal_pdf(["Certificate", "HTTP"])
    staff = TestClient(client.app, base_url="http://testserver")
    csrf = login(staff, "ga_catalog")
    up = staff.post(
        f"/api/v1/resources/{d.resource_id}/documents",
        data={"key": P1},
        files={"file": ("licence.pdf", pdf, "application/pdf")},
        headers={"X-CSRF-Token": csrf},
    )
    assert up.status_code == 201, up.text
    assert up.json()["key"] != P1 and up.json()["sha256"] == hashlib.sha256(pdf).hexdigest()
    got = client.get(f"/api/v1/delivery/grants/{d.grant_id}/documents?key={quote(P1)}", headers=h)
    assert got.status_code == 200, got.text
    assert got.content == pdf and got.headers["content-type"] == "application/pdf"
    assert got.headers["X-Document-SHA256"] == hashlib.sha256(pdf).hexdigest()
    ok = client.post(
        "/api/v1/delivery/documents/verify",
        json={
            "signature": got.headers["X-Platform-Signature"],
            "sha256": hashlib.sha256(got.content).hexdigest(),
        },
    ).json()
    assert ok["valid"] is True and ok["statement"]["resource"]
    bad = client.post(
        "/api/v1/delivery/documents/verify",
        json={"signature": got.headers["X-Platform-Signature"], "sha256": "0" * 64},
    ).json()
    assert bad["valid"] is False


ENDPOINTS = [
    ("post", "/api/v1/delivery/grants/{grant}/exports", {"json": {"format": "csv"}}),
    ("get", "/api/v1/delivery/exports/{job}", {}),
    ("get", "/api/v1/delivery/exports/{job}/file?token={token}", {}),
    ("get", "/api/v1/delivery/grants/{grant}/changes", {}),
    ("get", "/api/v1/delivery/grants/{grant}/documents?key=" + P1, {}),
]


@pytest.mark.req("YX-25", "SQ-24", "HB-27")
def test_authorization_of_every_endpoint(client: TestClient, d: Delivery) -> None:
    h = bearer(client, d.platform)
    job = client.post(
        f"/api/v1/delivery/grants/{d.grant_id}/exports", json={"format": "jsonl"}, headers=h
    ).json()
    url = client.get(f"/api/v1/delivery/exports/{job['job_id']}", headers=h).json()
    token = url["download_url"].split("token=", 1)[1]
    other = bearer(client, d.platform, "市场监管登记系统")
    for method, template, kw in ENDPOINTS:
        path = template.format(grant=d.grant_id, job=job["job_id"], token=token)
        # no token at all
        anon = getattr(client, method)(path, headers=HTTP_HEADERS, **kw)
        assert anon.status_code in (401, 403), (path, anon.text)  # a POST fails CSRF first
        assert anon.json()["error"]["code"] in ("unauthenticated", "csrf_failed"), path
        # another department's business system: its grant and jobs are not its own
        r = getattr(client, method)(path, headers=other, **kw)
        assert r.status_code in (403, 404), (path, r.text)
        assert r.json()["error"]["code"] in ("grant_not_yours", "export_not_found"), path
        # the call headers are required on every data call
        if "exports/" not in path or path.endswith(token):
            bare = {"Authorization": h["Authorization"]}
            r = getattr(client, method)(path, headers=bare, **kw)
            assert r.status_code == 422 and r.json()["error"]["code"] == "purpose_required"
    # a signed-in user is not a business system
    user = TestClient(client.app, base_url="http://testserver")
    csrf = login(user, "rs_user")
    r = user.get(f"/api/v1/delivery/grants/{d.grant_id}/changes", headers=HTTP_HEADERS)
    assert r.status_code == 403
    # the upload: the provider's staff only
    up = user.post(
        f"/api/v1/resources/{d.resource_id}/documents",
        data={"key": P1},
        files={"file": ("a.pdf", minimal_pdf(["x"]), "application/pdf")},
        headers={"X-CSRF-Token": csrf},
    )
    assert up.status_code == 403
    assert client.post(
        f"/api/v1/resources/{d.resource_id}/documents",
        data={"key": P1},
        files={"file": ("a.pdf", minimal_pdf(["x"]), "application/pdf")},
    ).status_code in (401, 403)


def test_openapi_documents_the_file_endpoints(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    paths = spec["paths"]
    for path, method in (
        ("/api/v1/delivery/grants/{grant_id}/exports", "post"),
        ("/api/v1/delivery/exports/{job_id}", "get"),
        ("/api/v1/delivery/exports/{job_id}/file", "get"),
        ("/api/v1/delivery/manifests/verify", "post"),
        ("/api/v1/delivery/grants/{grant_id}/changes", "get"),
        ("/api/v1/delivery/grants/{grant_id}/documents", "get"),
        ("/api/v1/delivery/documents/verify", "post"),
        ("/api/v1/resources/{resource_id}/documents", "post"),
    ):
        op = paths[path][method]
        assert op["summary"] and op["responses"], path
    export_op = paths["/api/v1/delivery/grants/{grant_id}/exports"]["post"]
    assert export_op["requestBody"]["content"]["application/json"]["examples"]
    assert "410" in export_op["responses"] and "403" in export_op["responses"]
    schemas = spec["components"]["schemas"]
    assert schemas["ExportOut"]["examples"] and schemas["FeedOut"]["examples"]
