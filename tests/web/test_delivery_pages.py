"""Usage pages of the data services (consumer, provider, authority HB-26) and the provider's
document page, through the real app on both databases: each department sees only its own
usage, the authority its jurisdictions, in Chinese and English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from govshare.delivery import feed
from govshare.demo.documents import minimal_pdf
from govshare.kernel.errors import DomainError
from tests.integration.catalog.conftest import City
from tests.integration.delivery.conftest import HEADERS, P1, Delivery
from tests.integration.delivery.files_support import app_client, files_delivery
from tests.web.conftest import csrf_from, login


@pytest.fixture
def d(demo_platform: Any) -> Delivery:
    d = files_delivery(City(demo_platform))
    for cursor in (0, 1):  # two served calls, one refusal
        feed.changes(d.platform, d.grant_id, cursor=cursor, limit=5, call=HEADERS, actor=d.client)
    with pytest.raises(DomainError):
        feed.changes(d.platform, d.grant_id, cursor=-1, limit=5, call=HEADERS, actor=d.client)
    return d


@pytest.fixture
def client(d: Delivery) -> Iterator[TestClient]:
    yield from app_client(d.platform)


def row(html: str, grant_id: str) -> str | None:
    match = re.search(rf'<tr data-grant="{grant_id}".*?</tr>', html, re.S)
    return match.group(0) if match else None


def calls_in(fragment: str) -> int:
    match = re.search(r'class="calls">(\d+)<', fragment)
    assert match, fragment
    return int(match.group(1))


@pytest.mark.req("HB-26")
def test_consumer_sees_its_own_usage_only(client: TestClient, d: Delivery) -> None:
    login(client, "rs_user")
    page = client.get("/delivery/usage")
    assert page.status_code == 200
    mine = row(page.text, d.grant_id)
    assert mine is not None and calls_in(mine) == 2
    assert "cursor_invalid" in mine and "人社局" in page.text
    client.get("/lang/en")
    assert "Data service usage" in client.get("/delivery/usage").text
    other = TestClient(client.app, base_url="http://testserver")
    login(other, "scjg_admin")  # 市场监管局 holds no grant on it
    theirs = other.get("/delivery/usage")
    assert theirs.status_code == 200 and row(theirs.text, d.grant_id) is None


@pytest.mark.req("HB-26")
def test_provider_sees_who_uses_its_resources(client: TestClient, d: Delivery) -> None:
    login(client, "ga_catalog")
    page = client.get("/delivery/provider")
    assert page.status_code == 200
    used = row(page.text, d.grant_id)
    assert used is not None and 'data-consumer="人社局"' in used and calls_in(used) == 2
    assert "行政依据" in used  # the purpose
    assert f"/delivery/documents/{d.resource_id}" in page.text
    consumer = TestClient(client.app, base_url="http://testserver")
    login(consumer, "rs_user")  # the consumer is no provider of it
    assert row(consumer.get("/delivery/provider").text, d.grant_id) is None


@pytest.mark.req("HB-26")
def test_authority_statistics(client: TestClient, d: Delivery) -> None:
    login(client, "admin")
    page = client.get("/delivery/statistics?period=all")
    assert page.status_code == 200
    ga = re.search(r'<tr data-department="公安局".*?</tr>', page.text, re.S)
    assert ga is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", ga.group(0), re.S)
    # applications, approved, refused, in progress: the fixture's application was approved
    assert int(cells[1]) >= 1 and int(cells[2]) >= 1
    assert calls_in(ga.group(0)) == 2 and "100.0%" in ga.group(0)
    denied = TestClient(client.app, base_url="http://testserver")
    login(denied, "rs_user")
    assert denied.get("/delivery/statistics").status_code == 403
    assert client.get("/delivery/statistics?period=bogus").status_code == 422


@pytest.mark.req("NX-39", "SQ-25")
def test_provider_stores_documents_on_its_page(client: TestClient, d: Delivery) -> None:
    csrf = login(client, "ga_catalog")
    page = client.get(f"/delivery/documents/{d.resource_id}")
    assert page.status_code == 200 and "csrf_token" in page.text
    r = client.post(
        f"/delivery/documents/{d.resource_id}",
        data={"key": P1, "csrf_token": csrf_from(page.text)},
        files={"file": ("licence.pdf", minimal_pdf(["Licence"]), "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    listed = client.get(f"/delivery/documents/{d.resource_id}").text
    assert "licence.pdf" in listed and P1 not in listed  # the key is shown masked
    bad = client.post(
        f"/delivery/documents/{d.resource_id}",
        data={"key": P1, "csrf_token": csrf},
        files={"file": ("x.pdf", b"not a pdf", "application/pdf")},
    )
    assert bad.status_code == 200 and "PDF" in bad.text  # the refusal is flashed
    outsider = TestClient(client.app, base_url="http://testserver")
    login(outsider, "rs_user")
    assert outsider.get(f"/delivery/documents/{d.resource_id}").status_code == 403
