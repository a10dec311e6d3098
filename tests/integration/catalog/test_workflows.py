"""Catalog workflows at the service level, on both databases: the audited lifecycle,
numbered releases and their filing, demand and duty lists, Chinese search with facets."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from govshare.catalog import collection, queries, services, upkeep
from govshare.catalog.model import (
    DataItemInput,
    DeliveryMode,
    FormatCategory,
    ItemType,
    ReviewDecision,
    ShareCategory,
    UpdateCycle,
    VersionState,
)
from govshare.catalog.queries import SearchQuery, search_catalog
from govshare.catalog.search import match_sql, relevance
from govshare.catalog.tables import catalog_release
from govshare.identity.model import JurisdictionLevel
from govshare.kernel.errors import Conflict, Forbidden, ValidationFailed
from tests.integration.catalog.conftest import City
from tests.integration.catalog.test_rules import (
    SYSTEM,
    add_region,
    audit_actions,
    clock_at,
    full_entry,
    publish,
    today,
)


def test_every_lifecycle_transition_is_audited(city: City) -> None:
    cat, admin = city.actor("ga_catalog"), city.actor("admin")
    v = services.create_draft(city.db, city.profiles, city.entry(name="户籍迁移信息"), actor=cat)
    rid = v.resource_id
    v = services.update_draft(
        city.db, city.profiles, v.id, replace(v.entry, timeliness="T+0"), actor=cat
    )
    services.submit(city.db, city.profiles, v.id, actor=cat)
    services.review(city.db, v.id, ReviewDecision.RETURN, actor=admin, comment="请补充摘要")
    services.update_draft(city.db, city.profiles, v.id, v.entry, actor=cat)
    services.submit(city.db, city.profiles, v.id, actor=cat)
    services.review(city.db, v.id, ReviewDecision.APPROVE, actor=admin)
    v2 = services.start_revision(city.db, rid, actor=cat)
    services.submit(city.db, city.profiles, v2.id, actor=cat)
    services.review(city.db, v2.id, ReviewDecision.APPROVE, actor=admin)
    services.retire(city.db, city.profiles, rid, actor=cat, reason="职能划转")
    services.complete_retirements(city.db, actor=SYSTEM, today=date(2099, 1, 1))
    assert audit_actions(city, v.id) == ["update", "submit", "return", "update", "submit"]
    assert audit_actions(city, v2.id) == ["create", "submit"]
    assert audit_actions(city, rid) == ["create", "publish", "publish", "retire", "destroy"]
    with city.db.read() as conn:
        hist = queries.history(conn, rid)
    assert [(h.version_no, h.state) for h in hist] == [
        (2, VersionState.PUBLISHED),
        (1, VersionState.SUPERSEDED),
    ]


# Releases ----------------------------------------------------------------------------
def _release(city: City, release_id: str) -> tuple[int, list[list[object]], str, str]:
    with city.db.read() as conn:
        row = conn.execute(select(catalog_release).where(catalog_release.c.id == release_id)).one()
    return row.number, json.loads(row.entries), row.sha256, row.filed_with


@pytest.mark.req("SZ-8")
def test_the_unified_catalog_is_released_numbered_kept_and_filed(city: City) -> None:
    sz = add_region(city, "shuozhou", "140600")
    a = publish(city, sz.cat, sz.admin, full_entry(city, sz.dept_id, name="户籍人口信息"))
    with pytest.raises(Forbidden):  # the authority compiles the catalog, not a department
        upkeep.publish_release(city.db, actor=sz.cat, jurisdiction_id=sz.jurisdiction_id, title="")
    first = upkeep.publish_release(
        city.db, actor=sz.admin, jurisdiction_id=sz.jurisdiction_id, title=""
    )
    number, entries, digest, _ = _release(city, first)
    assert (number, entries) == (1, [[a.code, 1]])
    with pytest.raises(ValidationFailed):
        upkeep.file_release(city.db, first, actor=sz.admin, filed_with="", filing_ref="")
    upkeep.file_release(
        city.db, first, actor=sz.admin, filed_with="山西省政务数据共享平台", filing_ref="晋数备1号"
    )
    with pytest.raises(Conflict):
        upkeep.file_release(city.db, first, actor=sz.admin, filed_with="x", filing_ref="y")
    # the catalog is updated dynamically; the next release is numbered 2, the first is kept
    v2 = services.start_revision(city.db, a.resource_id, actor=sz.cat)
    services.submit(city.db, city.profiles, v2.id, actor=sz.cat)
    services.review(city.db, v2.id, ReviewDecision.APPROVE, actor=sz.admin)
    b = publish(city, sz.cat2, sz.admin, full_entry(city, sz.dept2_id, name="出生医学证明信息"))
    second = upkeep.publish_release(
        city.db, actor=sz.admin, jurisdiction_id=sz.jurisdiction_id, title="第二版"
    )
    assert _release(city, second)[:2] == (2, sorted([[a.code, 2], [b.code, 1]]))
    assert _release(city, first) == (1, [[a.code, 1]], digest, "山西省政务数据共享平台")
    with city.db.read() as conn:
        listed = queries.list_releases(conn, sz.jurisdiction_id)
    assert [(r.number, r.title, r.filed_at is not None) for r in listed] == [
        (2, "第二版", False),
        (1, "政务信息资源目录（第1版）", True),
    ]
    assert audit_actions(city, first) == ["publish", "file"]
    assert audit_actions(city, second) == ["publish"]


@pytest.mark.req("NX-18", "NX-20")
def test_county_catalogs_are_reviewed_merged_and_submitted_to_the_city(city: City) -> None:
    nanyang = add_region(city, "neixiang", "411300")
    county = add_region(city, "neixiang", "411325", level=JurisdictionLevel.COUNTY, parent=nanyang)
    # NX-18: the county authority reviews its departments' entries
    v = services.create_draft(
        city.db,
        city.profiles,
        full_entry(city, county.dept_id, name="县域户籍信息"),
        actor=county.cat,
    )
    services.submit(city.db, city.profiles, v.id, actor=county.cat)
    c = services.review(city.db, v.id, ReviewDecision.APPROVE, actor=county.admin)
    with pytest.raises(Forbidden):  # a county authority does not govern the city
        upkeep.publish_release(
            city.db, actor=county.admin, jurisdiction_id=nanyang.jurisdiction_id, title=""
        )
    county_list = upkeep.publish_release(
        city.db, actor=county.admin, jurisdiction_id=county.jurisdiction_id, title="县目录清单"
    )
    # NX-20: submitted to the city authority, which merges it into the city catalog
    upkeep.file_release(
        city.db, county_list, actor=county.admin, filed_with="南阳市数据局", filing_ref="内数报1号"
    )
    m = publish(
        city, nanyang.cat, nanyang.admin, full_entry(city, nanyang.dept_id, name="市级户籍信息")
    )
    city_list = upkeep.publish_release(
        city.db, actor=nanyang.admin, jurisdiction_id=nanyang.jurisdiction_id, title=""
    )
    assert _release(city, county_list)[1] == [[c.code, 1]]
    assert _release(city, county_list)[3] == "南阳市数据局"
    assert _release(city, city_list)[1] == sorted([[c.code, 1], [m.code, 1]])
    assert audit_actions(city, county_list) == ["publish", "file"]


# Demand and duty lists ---------------------------------------------------------------
QUALIFICATION = (
    DataItemInput(name="建筑业企业资质证书编号", code="qualification_no", length=30),
    DataItemInput(name="建筑业企业资质等级", code="qualification_grade", length=20),
)
NOISE = (DataItemInput(name="施工噪声监测值", code="noise_db", type=ItemType.DECIMAL),)


@pytest.mark.parametrize(
    ("profile", "code"),
    [
        pytest.param("neixiang", "411300", marks=pytest.mark.req("NX-19", "NX-21")),
        pytest.param("yixing", "320282", marks=pytest.mark.req("YX-19")),
    ],
)
def test_a_demand_is_matched_or_becomes_a_fulfilled_duty(
    city: City, profile: str, code: str
) -> None:
    r = add_region(city, profile, code)
    producer, consumer, authority = r.cat, r.cat2, r.admin
    qual = publish(
        city,
        producer,
        authority,
        full_entry(city, r.dept_id, name="建筑业企业资质信息", data_items=QUALIFICATION),
    )
    # the consumer files its demand; the platform suggests what is already published
    met = collection.file_demand(
        city.db,
        actor=consumer,
        consumer_department_id=r.dept2_id,
        title="招投标资格审查",
        duty_text="依法审查投标人资质",
        items=["建筑业企业资质证书编号", "建筑业企业资质等级 "],
    )
    with city.db.read() as conn:
        d = queries.get_demand(conn, met)
        suggested = queries.suggest_for_demand(conn, d)
    assert [(s.code, s.items) for s in suggested] == [
        (qual.code, ("建筑业企业资质等级", "建筑业企业资质证书编号"))
    ]
    collection.match_demand(city.db, met, qual.resource_id, actor=consumer)
    # an unmet demand: the authority turns it into the producer's duty, with a due date
    unmet = collection.file_demand(
        city.db,
        actor=consumer,
        consumer_department_id=r.dept2_id,
        title="夜间施工审批",
        duty_text="夜间施工许可",
        items=["施工噪声监测值"],
    )
    with city.db.read() as conn:
        assert queries.suggest_for_demand(conn, queries.get_demand(conn, unmet)) == []
        # the authority's demand list gathers its departments' demands
        assert {x.id for x in queries.list_demands(conn, {r.dept_id, r.dept2_id})} == {met, unmet}
    with pytest.raises(Forbidden):
        collection.assign_duty(
            city.db,
            actor=consumer,
            producer_department_id=r.dept_id,
            title="x",
            items=["x"],
            due_on=date(2099, 1, 1),
        )
    with clock_at(date(2025, 3, 3)):
        with pytest.raises(ValidationFailed):
            collection.assign_duty(
                city.db,
                actor=authority,
                producer_department_id=r.dept_id,
                title="采集施工噪声监测值",
                items=["施工噪声监测值"],
                due_on=today() - timedelta(days=1),
                demand_id=unmet,
            )
        duty_id = collection.assign_duty(
            city.db,
            actor=authority,
            producer_department_id=r.dept_id,
            title="采集施工噪声监测值",
            items=["施工噪声监测值"],
            due_on=date(2025, 3, 31),
            demand_id=unmet,
        )
    with city.db.read() as conn:
        (duty,) = queries.list_duties(conn, {r.dept_id})
        assert queries.get_demand(conn, unmet).status == "assigned"
    assert duty.id == duty_id and duty.status == "assigned"
    assert not duty.overdue(date(2025, 3, 31)) and duty.overdue(date(2025, 4, 1))
    noise = publish(
        city,
        producer,
        authority,
        full_entry(city, r.dept_id, name="施工噪声监测信息", data_items=NOISE),
    )
    other = publish(
        city,
        consumer,
        authority,
        full_entry(city, r.dept2_id, name="医疗噪声信息", data_items=NOISE),
    )
    with pytest.raises(ValidationFailed):  # with the producer's own resource only
        collection.fulfil_duty(city.db, duty_id, other.resource_id, actor=producer)
    collection.fulfil_duty(city.db, duty_id, noise.resource_id, actor=producer)
    with city.db.read() as conn:
        (duty,) = queries.list_duties(conn, {r.dept_id})
        demands = {x.id: (x.status, x.matched_resource_id) for x in queries.list_demands(conn)}
    assert (duty.status, duty.resource_id) == ("fulfilled", noise.resource_id)
    assert not duty.overdue(date(2099, 1, 1))
    assert demands[met] == ("matched", qual.resource_id)
    assert demands[unmet] == ("fulfilled", noise.resource_id)
    assert audit_actions(city, met) == ["create", "update"]
    assert audit_actions(city, duty_id) == ["assign", "fulfil"]


# Search ------------------------------------------------------------------------------
@pytest.mark.req("SQ-14", "SZ-6")
def test_chinese_search_with_facets_and_exact_names_first(city: City) -> None:
    r = add_region(city, "suqian", "321399")

    def pub(name: str, **changes: object) -> str:
        v = publish(city, r.cat, r.admin, full_entry(city, r.dept_id, name=name, **changes))
        return v.resource_id

    people = pub("人口基础信息", summary="全市户籍人口和常住人口")
    resident = pub(
        "常住人口信息统计",
        summary="人口信息：常住人口、流动人口、人口变动",
        update_cycle=UpdateCycle.YEARLY,
        format_category=FormatCategory.DOCUMENT,
        delivery_modes=(DeliveryMode.FILE,),
    )
    social = pub(
        "社保缴费记录",
        summary="参保单位和个人的缴费明细",
        share_category=ShareCategory.CONDITIONAL,
        share_conditions="仅限社会保障业务",
        format_category=FormatCategory.SPREADSHEET,
        delivery_modes=(DeliveryMode.BATCH,),
        data_items=(DataItemInput(name="缴费基数", code="base_amount", type=ItemType.DECIMAL),),
    )

    def search(**kw: object) -> queries.SearchResult:
        with city.db.read() as conn:
            return search_catalog(conn, SearchQuery(provider_department_id=r.dept_id, **kw))  # type: ignore[arg-type]

    # two-character words match, in names, summaries and data items
    assert {h.resource_id for h in search(q="人口").hits} == {people, resident}
    assert [h.resource_id for h in search(q="社保").hits] == [social]
    assert [h.resource_id for h in search(q="缴费基数").hits] == [social]
    assert search(q="不存在的词汇组合").total == 0
    # the exact name ranks first, ahead of entries that repeat the words more often
    exact = pub("人口信息", summary="数据汇总")
    louder = pub(
        "人口信息（流动人口信息、户籍人口信息）", summary="人口信息汇总：流动人口信息、户籍人口信息"
    )
    with city.db.read() as conn:  # by relevance alone, the louder entry would come first
        match = match_sql(conn, "人口信息")
        assert match is not None
        scores = relevance(conn, match)
    assert max(scores, key=lambda r: scores[r]) == louder
    ranked = [h.resource_id for h in search(q="人口信息").hits]
    assert ranked[:2] == [exact, louder] and set(ranked) == {exact, louder, people, resident}
    # facets count the matching entries
    everything = search()
    assert everything.total == 5
    assert everything.facets["share_category"] == {"unconditional": 4, "conditional": 1}
    assert everything.facets["format_category"] == {
        "database": 3,
        "document": 1,
        "spreadsheet": 1,
    }
    assert everything.facets["update_cycle"] == {"daily": 4, "yearly": 1}
    assert everything.facets["delivery_mode"] == {"query": 3, "verify": 3, "file": 1, "batch": 1}
    assert everything.facets["provider_department_id"] == {r.dept_id: 5}
    assert everything.facets["classification"] == {"department": 5}
    narrowed = search(q="人口", delivery_mode="file")
    assert [h.resource_id for h in narrowed.hits] == [resident]
    assert narrowed.facets["delivery_mode"] == {"file": 1}
    assert [h.resource_id for h in search(share_category="conditional").hits] == [social]
    paged = search(page=2, page_size=3)
    assert (paged.total, len(paged.hits), paged.pages) == (5, 2, 2)
