"""The bad-input corpus (tests/data/bad, made by make_corpus.py) thrown at every upload and
import endpoint over HTTP: each input gets a 4xx whose error names the row, column or field
(or, for a readable file with a bad row, the row is quarantined naming row and field);
nothing is stored partially; the process survives with memory bounded; SQL injection and
XSS through every search box, filter and free-text field are inert."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, text

from govshare.aggregation.tables import quarantine_row
from govshare.demo.seed import DEMO_PASSWORD
from govshare.identity import queries as identity_queries
from govshare.platform import Platform
from govshare.web.app import create_app
from tests.integration.aggregation.conftest import publish
from tests.integration.catalog.conftest import City

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
CORPUS: list[dict[str, Any]] = json.loads((BAD / "corpus.json").read_text(encoding="utf-8"))
# tables whose rows are not "the data": the audit trail (refusals are audited), sessions of the
# notify dispatcher, and the migration marker
UNCOUNTED = re.compile(r"^(audit_|notify_|notification|alembic_version)")
MAX_RSS_GROWTH = 150 << 20


def _corpus_module() -> Any:
    spec = importlib.util.spec_from_file_location("make_corpus", BAD / "make_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_corpus_is_complete_and_up_to_date() -> None:
    """At least 50 inputs; the committed files are what make_corpus.py writes."""
    module = _corpus_module()
    module.build()
    assert len(module.CASES) >= 50 and len(CORPUS) == len(module.CASES)
    assert [c["file"] for c in CORPUS] == [c["file"] for c in module.CASES]
    for name, data in module.FILES.items():
        if name.endswith(("zip_bomb.xlsx", ".xlsx")):  # zip timestamps differ run to run
            assert (BAD / name).exists()
            continue
        assert (BAD / name).read_bytes() == data, name
    kinds = {c["endpoint"] for c in CORPUS}
    assert kinds == {
        "pool_upload",
        "pool_push",
        "catalog_import",
        "catalog_create",
        "department_create",
    }


@dataclass
class Callers:
    provider: TestClient  # 公安局 catalog staff: uploads, pushes, catalog imports and drafts
    admin: TestClient  # the authority's admin: departments
    resource_id: str
    department_id: str
    jurisdiction_id: str
    platform: Platform


def _api_login(client: TestClient, username: str) -> None:
    token = client.get("/api/v1/session/csrf").json()["csrf_token"]
    r = client.post(
        "/api/v1/session",
        json={"username": username, "password": DEMO_PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = client.get("/api/v1/session/csrf").json()["csrf_token"]


@pytest.fixture
def callers(demo_platform: Platform) -> Iterator[Callers]:
    city = City(demo_platform)
    resource_id = publish(city)
    app = create_app(platform=demo_platform)
    with (
        TestClient(app, base_url="http://testserver") as provider,
        TestClient(app, base_url="http://testserver") as admin,
    ):
        _api_login(provider, "ga_catalog")
        _api_login(admin, "admin")
        actor = city.actor("ga_catalog")
        with demo_platform.db.read() as conn:
            dept = identity_queries.get_department(conn, str(actor.department_id))
        yield Callers(provider, admin, resource_id, dept.id, dept.jurisdiction_id, demo_platform)


def _counts(platform: Platform) -> dict[str, int]:
    """Rows per table (run-time pool tables included), the audit trail left out: one query."""
    with platform.db.read() as conn:
        names = [n for n in inspect(conn).get_table_names() if not UNCOUNTED.match(n)]
        union = " UNION ALL ".join(f"SELECT '{n}' AS t, count(*) AS n FROM \"{n}\"" for n in names)
        return {str(t): int(n) for t, n in conn.execute(text(union)).all()}


def _payload(case: dict[str, Any], c: Callers) -> bytes:
    if "generate" in case:
        return bytes(_corpus_module().generate(case["generate"]))
    data = (BAD / case.get("reuse", case["file"])).read_bytes()
    return data.replace(b"__DEPT__", c.department_id.encode()).replace(
        b"__JURISDICTION__", c.jurisdiction_id.encode()
    )


def _send(case: dict[str, Any], c: Callers, data: bytes) -> Any:
    endpoint, name = case["endpoint"], case["file"]
    ctype = case.get("content_type")
    if endpoint in ("pool_upload", "catalog_import"):
        url = (
            f"/api/v1/pools/{c.resource_id}/upload"
            if endpoint == "pool_upload"
            else "/api/v1/catalog/import"
        )
        if ctype and not ctype.startswith("text/") and "ndjson" not in ctype:
            return c.provider.post(url, content=data, headers={"Content-Type": ctype})
        return c.provider.post(
            url, files={"file": (name, data, ctype or "application/octet-stream")}
        )
    headers = {"Content-Type": ctype or "application/json"}
    if endpoint == "pool_push":
        return c.provider.post(f"/api/v1/pools/{c.resource_id}/rows", content=data, headers=headers)
    if endpoint == "catalog_create":
        return c.provider.post("/api/v1/catalog/resources", content=data, headers=headers)
    assert endpoint == "department_create"
    return c.admin.post("/api/v1/departments", content=data, headers=headers)


def _check_reject(case: dict[str, Any], r: Any) -> list[str]:
    problems = []
    if r.status_code not in case["status"]:
        problems.append(f"status {r.status_code} not in {case['status']}: {r.text[:300]}")
        return problems
    error = r.json().get("error", {})
    if not (error.get("code") and error.get("message_zh") and error.get("message_en")):
        problems.append(f"error lacks code and messages: {r.text[:300]}")
    where = " ".join(
        str(x)
        for x in (
            error.get("field"),
            error.get("row"),
            *(d.get("field") for d in error.get("details", []) or []),
        )
        if x is not None
    )
    if case.get("field") and case["field"] not in where:
        problems.append(f"error does not name {case['field']!r}: {r.text[:300]}")
    if "rows" in case:
        rows = {e.get("row") for e in error.get("errors", [])}
        if not set(case["rows"]) <= rows:
            problems.append(f"errors name rows {sorted(rows, key=str)}, want {case['rows']}")
    return problems


def _check_quarantine(case: dict[str, Any], r: Any, c: Callers) -> list[str]:
    if r.status_code != 201:
        return [f"status {r.status_code}, want 201 with a quarantined row: {r.text[:300]}"]
    body = r.json()
    found = [
        e["field"]
        for rej in body["rejected"]
        if rej["row_no"] == case["row"]
        for e in rej["errors"]
    ]
    problems = [] if case["field"] in found else [f"row {case['row']} not rejected on field"]
    if case.get("formula"):
        q = c.provider.get(f"/api/v1/pools/batches/{body['id']}/quarantine.csv")
        cells = [cell for line in q.text.splitlines() for cell in line.split(",")]
        live = [cell for cell in cells if cell.strip('"').startswith(("=", "+", "@"))]
        if q.status_code != 200 or live:
            problems.append(f"quarantine download holds live formulas: {live}")
    return problems


@pytest.mark.req("SQ-16", "NX-29")
def test_every_bad_input_is_refused_cleanly(callers: Callers) -> None:
    c, problems, tried = callers, [], 0
    process = psutil.Process()
    for case in CORPUS:
        data = _payload(case, c)
        before = _counts(c.platform)
        rss = process.memory_info().rss
        r = _send(case, c, data)
        tried += 1
        after = _counts(c.platform)
        if case.get("bomb"):
            grown = process.memory_info().rss - rss
            if grown > MAX_RSS_GROWTH:
                problems.append(f"{case['file']}: RSS grew {grown >> 20} MiB")
        found = (
            _check_reject(case, r) if case["expect"] == "reject" else _check_quarantine(case, r, c)
        )
        changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
        if case["expect"] == "reject" and changed:
            found.append(f"stored something: {changed}")
        problems += [f"{case['file']} -> {case['endpoint']}: {p}" for p in found]
    assert tried >= 50
    assert not problems, "\n".join(problems)
    assert c.provider.get("/healthz").status_code == 200  # still serving


@pytest.mark.req("SQ-16")
def test_quarantined_values_never_reach_the_pool(callers: Callers) -> None:
    c = callers
    case = next(x for x in CORPUS if x["file"] == "id_sql_injection.csv")
    r = _send(case, c, _payload(case, c))
    assert r.status_code == 201 and r.json()["rows_loaded"] == 1
    with c.platform.db.read() as conn:
        pools = [n for n in inspect(conn).get_table_names() if n.startswith("pool_")]
        values = [
            str(v)
            for n in pools
            for row in conn.execute(text(f'SELECT * FROM "{n}"')).all()
            for v in row
        ]
        kept = conn.execute(select(func.count()).select_from(quarantine_row)).scalar_one()
    assert not [v for v in values if "OR '1'='1'" in v]
    assert kept == 1  # the bad row is kept with its reasons, outside the pool


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SQLI = "' OR 1=1; DROP TABLE catalog_resource; --"
PAYLOADS = [XSS, SQLI, "%' UNION SELECT password_hash FROM app_user --", "\\\x01\ufffd"]


def _search_urls(c: Callers) -> list[tuple[str, TestClient, tuple[int, ...]]]:
    """Every page and API that takes a search text or a filter, with a caller who may use it
    and the statuses it may answer (422: a filter value outside its enumeration)."""
    page, api = (200,), (200, 422)
    facets = "&".join(
        f"{k}={{p}}"
        for k in ("provider_department_id", "classification", "share_category", "update_cycle")
    )
    return [
        ("/catalog?q={p}", c.provider, page),
        ("/catalog?q={p}&" + facets, c.provider, page),
        ("/catalog/mine?q={p}", c.provider, page),
        ("/api/v1/catalog/resources?q={p}", c.provider, page),
        ("/api/v1/catalog/resources?provider_department_id={p}", c.provider, page),
        ("/api/v1/catalog/resources?q={p}&classification={p}", c.provider, api),
        ("/admin/users?q={p}", c.admin, page),
        ("/admin/departments?q={p}", c.admin, page),
        (
            "/audit?who={p}&department_id={p}&action={p}&object_type={p}&object_id={p}",
            c.admin,
            page,
        ),
        ("/audit?since={p}&until={p}", c.admin, (200, 422)),
        ("/conflicts?element={p}&department_id={p}&key={p}", c.admin, page),
        ("/conflicts?status={p}", c.admin, api),
        ("/api/v1/conflicts?element={p}", c.admin, page),
        ("/api/v1/conflicts?department_id={p}", c.admin, api),
        (f"/api/v1/pools/{c.resource_id}/batches?status={{p}}", c.provider, page),
        ("/notifications?q={p}", c.provider, page),
        ("/login?next={p}", c.provider, page),
    ]


def test_injection_through_search_boxes_and_filters_is_inert(callers: Callers) -> None:
    from urllib.parse import quote

    c = callers
    before = _counts(c.platform)
    for template, client, statuses in _search_urls(c):
        for payload in PAYLOADS:
            url = template.replace("{p}", quote(payload, safe=""))
            r = client.get(url, follow_redirects=False)
            assert r.status_code in statuses, (url, r.status_code, r.text[:300])
            assert "<script>alert" not in r.text, url  # escaped wherever it is shown
            assert "<img src=x" not in r.text, url
    assert _counts(c.platform) == before  # nothing dropped, nothing added


def test_injection_through_free_text_fields_is_stored_and_shown_escaped(callers: Callers) -> None:
    c = callers
    r = c.provider.post(
        "/api/v1/catalog/resources",
        json={
            "name": XSS,
            "classification": "department",
            "provider_department_id": c.department_id,
            "summary": SQLI,
            "tags": [XSS],
            "data_items": [{"name": XSS[:90], "code": "name", "type": "string", "length": 50}],
        },
    )
    assert r.status_code == 201, r.text
    version = r.json()
    assert version["entry"]["name"] == XSS and version["entry"]["summary"] == SQLI  # as given
    for url in (
        f"/catalog/versions/{version['id']}",
        f"/catalog/resources/{version['resource_id']}",
        "/catalog/mine",
        f"/catalog/mine?q={XSS[:20]}",
    ):
        page = c.provider.get(url)
        assert page.status_code == 200, url
        assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text, url
    with c.platform.db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM resource")).scalar_one() >= 1
