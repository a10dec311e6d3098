"""The aggregation API through the real app: uploads in every format, pushes by a client
system with idempotency keys, limits, lineage, quarantine download, quality."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook  # type: ignore[import-untyped]

from govshare.demo.seed import demo_client_secret
from govshare.identity import queries as identity_queries
from govshare.platform import Platform
from tests.integration.aggregation.conftest import id_card, publish
from tests.integration.catalog.conftest import City
from tests.web.conftest import login

HEADER = ["姓名", "公民身份号码", "性别", "出生日期", "手机号码", "月收入"]
POLICE_CLIENT, HR_CLIENT = "公安人口库接口", "人社业务系统"


@pytest.fixture
def resource(demo_platform: Platform) -> str:
    return publish(City(demo_platform))


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(",".join(r) for r in rows) + "\r\n").encode(encoding)


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def jsonl_bytes(rows: list[list[str]]) -> bytes:
    head, body = rows[0], rows[1:]
    lines = [json.dumps(dict(zip(head, r, strict=True)), ensure_ascii=False) for r in body]
    return ("\n".join(lines) + "\n").encode("utf-8")


def people(start: int, n: int = 2) -> list[list[str]]:
    return [HEADER] + [
        ["张三丰" if i % 2 else "李四", id_card(seq=start + i), "1", "1990-03-07", "", ""]
        for i in range(n)
    ]


def token(client: TestClient, platform: Platform, name: str) -> str:
    with platform.db.read() as conn:
        cs = next(c for c in identity_queries.list_client_systems(conn) if c.name == name)
    r = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": cs.client_id,
            "client_secret": demo_client_secret(name),
        },
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def upload(
    client: TestClient, resource: str, name: str, data: bytes, csrf: str | None = None
) -> Any:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return client.post(
        f"/api/v1/pools/{resource}/upload", files={"file": (name, data)}, headers=headers
    )


@pytest.mark.req("NX-29", "SQ-16")
@pytest.mark.parametrize(
    ("fmt", "encoding"), [("csv", "gbk"), ("csv", "gb18030"), ("xlsx", "xlsx"), ("jsonl", "utf-8")]
)
def test_upload_in_each_format(client: TestClient, resource: str, fmt: str, encoding: str) -> None:
    csrf = login(client, "ga_catalog")
    rows = people(100, 3)
    if encoding == "gb18030":
        rows[1][0] = "䶮㐀"  # outside GBK: only GB18030 encodes it
    data = {
        "csv": lambda: csv_bytes(rows, encoding),
        "xlsx": lambda: xlsx_bytes(rows),
        "jsonl": lambda: jsonl_bytes(rows),
    }[fmt]()
    r = upload(client, resource, f"人口.{fmt}", data, csrf)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows_loaded"], body["rows_rejected"], body["duplicate"]) == (3, 0, False)
    assert body["encoding"] == encoding and body["file_name"] == f"人口.{fmt}"
    assert body["source"] == "upload" and body["actor_name"] == "ga_catalog"
    assert len(body["file_sha256"]) == 64 and body["quality_score"] > 0
    again = upload(client, resource, "copy." + fmt, data, csrf)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["id"] == body["id"]


@pytest.mark.req("SQ-16", "HB-17")
def test_upload_reports_rejected_rows_and_file_level_errors(
    client: TestClient, resource: str
) -> None:
    csrf = login(client, "ga_catalog")
    rows = [*people(200, 1), ["王五", "110105199001011234", "1", "", "", ""]]
    r = upload(client, resource, "p.csv", csv_bytes(rows), csrf)
    body = r.json()
    assert r.status_code == 201 and body["rows_rejected"] == 1
    assert body["rejected"][0]["row_no"] == 3
    assert body["rejected"][0]["errors"][0]["field"] == "id_card"
    assert "110105199001011234" not in r.text
    assert body["quarantine_url"] == f"/api/v1/pools/batches/{body['id']}/quarantine.csv"
    bad = upload(client, resource, "b.csv", csv_bytes([["姓名", "公民身份号码", "血型"]]), csrf)
    assert bad.status_code == 422
    err = bad.json()["error"]
    assert err["code"] == "ingest_file_rejected" and err["field"] == "column 3"
    assert "血型" in err["message_zh"]
    other = upload(client, resource, "x.txt", b"hello", csrf)
    assert other.status_code == 422
    assert (
        client.post(f"/api/v1/pools/{resource}/upload", headers={"X-CSRF-Token": csrf}).status_code
        == 422
    )


def test_upload_is_refused_to_others_and_without_csrf(client: TestClient, resource: str) -> None:
    data = csv_bytes(people(300, 1))
    csrf = login(client, "rs_admin")
    r = upload(client, resource, "p.csv", data, csrf)
    assert r.status_code == 403
    login(client, "ga_catalog")
    r = upload(client, resource, "p.csv", data)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"


def test_upload_size_limit(client: TestClient, resource: str, demo_platform: Platform) -> None:
    csrf = login(client, "ga_catalog")
    demo_platform.settings.upload_max_bytes = 1000
    big = csv_bytes(people(400, 3)) + b"x" * 200_000
    r = upload(client, resource, "big.csv", big, csrf)
    assert r.status_code == 413 and r.json()["error"]["code"] == "content_too_large"
    # without a Content-Length (chunked), the limit applies while the body streams in
    boundary = "gsboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(20):
            yield b"y" * 10_000
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post(
        f"/api/v1/pools/{resource}/upload",
        content=chunks(),
        headers={
            "X-CSRF-Token": csrf,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert r.status_code == 413, r.text
    assert not list((demo_platform.settings.var_dir / "uploads").glob("*"))  # nothing left


@pytest.mark.req("NX-29", "YX-22", "HB-14")
def test_client_system_pushes_rows_with_idempotency_keys(
    client: TestClient, resource: str, demo_platform: Platform
) -> None:
    auth = {"Authorization": f"Bearer {token(client, demo_platform, POLICE_CLIENT)}"}
    url = f"/api/v1/pools/{resource}/rows"
    rows = {
        "upserts": [
            {"姓名": "张三", "公民身份号码": id_card(seq=501), "性别": "1"},
            {"name": "李四", "id_card": id_card(seq=502), "income": 1234.5},
            {"姓名": "王五", "公民身份号码": id_card(seq=503), "性别": "7"},
        ]
    }
    r = client.post(url, json=rows, headers={**auth, "Idempotency-Key": "push-1"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows_loaded"], body["rows_rejected"], body["source"]) == (2, 1, "api")
    assert body["idempotency_key"] == "push-1" and body["rejected"][0]["row_no"] == 3
    again = client.post(url, json=rows, headers={**auth, "Idempotency-Key": "push-1"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["id"] == body["id"]
    delete = client.post(
        url, json={"deletes": [id_card(seq=501)]}, headers={**auth, "Idempotency-Key": "push-2"}
    )
    assert delete.status_code == 201 and delete.json()["rows_deleted"] == 1
    missing = client.post(url, json=rows, headers=auth)
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "idempotency_key_required"
    # HB-14: another department's business system may not load the police's pool
    other = {"Authorization": f"Bearer {token(client, demo_platform, HR_CLIENT)}"}
    refused = client.post(url, json=rows, headers={**other, "Idempotency-Key": "x"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "ingest_not_provider"
    upload_refused = client.post(
        f"/api/v1/pools/{resource}/upload", files={"file": ("p.csv", b"x")}, headers=other
    )
    assert upload_refused.status_code == 403
    # a client system loads but does not browse pools
    assert client.get(f"/api/v1/pools/{resource}/batches", headers=auth).status_code == 403


@pytest.mark.req("NX-29")
def test_client_system_uploads_a_file_by_resource_code(
    client: TestClient, resource: str, demo_platform: Platform
) -> None:
    with demo_platform.db.read() as conn:
        from govshare.catalog.queries import get_resource

        code = get_resource(conn, resource).code
    auth = {"Authorization": f"Bearer {token(client, demo_platform, POLICE_CLIENT)}"}
    r = client.post(
        f"/api/v1/pools/{code}/upload?format=csv",
        files={"file": ("export", csv_bytes(people(600, 2), "gbk"))},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    assert r.json()["resource_id"] == resource and r.json()["encoding"] == "gbk"


def test_push_limits_and_bad_bodies(
    client: TestClient, resource: str, demo_platform: Platform
) -> None:
    auth = {"Authorization": f"Bearer {token(client, demo_platform, POLICE_CLIENT)}"}
    url = f"/api/v1/pools/{resource}/rows"
    too_many = {"upserts": [{"姓名": "甲"}] * 6000, "deletes": ["x"] * 4001}
    r = client.post(url, json=too_many, headers={**auth, "Idempotency-Key": "big"})
    assert r.status_code == 413
    r = client.post(
        url, json={"upserts": [{"血型": "A"}]}, headers={**auth, "Idempotency-Key": "u"}
    )
    assert r.status_code == 422 and "血型" in r.json()["error"]["message_zh"]
    r = client.post(url, json={"rows": []}, headers={**auth, "Idempotency-Key": "v"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "request_invalid"
    r = client.post(
        url,
        content=b"{not json",
        headers={**auth, "Idempotency-Key": "w", "Content-Type": "application/json"},
    )
    assert r.status_code == 422


@pytest.mark.req("NX-29", "HB-17", "NX-27", "NX-31")
def test_batches_lineage_quarantine_and_quality_reads(
    client: TestClient, resource: str, demo_platform: Platform
) -> None:
    csrf = login(client, "ga_catalog")
    rows = [
        *people(700, 2),
        ["=1+1", "110105199001011234", "1", "", "", ""],
        ["@SUM(A1)", id_card(seq=710), "5", "", "", "-5"],
    ]
    b = upload(client, resource, "人口.csv", csv_bytes(rows, "gbk"), csrf).json()
    listing = client.get(f"/api/v1/pools/{resource}/batches").json()
    assert listing["total"] == 1
    item = listing["items"][0]
    assert (item["file_name"], item["encoding"], item["actor_name"]) == (
        "人口.csv",
        "gbk",
        "ga_catalog",
    )
    assert item["file_sha256"] == b["file_sha256"] and item["rows_rejected"] == 2
    detail = client.get(f"/api/v1/pools/batches/{b['id']}").json()
    assert detail["unresolved"] == 2 and [r["row_no"] for r in detail["rejected"]] == [4, 5]
    assert detail["department_id"] == City(demo_platform).depts["公安局"].id  # NX-27
    download = client.get(f"/api/v1/pools/batches/{b['id']}/quarantine.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    assert download.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert table[0][0] == "原行号" and table[0][-1] == "错误原因"
    assert table[1][1] == "'=1+1" and table[2][1] == "'@SUM(A1)" and table[2][6] == "-5"
    assert "公民身份号码" in table[1][-1] and "性别" in table[2][-1]
    quality = client.get(f"/api/v1/pools/{resource}/quality").json()
    assert quality["rows"] == 2 and quality["quality"]["unresolved"] == 2
    assert quality["quality"]["validity"] == pytest.approx(0.5)
    assert quality["freshness"]["overdue"] is False and quality["freshness"]["cycle_days"] == 1
    assert quality["latest_batch"]["id"] == b["id"]
    dept = City(demo_platform).depts["公安局"].id
    indicators = client.get(f"/api/v1/pools/departments/{dept}/quality").json()
    assert indicators["with_data"] == 1 and indicators["rows_rejected"] == 2
    assert indicators["pools"][0]["code"] == quality["code"]
    # the authority reads lineage and quality, but not the raw rejected rows
    login(client, "admin")
    assert client.get(f"/api/v1/pools/{resource}/batches").status_code == 200
    assert client.get(f"/api/v1/pools/departments/{dept}/quality").status_code == 200
    assert client.get(f"/api/v1/pools/batches/{b['id']}/quarantine.csv").status_code == 403
    # another department's admin sees none of it; a data user has no pool access at all
    login(client, "rs_admin")
    for path in (
        f"/api/v1/pools/{resource}/batches",
        f"/api/v1/pools/{resource}/quality",
        f"/api/v1/pools/batches/{b['id']}",
        f"/api/v1/pools/batches/{b['id']}/quarantine.csv",
        f"/api/v1/pools/departments/{dept}/quality",
    ):
        assert client.get(path).status_code == 403, path
    login(client, "rs_user")
    assert client.get(f"/api/v1/pools/{resource}/quality").status_code == 403


def test_resubmit_through_the_api(client: TestClient, resource: str) -> None:
    csrf = login(client, "ga_catalog")
    bad = [*people(800, 1), ["王五", id_card(seq=802), "5", "", "", ""]]
    b = upload(client, resource, "p.csv", csv_bytes(bad), csrf).json()
    fixed = [HEADER, ["王五", id_card(seq=802), "1", "", "", ""]]
    r = client.post(
        f"/api/v1/pools/batches/{b['id']}/resubmit",
        files={"file": ("fixed.csv", csv_bytes(fixed))},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["resolved"], r.json()["remaining"], r.json()["rows_loaded"]) == (1, 0, 1)
    assert client.get(f"/api/v1/pools/batches/{b['id']}").json()["unresolved"] == 0
