"""The demo data `govshare demo` loads (issue 4 §7): the base resources of the demo catalog
filled through the ingest service with synthetic but valid residents, enterprises,
licences and credit records, plus a 人社局 resource that disagrees with the 公安局 on a
few names (the cross-source conflicts the coordination view shows).

The demo city with its catalog (``catalog_demo``) is copied once per backend and filled
with a scaled-down city (3,000 residents; `govshare demo` loads 100,000 with the same
code); the tests only read it, except the re-run, which must change nothing. The full-size
generator is checked without a database (ids unique and valid across 100,000 people).
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from govshare.aggregation.model import BatchSource, BatchStatus
from govshare.aggregation.pools import active_pool
from govshare.aggregation.tables import ingest_batch
from govshare.audit.queries import AuditFilter, list_entries
from govshare.audit.tables import audit_entry
from govshare.catalog.model import Classification
from govshare.demo import data as demo_data
from govshare.demo.data import LOADS, DataSize, DemoDataError, LoadReport, World, seed_demo_data
from govshare.demo.entities import enterprises
from govshare.demo.population import COUNTIES, DEMO_TODAY, SURNAMES, people
from govshare.identity import queries as identity_queries
from govshare.kernel.identifiers import validate_id_card, validate_uscc
from govshare.storage.engine import Database
from tests.conftest import _pg_admin, _pg_url

SIZE = DataSize.scaled(3_000)
AREAS = {code: name for code, name, _ in COUNTIES}


class Filled:
    def __init__(self, db: Database, reports: list[LoadReport], seconds: float) -> None:
        self.db, self.reports, self.seconds = db, reports, seconds
        self.by_name = {r.resource: r for r in reports}

    def rows(self, resource: str, *columns: str) -> list[Any]:
        with self.db.read() as conn:
            pool = active_pool(conn, self.by_name[resource].resource_id)
            assert pool is not None
            t = pool.table()
            return list(conn.execute(select(*(t.c[c] for c in columns))).all())


@pytest.fixture(scope="module")
def filled(
    catalog_demo: tuple[str, Any, float], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Filled]:
    """A copy of the catalog demo city, filled with the scaled-down demo data."""
    url = catalog_demo[0]
    if url.startswith("sqlite"):
        path = tmp_path_factory.mktemp("demo_data") / "demo.db"
        source = make_url(url).database
        assert source
        shutil.copyfile(source, path)
        copy, drop = f"sqlite:///{path}", None
    else:
        name = f"gs_data_{uuid.uuid4().hex[:10]}"
        with _pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"')
        copy, drop = _pg_url(name), name
    db = Database(copy)
    started = time.perf_counter()
    reports = seed_demo_data(db, size=SIZE)
    seconds = time.perf_counter() - started
    try:
        yield Filled(db, reports, seconds)
    finally:
        db.dispose()
        if drop:
            with _pg_admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')


@pytest.mark.req("SQ-5.2", "HB-8.2", "SQ-25")
def test_demo_fills_the_base_resources_through_the_ingest_service(filled: Filled) -> None:
    print(f"\ndemo data for {SIZE.people} residents: {filled.seconds:.1f} s")
    assert [(r.department, r.resource) for r in filled.reports] == [
        (load.department, load.resource) for load in LOADS
    ]
    with filled.db.read() as conn:
        depts = {d.id: d.short_name for d in identity_queries.list_departments(conn)}
        batches = {
            r.resource_id: r for r in conn.execute(select(ingest_batch)).all()
        }  # one batch per resource
        kinds = set()
        for report in filled.reports:
            assert not report.duplicate and report.rejected == 0
            assert report.loaded == report.rows > 0, report.resource
            b = batches[report.resource_id]
            assert b.status == BatchStatus.LOADED.value and b.source == BatchSource.CONNECTOR
            assert depts[b.department_id] == report.department
            load = next(x for x in LOADS if x.resource == report.resource)
            assert b.actor_name == load.username  # the provider's own user loaded it
            pool = active_pool(conn, report.resource_id)
            assert pool is not None
            assert conn.execute(select(func.count()).select_from(pool.table())).scalar_one() == (
                report.loaded
            )
            actions = {e.action for e in list_entries(conn, AuditFilter(object_id=b.id)).entries}
            assert {"collect", "clean"} <= actions
            version = demo_data.find_resource(filled.db, report.department, report.resource)
            if report.department != "人社局":
                assert version.entry.classification is Classification.BASE
                kinds.add(version.entry.base_kind)
    # 人口, 法人, 电子证照, 社会信用 (自然资源和空间地理 has no synthetic data)
    assert {k.value for k in kinds if k} == {"population", "legal_entity", "licence", "credit"}
    sizes = {r.resource: r.loaded for r in filled.reports}
    assert sizes["人口基础信息"] == SIZE.people
    assert sizes["企业登记基本信息"] == SIZE.enterprises
    assert sizes["社会保险参保信息"] == SIZE.insured


def test_residents_have_valid_unique_ids_realistic_names_and_city_addresses(
    filled: Filled,
) -> None:
    rows = filled.rows(
        "人口基础信息", "name", "id_card", "gender", "birth_date", "household_address"
    )
    assert len({r.id_card for r in rows}) == len(rows) == SIZE.people
    surnames = {s for s, _ in SURNAMES}
    for r in rows:
        assert validate_id_card(r.id_card) == r.id_card  # GB 11643: area, date, check digit
        assert r.id_card[:6] in AREAS
        assert r.id_card[6:14] == f"{r.birth_date:%Y%m%d}" and r.birth_date <= DEMO_TODAY
        assert int(r.id_card[16]) % 2 == (1 if r.gender == "1" else 0)  # odd: male
        assert r.name[:1] in surnames or r.name[:2] in surnames
        assert 2 <= len(r.name) <= 4
        assert r.household_address.startswith("江苏省宿迁市" + AREAS[r.id_card[:6]])
        assert r.household_address.endswith(("号", "室"))
    # every county and both sexes, a spread of ages
    assert {r.id_card[:6] for r in rows} == set(AREAS)
    assert {r.gender for r in rows} == {"1", "2"}
    assert min(r.birth_date for r in rows).year < 1945 < 2015 < max(r.birth_date for r in rows).year
    newcomers = filled.rows("流动人口居住登记信息", "id_card", "phone")
    for r in newcomers:
        assert validate_id_card(r.id_card) and r.id_card[:6] not in AREAS  # from elsewhere
        assert len(r.phone) == 11 and r.phone.startswith("1")


def test_legal_entities_licences_and_credit_are_keyed_by_valid_usccs(filled: Filled) -> None:
    firms = filled.rows("企业登记基本信息", "uscc", "enterprise_name", "legal_rep_name")
    shops = filled.rows("个体工商户登记信息", "uscc")
    assert len({f.uscc for f in firms}) == len(firms) == SIZE.enterprises
    for f in firms:
        assert validate_uscc(f.uscc) == f.uscc and f.uscc.startswith("91")  # 市场监管, 企业
        assert f.enterprise_name.endswith("公司")
    assert all(validate_uscc(s.uscc) and s.uscc.startswith("92") for s in shops)  # 个体工商户
    residents = {r.name for r in filled.rows("人口基础信息", "name")}
    assert {f.legal_rep_name for f in firms} <= residents
    names = {f.uscc: f.enterprise_name for f in firms}
    licences = filled.rows("营业执照电子证照", "uscc", "enterprise_name", "licence_no")
    assert licences and all(names[x.uscc] == x.enterprise_name for x in licences)
    assert all(x.uscc in x.licence_no for x in licences)
    index = filled.rows("电子证照目录信息", "holder_code", "licence_no")
    assert {x.licence_no for x in licences} <= {x.licence_no for x in index}
    credit = filled.rows("法人公共信用综合评价信息", "uscc", "credit_rating")
    assert {c.uscc for c in credit} == set(names)
    assert {c.credit_rating for c in credit} <= set("ABCD")
    people_credit = filled.rows("自然人公共信用信息", "id_card", "name")
    by_id = dict(filled.rows("人口基础信息", "id_card", "name"))
    assert people_credit and all(by_id[p.id_card] == p.name for p in people_credit)


def test_social_insurance_disagrees_with_the_police_on_exactly_the_planted_names(
    filled: Filled,
) -> None:
    police = dict(filled.rows("人口基础信息", "id_card", "name"))
    insured = filled.rows("社会保险参保信息", "id_card", "name", "uscc")
    firms = {f.uscc for f in filled.rows("企业登记基本信息", "uscc")}
    assert all(r.id_card in police and r.uscc in firms for r in insured)
    differing = {
        (r.id_card, police[r.id_card], r.name) for r in insured if police[r.id_card] != r.name
    }
    planted = demo_data.conflicts(SIZE)
    assert len(planted) == SIZE.conflicts == 10
    assert differing == {(c.id_card, c.police_name, c.other_name) for c in planted}
    for c in planted:  # a realistic misspelling: same length, same surname
        assert len(c.other_name) == len(c.police_name) and c.other_name[0] == c.police_name[0]


def test_running_the_demo_data_again_changes_nothing(filled: Filled) -> None:
    def state() -> tuple[int, int]:
        with filled.db.read() as conn:
            return (
                int(conn.execute(select(func.count()).select_from(audit_entry)).scalar_one()),
                int(conn.execute(select(func.count()).select_from(ingest_batch)).scalar_one()),
            )

    before = state()
    again = seed_demo_data(filled.db, size=SIZE)
    assert all(r.duplicate for r in again)  # the ingest service says so, per resource
    assert [r.loaded for r in again] == [r.loaded for r in filled.reports]
    assert state() == before


def test_a_missing_resource_or_an_unfillable_item_fails_loudly(filled: Filled) -> None:
    with pytest.raises(DemoDataError, match="公安局/人口基础信息（旧）"):
        demo_data.find_resource(filled.db, "公安局", "人口基础信息（旧）")
    version = demo_data.find_resource(filled.db, "公安局", "人口基础信息")
    load = replace(LOADS[0], facts=lambda w: iter([{"name": "张三"}]))
    rows = demo_data._rows(load, version, World(SIZE, 1))
    with pytest.raises(DemoDataError, match="id_card"):
        list(rows())


def test_the_full_size_city_is_deterministic_and_its_ids_unique() -> None:
    full = DataSize()
    assert full.people >= 100_000
    ids = set()
    first = []
    for p in people(full.people):
        ids.add(p.id_card)
        if p.index < 50:
            first.append(p)
    assert len(ids) == full.people  # unique across the 100,000
    assert [p.id_card for p in people(50)] == [p.id_card for p in first]  # same every run
    for p in first:
        assert validate_id_card(p.id_card) == p.id_card
    firms = list(enterprises(full.enterprises, first))
    assert len({f.uscc for f in firms}) == full.enterprises
    assert len({f.name for f in firms}) == full.enterprises
