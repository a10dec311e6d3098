"""Quality per resource and per department (NX-31) and freshness against the update cycle:
a resource not updated on time is flagged overdue (未按时限更新; NX-72, SQ-20, HB-17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from govshare.aggregation import ingest
from govshare.aggregation import queries as agg_queries
from govshare.aggregation.queries import freshness
from govshare.catalog.model import UpdateCycle
from govshare.kernel.clock import set_clock, utcnow
from tests.integration.aggregation.conftest import id_card, publish
from tests.integration.catalog.conftest import City


def _push(city: City, resource_id: str, key: str, rows: list[dict[str, str]]) -> None:
    ingest.push_rows(
        city.db, resource_id, rows, [], actor=city.actor("ga_catalog"), idempotency_key=key
    )


def _freshness(city: City, at: datetime) -> dict[str, agg_queries.Freshness]:
    set_clock(lambda: at)
    with city.db.read() as conn:
        pools = agg_queries.resource_pools(
            conn, department_ids={city.depts["公安局"].id}, profiles=city.profiles
        )
    return {p.name: p.freshness for p in pools}


@pytest.mark.req("NX-72", "SQ-20", "HB-17")
def test_overdue_once_the_update_cycle_has_passed(city: City) -> None:
    publish(city, "每日更新人口信息")  # the default entry is updated daily
    publish(city, "每周更新人口信息", update_cycle=UpdateCycle.WEEKLY)
    publish(city, "不定期更新人口信息", update_cycle=UpdateCycle.IRREGULAR)
    publish(city, "从未汇聚的人口信息")  # daily, never loaded: counts from publication
    with city.db.read() as conn:
        ids = {
            p.name: p.resource_id
            for p in agg_queries.resource_pools(conn, department_ids={city.depts["公安局"].id})
        }
    start = utcnow()
    row = [{"姓名": "张三", "公民身份号码": id_card(seq=701)}]
    for name in ("每日更新人口信息", "每周更新人口信息", "不定期更新人口信息"):
        _push(city, ids[name], f"first-{name}", row)
    try:
        now = _freshness(city, start)
        assert not any(f.overdue for f in now.values())
        assert now["每日更新人口信息"].cycle_days == 1 and now["每周更新人口信息"].cycle_days == 7
        assert now["每日更新人口信息"].last_loaded_at is not None
        # the day after the load is still on time for a daily resource
        assert not _freshness(city, start + timedelta(days=1))["每日更新人口信息"].overdue
        late = _freshness(city, start + timedelta(days=3))
        assert late["每日更新人口信息"].overdue and late["每日更新人口信息"].overdue_days == 2
        assert late["从未汇聚的人口信息"].overdue
        assert not late["每周更新人口信息"].overdue and not late["不定期更新人口信息"].overdue
        later = _freshness(city, start + timedelta(days=10))
        assert later["每周更新人口信息"].overdue
        assert not later["不定期更新人口信息"].overdue  # irregular: never overdue
        # a new load puts the resource back on time; the authority's indicators count the rest
        _push(city, ids["每日更新人口信息"], "second", row)
        after = _freshness(city, start + timedelta(days=10))
        assert not after["每日更新人口信息"].overdue
        with city.db.read() as conn:
            dq = agg_queries.department_quality(
                conn, city.depts["公安局"].id, profiles=city.profiles
            )
            view = agg_queries.overview(
                conn, set(city.actor("admin").governs), profiles=city.profiles
            )
        assert dq.overdue == 2  # weekly and never loaded
        assert {p.name for p in view.overdue} == {"每周更新人口信息", "从未汇聚的人口信息"}
        assert view.departments[0].short_name == "公安局"  # most overdue first
    finally:
        set_clock(None)


@pytest.mark.req("NX-72", "SQ-20")
def test_freshness_rules() -> None:
    loaded = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    f = freshness(UpdateCycle.MONTHLY, loaded, None, now=loaded + timedelta(days=31))
    assert not f.overdue and f.due_on is not None and f.due_on.isoformat() == "2026-04-02"
    f = freshness(UpdateCycle.MONTHLY, loaded, None, now=loaded + timedelta(days=32))
    assert f.overdue and f.overdue_days == 1
    # the cycle counts in Shanghai dates: 23:30 on 3 March is still 3 March
    f = freshness(UpdateCycle.DAILY, loaded, None, now=datetime(2026, 3, 3, 15, 30, tzinfo=UTC))
    assert not f.overdue
    f = freshness(UpdateCycle.DAILY, loaded, None, now=datetime(2026, 3, 3, 16, 30, tzinfo=UTC))
    assert f.overdue
    far = loaded + timedelta(days=4000)
    assert not freshness(UpdateCycle.IRREGULAR, loaded, None, now=far).overdue
    assert not freshness(None, loaded, None, now=far).overdue
    assert not freshness(UpdateCycle.DAILY, None, None, now=far).overdue  # no reference
    # a jurisdiction whose measures set no per-resource cycle (Yixing, Shuozhou)
    f = freshness(UpdateCycle.DAILY, loaded, None, now=far, enforced=False)
    assert not f.overdue and f.due_on is not None


@pytest.mark.req("NX-31", "NX-27")
def test_quality_indicators_per_resource_and_department(city: City, population: str) -> None:
    second = publish(city, "流动人口信息")
    _push(
        city,
        population,
        "p1",
        [
            {
                "姓名": "甲",
                "公民身份号码": id_card(seq=801),
                "性别": "1",
                "出生日期": "1990-03-07",
                "手机号码": "13812345678",
                "月收入": "100",
            },
            {"姓名": "乙", "公民身份号码": id_card(seq=802), "性别": "2"},
            {"姓名": "丙", "公民身份号码": id_card(seq=803)},
            {"姓名": "丁", "公民身份号码": "123"},  # rejected: a bad identifier
        ],
    )
    _push(
        city,
        second,
        "s1",
        [
            {"name": "戊", "id_card": id_card(seq=804), "sex": "1"},
            {"name": "己", "id_card": id_card(seq=805), "sex": "2"},
        ],
    )
    publish(city, "暂无数据的人口信息")  # published, nothing loaded yet
    scjg = publish(city, "市场主体人员信息", dept="市场监管局", user="scjg_admin")
    ingest.push_rows(
        city.db,
        scjg,
        [{"姓名": "庚", "公民身份号码": id_card(seq=806)}],
        [],
        actor=city.actor("scjg_admin"),
        idempotency_key="m1",
    )
    with city.db.read() as conn:
        pool = agg_queries.resource_pool(conn, population)
        dq = agg_queries.department_quality(conn, city.depts["公安局"].id)
        view = agg_queries.overview(conn, set(city.actor("admin").governs))
    q = pool.quality
    assert q is not None and (q.rows, q.unresolved) == (3, 1)
    assert q.completeness == pytest.approx(11 / 18)  # 6 + 3 + 2 of 3 x 6 cells
    assert q.validity == pytest.approx(3 / 4) and q.uniqueness == 1.0
    assert q.score == ingest.quality_score(3 / 4, 11 / 18, 1.0)
    assert pool.latest_batch is not None and pool.latest_batch.rows_rejected == 1
    assert (dq.resources, dq.with_data, dq.rows, dq.rows_loaded) == (3, 2, 5, 5)
    assert (dq.rows_rejected, dq.unresolved, dq.batches) == (1, 1, 2)
    with city.db.read() as conn:
        other = agg_queries.resource_pool(conn, second)
    assert other.quality is not None
    assert dq.quality_score == pytest.approx((q.score + other.quality.score) / 2)
    assert dq.validity == pytest.approx((0.75 + 1.0) / 2)
    by_dept = {d.short_name: d for d in view.departments}
    assert set(by_dept) == {"公安局", "市场监管局"}
    assert by_dept["市场监管局"].rows == 1 and by_dept["市场监管局"].rows_rejected == 0


@pytest.mark.req("SQ-20", "NX-29")
def test_a_filed_agreed_cycle_replaces_the_catalog_cycle(city: City, population: str) -> None:
    from govshare.aggregation import agreements
    from govshare.aggregation.agreements import AggregationMode, AgreementInput

    _push(city, population, "agreed-1", [{"姓名": "张三", "公民身份号码": id_card(seq=801)}])
    start = utcnow()
    try:
        name = next(iter(_freshness(city, start)))
        # the catalog says daily: overdue after three days
        assert _freshness(city, start + timedelta(days=3))[name].overdue
        set_clock(None)
        agreements.save_agreement(
            city.db,
            population,
            AgreementInput(AggregationMode.CONNECTOR, interval_hours=24, agreed_cycle_days=7),
            actor=city.actor("ga_catalog"),
        )
        agreements.file_agreement(city.db, city.profiles, population, actor=city.actor("admin"))
        on_time = _freshness(city, start + timedelta(days=3))[name]
        assert on_time.cycle_days == 7 and not on_time.overdue
        assert _freshness(city, start + timedelta(days=9))[name].overdue
    finally:
        set_clock(None)
