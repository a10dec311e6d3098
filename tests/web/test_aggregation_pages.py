"""The aggregation pages: the provider's page, the pool page with its upload form and
batches, the batch page with resubmission, and the authority's overview."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from govshare.aggregation import ingest
from govshare.kernel.clock import set_clock, utcnow
from govshare.platform import Platform
from tests.integration.aggregation.conftest import id_card, publish
from tests.integration.catalog.conftest import City
from tests.web.conftest import login

HEADER = "姓名,公民身份号码,性别,出生日期,手机号码,月收入\r\n"


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\r\n" for r in rows)).encode("gbk")


@pytest.mark.req("NX-29", "HB-17")
def test_provider_uploads_through_the_pool_page_and_resubmits(
    client: TestClient, demo_platform: Platform
) -> None:
    city = City(demo_platform)
    rid = publish(city)
    csrf = login(client, "ga_catalog")
    r = client.get("/pools", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/pools/departments/{city.depts['公安局'].id}"
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "居民人口信息" in page.text and "数据汇聚" in page.text
    pool = client.get(f"/pools/resources/{rid}")
    assert pool.status_code == 200 and 'id="upload-form"' in pool.text
    good, bad = id_card(seq=901), id_card(seq=902)
    r = client.post(
        f"/pools/resources/{rid}/upload",
        data={"csrf_token": csrf},
        files={"file": ("人口.csv", _csv(f"张三,{good},1,,,", f"李四,{bad},7,,,"))},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    batch_url = r.headers["location"]
    batch = client.get(batch_url)
    assert "已加载 1 行，拒绝 1 行" in batch.text
    assert "性别：不在代码表中" in batch.text and bad not in batch.text  # reasons, no values
    assert 'id="quarantine-download"' in batch.text and 'id="resubmit-form"' in batch.text
    assert "人口.csv" in client.get(f"/pools/resources/{rid}").text  # lineage
    batch_id = batch_url.rsplit("/", 1)[1]
    r = client.post(
        f"/pools/batches/{batch_id}/resubmit",
        data={"csrf_token": csrf},
        files={"file": ("fixed.csv", _csv(f"李四,{bad},2,,,"))},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "已解决 1 行" in client.get(r.headers["location"]).text
    assert re.search(r'id="unresolved">0<', client.get(batch_url).text)
    # a file-level error is shown on the pool page
    r = client.post(
        f"/pools/resources/{rid}/upload",
        data={"csrf_token": csrf},
        files={"file": ("x.csv", "姓名,血型\r\n张三,A\r\n".encode())},
    )
    assert r.status_code == 422 and 'id="upload-error"' in r.text and "血型" in r.text


@pytest.mark.req("NX-72", "SQ-20", "HB-17")
def test_overdue_flag_on_the_provider_page_and_the_authority_overview(
    client: TestClient, demo_platform: Platform
) -> None:
    city = City(demo_platform)
    rid = publish(city)
    ingest.push_rows(
        city.db,
        rid,
        [{"姓名": "张三", "公民身份号码": id_card(seq=950)}],
        [],
        actor=city.actor("ga_catalog"),
        idempotency_key="k",
    )
    login(client, "admin")
    assert client.get("/pools", follow_redirects=False).headers["location"] == "/pools/overview"
    overview = client.get("/pools/overview")
    assert overview.status_code == 200 and "公安局" in overview.text
    assert "freshness-overdue" not in overview.text
    moved = utcnow() + timedelta(days=5)
    set_clock(lambda: moved)
    try:
        overview = client.get("/pools/overview")
        assert "未按时限更新" in overview.text and "freshness-overdue" in overview.text
        dept = client.get(f"/pools/departments/{city.depts['公安局'].id}")
        assert dept.status_code == 200
        assert re.search(r'class="badge overdue freshness-overdue">未按时限更新<', dept.text)
        assert 'id="upload-form"' not in client.get(f"/pools/resources/{rid}").text
    finally:
        set_clock(None)


def test_pages_are_refused_to_others(client: TestClient, demo_platform: Platform) -> None:
    city = City(demo_platform)
    rid = publish(city)
    police = city.depts["公安局"].id
    login(client, "rs_user")  # a data user: no pool access, no nav entry
    assert client.get("/pools").status_code == 403
    assert "/pools" not in client.get("/").text
    login(client, "rs_admin")  # another department's admin
    assert 'href="/pools"' in client.get("/").text
    for path in (f"/pools/departments/{police}", f"/pools/resources/{rid}", "/pools/overview"):
        assert client.get(path).status_code == 403, path
    login(client, "ga_catalog")
    assert 'href="/pools"' in client.get("/").text
    assert client.get("/pools/overview").status_code == 403
    client.cookies.set("lang", "en")
    page = client.get(f"/pools/departments/{police}")
    assert "Data aggregation" in page.text and "Quality indicators" in page.text
