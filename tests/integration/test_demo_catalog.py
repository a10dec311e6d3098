"""The demo catalog that `govshare demo` seeds: ~220 published resources of the Suqian
departments, written through the catalog services (draft → submit → review).

The city with its catalog is seeded once per backend (``catalog_demo`` in conftest) and
only read here; the idempotency test runs the seed again and checks nothing moved.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from govshare.audit.tables import audit_entry
from govshare.catalog import queries
from govshare.catalog.model import (
    BaseKind,
    Classification,
    IdentifierKind,
    OpenCategory,
    ResourceVersion,
    ShareCategory,
)
from govshare.catalog.tables import catalog_entry
from govshare.catalog.validation import check_entry
from govshare.demo.catalog import build_entry, seed_demo_catalog
from govshare.demo.catalog_data import SPECS
from govshare.demo.seed import seed_demo
from govshare.identity import queries as identity_queries
from govshare.kernel.actor import Actor
from govshare.rules import RuleProfile, load_profiles
from govshare.storage.engine import Database

PROFILES = load_profiles()
SUQIAN = PROFILES["suqian"]
BASE_BUILDERS = {  # SQ-7: each base database's catalog is compiled by its lead builder
    BaseKind.POPULATION: "公安局",
    BaseKind.LEGAL_ENTITY: "市场监管局",
    BaseKind.GEO: "自然资源和规划局",
    BaseKind.LICENCE: "行政审批局",
    BaseKind.CREDIT: "信用办",
}


@pytest.fixture
def catalog_db(catalog_demo: tuple[str, Any, float]) -> Iterator[Database]:
    database = Database(catalog_demo[0])
    yield database
    database.dispose()


def _published(db: Database) -> list[ResourceVersion]:
    with db.read() as conn:
        ids = conn.execute(select(catalog_entry.c.version_id)).scalars().all()
        return [queries.get_version(conn, vid) for vid in ids]


def _short_names(db: Database) -> dict[str, str]:
    with db.read() as conn:
        return {d.id: d.short_name for d in identity_queries.list_departments(conn)}


def _audit_count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_entry)).scalar_one())


def test_demo_seeds_over_200_published_resources_of_every_department(
    catalog_demo: tuple[str, Any, float], catalog_db: Database
) -> None:
    _, summary, seconds = catalog_demo
    published = _published(catalog_db)
    assert summary.created and summary.resources == len(published) == len(SPECS) >= 200
    assert all(v.state.value == "published" and v.reviewed_by == "admin" for v in published)
    names = _short_names(catalog_db)
    providers = {names[v.entry.provider_department_id] for v in published}
    city_depts = {n for n in names.values() if not n.startswith(("沭阳", "泗阳", "信息中心"))}
    assert city_depts <= providers  # every city department has a catalog
    assert {"沭阳公安局", "泗阳人社局"} <= providers  # and the county catalogs (SQ-8)
    # one resource per (department, name); each has a distinct stable code
    assert len({(v.entry.provider_department_id, v.entry.name) for v in published}) == len(
        published
    )
    assert len({v.code for v in published}) == len(published)
    print(f"\ndemo seed with catalog: {seconds:.1f} s")


def test_every_step_of_every_entry_is_audited(catalog_db: Database) -> None:
    published = _published(catalog_db)
    with catalog_db.read() as conn:
        rows = conn.execute(
            select(audit_entry.c.action, audit_entry.c.object_type, audit_entry.c.object_id)
        ).all()
    created = {r.object_id for r in rows if (r.action, r.object_type) == ("create", "resource")}
    submitted = {
        r.object_id for r in rows if (r.action, r.object_type) == ("submit", "resource_version")
    }
    approved = {r.object_id for r in rows if (r.action, r.object_type) == ("publish", "resource")}
    for v in published:
        assert v.resource_id in created and v.id in submitted and v.resource_id in approved


@pytest.mark.req("SQ-9", "SZ-13", "HB-7", "NX-36")
def test_all_three_share_categories_are_present_and_valid(catalog_db: Database) -> None:
    published = _published(catalog_db)
    by_share: dict[ShareCategory | None, list[ResourceVersion]] = {}
    for v in published:
        by_share.setdefault(v.entry.share_category, []).append(v)
    assert set(by_share) == set(ShareCategory)
    assert all(len(vs) >= 5 for vs in by_share.values())
    for v in by_share[ShareCategory.NOT_SHARED]:
        e = v.entry
        assert e.share_basis_type in SUQIAN.classification.basis.accepted_types
        assert e.share_basis_text and e.share_basis_ref and e.not_shared_reasons
        assert "主要负责人审签" in e.head_sign_off and v.reviewed_by == "admin"
        assert e.delivery_modes == () and e.open_category is OpenCategory.CLOSED
    for v in by_share[ShareCategory.CONDITIONAL]:
        assert v.entry.share_conditions.strip() and v.entry.share_conditions != "无"
    # The same entries satisfy the share-category rules of the other three-category
    # measures: SZ-13.3 (reasons and a basis), HB-8.1 / NX-37.1 (the accepted bases, and
    # NX's basis for conditional sharing too).
    share_fields = ("share_category", "share_basis", "not_shared_reasons", "head_sign_off")
    for name in ("shuozhou", "hubei", "neixiang"):
        profile: RuleProfile = PROFILES[name]
        assert set(profile.share_categories) == set(ShareCategory)
        for v in published:
            problems = check_entry(v.entry, profile, complete=True)
            assert [p.code for p in problems if p.field.startswith(share_fields)] == [], (
                name,
                v.entry.name,
            )


def test_every_classification_and_open_category_is_present(catalog_db: Database) -> None:
    published = _published(catalog_db)
    assert {v.entry.classification for v in published} == set(Classification)
    assert {v.entry.open_category for v in published} == set(OpenCategory)
    for v in published:
        if v.entry.open_category is OpenCategory.OPEN_ON_REQUEST:
            assert v.entry.open_conditions.strip()
        if v.entry.classification is Classification.THEME:
            assert v.entry.theme
    themes = {v.entry.theme for v in published}
    assert {"社会保障", "市场监管", "安全生产"} <= themes


@pytest.mark.req("SQ-10.2")
def test_base_resources_are_unconditional_and_built_by_their_lead_departments(
    catalog_db: Database,
) -> None:
    names = _short_names(catalog_db)
    base = [v for v in _published(catalog_db) if v.entry.classification is Classification.BASE]
    assert {v.entry.base_kind for v in base} == set(BASE_BUILDERS)
    for v in base:
        assert v.entry.share_category is ShareCategory.UNCONDITIONAL, v.entry.name
        assert names[v.entry.provider_department_id] == BASE_BUILDERS[v.entry.base_kind]
        assert any(i.base_item for i in v.entry.data_items)


def test_every_entry_passes_complete_validation_with_realistic_items(catalog_db: Database) -> None:
    items = {}
    for v in _published(catalog_db):
        assert check_entry(v.entry, SUQIAN, complete=True) == [], v.entry.name
        assert v.entry.confidentiality_review and v.entry.single_source_justification
        for i in v.entry.data_items:
            items[i.name] = i
    assert items["公民身份号码"].identifier is IdentifierKind.ID_CARD
    assert items["公民身份号码"].sensitivity == "id_card"
    assert items["统一社会信用代码"].identifier is IdentifierKind.USCC
    assert items["注册资本"].type.value == "decimal"
    assert items["成立日期"].type.value == "date"
    assert items["参保状态"].type.value == "code" and items["参保状态"].code_list
    assert {"姓名", "企业名称", "法定代表人姓名", "地址", "联系电话", "社保缴费基数"} <= set(items)
    assert {"不动产单元号", "学籍号", "出生医学证明编号"} <= set(items)
    assert {i.sensitivity for i in items.values()} >= {"name", "id_card", "mobile", "address"}


def test_search_finds_population_and_social_insurance_entries(catalog_db: Database) -> None:
    with catalog_db.read() as conn:
        population = queries.search_catalog(conn, queries.SearchQuery(q="人口", page_size=100))
        social = queries.search_catalog(conn, queries.SearchQuery(q="社保", page_size=100))
    assert population.total >= 5
    assert {"人口基础信息", "流动人口居住登记信息"} <= {h.name for h in population.hits}
    assert social.total >= 5
    assert {"社会保险参保信息", "社会保险缴费信息"} <= {h.name for h in social.hits}


def test_entries_are_built_deterministically() -> None:
    assert [build_entry(s, "d") for s in SPECS] == [build_entry(s, "d") for s in SPECS]


def test_seeding_twice_changes_nothing(catalog_db: Database) -> None:
    before = (_audit_count(catalog_db), len(_published(catalog_db)))
    summary = seed_demo(catalog_db, known_profiles=set(PROFILES), profiles=PROFILES)
    assert not summary.created and summary.resources == before[1]
    # the catalog seed on its own also skips what exists
    assert seed_demo_catalog(catalog_db, PROFILES, reviewer=Actor.system("test")) == 0
    assert (_audit_count(catalog_db), len(_published(catalog_db))) == before
