"""Cross-source checks (一数一源 / 多元校核): conflicts between two providers' pools open a
coordination item for the authority; the authoritative source routes it to the other
provider, who corrects it by reloading. Raw identifiers never leave the pools."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest
from sqlalchemy import select

from govshare.aggregation import crosscheck, ingest
from govshare.aggregation import crosscheck_coordination as coordination
from govshare.aggregation.crosscheck import ItemStatus, Resolution
from govshare.aggregation.crosscheck_tables import coordination_item
from govshare.aggregation.pools import active_pool
from govshare.audit.queries import AuditFilter, list_entries
from govshare.catalog.model import DataItemInput, IdentifierKind, ItemType
from govshare.kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govshare.kernel.identifiers import make_uscc
from govshare.kernel.masking import mask
from tests.integration.aggregation.conftest import id_card, publish
from tests.integration.catalog.conftest import City

HR_ITEMS = (
    DataItemInput(
        name="姓名", code="xm", type=ItemType.STRING, length=50, required=True, sensitivity="name"
    ),
    DataItemInput(
        name="公民身份号码",
        code="sfzh",
        type=ItemType.STRING,
        length=18,
        identifier=IdentifierKind.ID_CARD,
        sensitivity="id_card",
        required=True,
    ),
    DataItemInput(name="出生日期", code="csrq", type=ItemType.DATE),
    DataItemInput(name="月收入", code="ysr", type=ItemType.DECIMAL),
    DataItemInput(name="参保状态", code="cbzt", type=ItemType.STRING, length=10),
)

P1, P2, P3, P4, P5 = (id_card(seq=s) for s in (301, 302, 303, 304, 305))


@pytest.fixture
def hr(city: City) -> str:
    """人社局's insured-persons resource: shares 姓名 (and 出生日期, 月收入) with 公安局."""
    return publish(city, "社会保险参保人员信息", HR_ITEMS, dept="人社局", user="rs_admin")


def load(city: City, resource_id: str, user: str, rows: list[dict[str, Any]]) -> str:
    result = ingest.push_rows(
        city.db, resource_id, rows, [], actor=city.actor(user), idempotency_key=None
    )
    assert result.batch.rows_rejected == 0, result.rejected
    return result.batch.id


def police(city: City, population: str, rows: list[tuple[str, str]], **extra: Any) -> str:
    data = [{"姓名": n, "公民身份号码": k, **extra} for n, k in rows]
    return load(city, population, "ga_catalog", data)


def insured(city: City, hr: str, rows: list[tuple[str, str]], **extra: Any) -> str:
    data = [{"姓名": n, "公民身份号码": k, **extra} for n, k in rows]
    return load(city, hr, "rs_admin", data)


def items(city: City) -> list[crosscheck.CoordinationItem]:
    with city.db.read() as conn:
        rows = conn.execute(select(coordination_item).order_by(coordination_item.c.opened_at))
        return [crosscheck.item_from_row(r) for r in rows]


def audit_of(city: City, object_id: str) -> list[Any]:
    with city.db.read() as conn:
        entries = list_entries(conn, AuditFilter(object_id=object_id)).entries
    return sorted(entries, key=lambda e: e.seq)  # oldest first


@pytest.mark.req("SQ-15", "YX-17", "NX-27")
def test_a_conflicting_name_opens_one_item_naming_both_providers_and_the_masked_key(
    city: City, population: str, hr: str
) -> None:
    police(city, population, [("张三", P1), ("李四", P2), ("王五", P3)])
    batch = insured(
        city,
        hr,
        [("张三", P1), ("黎四", P2), ("\u3000王五 ", P3), ("赵六", P4)],  # 王五 padded: same
    )
    found = items(city)
    assert len(found) == 1
    item = found[0]
    ga, rs = city.depts["公安局"].id, city.depts["人社局"].id
    assert set(item.department_ids) == {ga, rs}
    assert {item.a.resource_id, item.b.resource_id} == {population, hr}
    assert item.element == "姓名" and item.element_label == "姓名"
    assert item.key_kind == "id_card" and item.key_masked == mask(P2, "id_card")
    assert item.status is ItemStatus.OPEN and item.assignee_department_id is None
    assert (
        item.opened_batch_id == batch
        and item.jurisdiction_id == city.depts["公安局"].jurisdiction_id
    )
    shown = {item.a.department_id: item.a.value_masked, item.b.department_id: item.b.value_masked}
    assert shown == {ga: "李*", rs: "黎*"}  # masked as names: the raw values stay in the pools
    assert item.a.value_hash != item.b.value_hash
    # the raw identifier is nowhere in the item, its events or its audit entries
    entries = audit_of(city, item.id)
    assert [e.action for e in entries] == ["create"]
    assert "人社局" in entries[0].details and "公安局" in entries[0].details
    with city.db.read() as conn:
        events = coordination.events_of(conn, item.id)
    blob = json.dumps(
        [asdict(item), [e.details for e in entries], [asdict(e) for e in events]], default=str
    )
    assert P2 not in blob and P2[6:14] not in blob and "李四" not in blob and "黎四" not in blob
    # the key can still be found again by its fingerprint
    with city.db.read() as conn:
        scope = coordination.scope_of(conn, city.actor("admin"))
        again = coordination.list_items(
            conn, scope, key_fingerprints=crosscheck.key_fingerprints(conn, P2.lower())
        )
    assert [i.id for i in again] == [item.id]


@pytest.mark.req("SQ-15", "HB-17")
def test_equal_values_open_nothing_after_normalisation(
    city: City, population: str, hr: str
) -> None:
    police(city, population, [("张三", P1), ("李四", P2)], 出生日期="1990-03-07", 月收入="5000.50")
    load(
        city,
        hr,
        "rs_admin",
        [
            # dates and decimals compare by value
            {"姓名": "张三", "公民身份号码": P1, "出生日期": "1990/03/07", "月收入": "5000.5"},
            {"姓名": "李四", "公民身份号码": P2, "出生日期": "19900307"},  # NULL: no conflict
        ],
    )
    assert items(city) == []
    # ... while a real difference of a date is one
    load(city, hr, "rs_admin", [{"姓名": "张三", "公民身份号码": P1, "出生日期": "1990-03-08"}])
    [item] = items(city)
    assert item.element == "出生日期" and item.sensitivity == "none"
    assert {item.a.value_masked, item.b.value_masked} == {"1990-03-07", "1990-03-08"}


@pytest.mark.req("SQ-15")
def test_reloading_does_not_duplicate_the_open_item(city: City, population: str, hr: str) -> None:
    police(city, population, [("李四", P2)])
    insured(city, hr, [("黎四", P2)])
    again = insured(city, hr, [("黎四", P2), ("张三", P1)])
    police(city, population, [("李四", P2)])
    [item] = items(city)
    assert item.opened_batch_id != again
    # a second element of the same key is a separate item, still not a duplicate
    load(city, hr, "rs_admin", [{"姓名": "黎四", "公民身份号码": P2, "月收入": "1"}])
    police(city, population, [("李四", P2)], 月收入="2")
    assert sorted(i.element for i in items(city)) == ["姓名", "月收入"]


@pytest.mark.req("YX-17", "HB-17", "NX-27")
def test_the_authoritative_source_routes_conflicts_to_the_other_provider(
    city: City, population: str, hr: str
) -> None:
    police(city, population, [("李四", P2), ("王五", P3)])
    insured(city, hr, [("黎四", P2)])
    [before] = items(city)
    admin = city.actor("admin")
    rs = city.depts["人社局"].id
    ga = city.depts["公安局"].id
    with pytest.raises(Forbidden):  # only the authority names sources
        coordination.name_source(
            city.db, actor=city.actor("ga_admin"), element="姓名", department_id=ga
        )
    with pytest.raises(ValidationFailed):  # the source must carry the element
        coordination.name_source(city.db, actor=admin, element="婚姻状况", department_id=ga)
    src = coordination.name_source(
        city.db, actor=admin, element=" 姓名", department_id=ga, resource_id=population
    )
    assert src.element == "姓名" and src.department_id == ga
    # the open item is re-routed at once to the non-authoritative provider
    [item] = items(city)
    assert item.id == before.id and item.status is ItemStatus.ROUTED
    assert item.assignee_department_id == rs and item.authoritative_department_id == ga
    assert [e.action for e in audit_of(city, item.id)] == ["create", "assign"]
    # a later conflict goes straight to 人社局
    insured(city, hr, [("汪五", P3)])
    new = next(i for i in items(city) if i.id != item.id)
    assert new.status is ItemStatus.ROUTED and new.assignee_department_id == rs
    with city.db.read() as conn:
        mine = coordination.list_items(conn, coordination.scope_of(conn, city.actor("rs_admin")))
        events = [e.action.value for e in coordination.events_of(conn, new.id)]
    assert {i.id for i in mine} == {item.id, new.id}
    assert events == ["opened", "routed"]


@pytest.mark.req("HB-17", "NX-27", "YX-17")
def test_the_provider_corrects_by_reloading_and_closes_the_item(
    city: City, population: str, hr: str
) -> None:
    police(city, population, [("李四", P2)])
    insured(city, hr, [("黎四", P2)])
    ga = city.depts["公安局"].id
    coordination.name_source(city.db, actor=city.actor("admin"), element="姓名", department_id=ga)
    [item] = items(city)
    rs_admin = city.actor("rs_admin")
    with pytest.raises(Conflict) as refused:  # not before the corrected data is loaded
        coordination.mark_corrected(city.db, item.id, actor=rs_admin)
    assert refused.value.code == "values_still_differ"
    with pytest.raises(Forbidden):  # the item is 人社局's to correct, not 公安局's
        coordination.mark_corrected(city.db, item.id, actor=city.actor("ga_catalog"))
    insured(city, hr, [("李四", P2)])  # the corrected value
    [agreed] = items(city)
    assert agreed.values_agree and agreed.a.value_hash == agreed.b.value_hash
    coordination.mark_corrected(city.db, item.id, actor=rs_admin, note="已按户籍信息更正")
    [done] = items(city)
    assert done.status is ItemStatus.RESOLVED and done.resolution == Resolution.CORRECTED.value
    assert done.assignee_department_id == city.depts["人社局"].id  # the responsible producer
    assert [e.action for e in audit_of(city, item.id)] == ["create", "assign", "resolve"]
    with pytest.raises(Conflict):
        coordination.resolve_item(city.db, item.id, actor=city.actor("admin"), note="x")
    # a new conflict on the same key, once the old one is closed, is a new item
    insured(city, hr, [("黎四", P2)])
    assert len(items(city)) == 2


@pytest.mark.req("SQ-15", "YX-17", "HB-17")
def test_a_disputed_item_goes_back_to_the_authority_who_settles_it(
    city: City, population: str, hr: str
) -> None:
    police(city, population, [("李四", P2)])
    insured(city, hr, [("黎四", P2)])
    [item] = items(city)
    admin = city.actor("admin")
    rs = city.depts["人社局"].id
    coordination.route_item(city.db, item.id, rs, actor=admin, note="请核实")
    with pytest.raises(ValidationFailed):
        coordination.dispute_item(city.db, item.id, actor=city.actor("rs_admin"), note=" ")
    coordination.dispute_item(
        city.db, item.id, actor=city.actor("rs_admin"), note="参保登记以本人签字材料为准"
    )
    [back] = items(city)
    assert back.status is ItemStatus.OPEN and back.disputed and back.assignee_department_id is None
    with pytest.raises(Forbidden):
        coordination.resolve_item(city.db, item.id, actor=city.actor("rs_admin"), note="x")
    coordination.resolve_item(city.db, item.id, actor=admin, note="会同两部门核实：以户籍信息为准")
    [done] = items(city)
    assert done.status is ItemStatus.RESOLVED and done.resolution == Resolution.SETTLED.value
    with city.db.read() as conn:
        actions = [e.action.value for e in coordination.events_of(conn, item.id)]
        with pytest.raises(NotFound):  # 市场监管局 is not named: the item does not exist for it
            coordination.visible_item(conn, city.actor("scjg_admin"), item.id)
    assert actions == ["opened", "routed", "disputed", "resolved"]
    assert [e.action for e in audit_of(city, item.id)] == ["create", "assign", "return", "resolve"]


def test_only_the_rows_a_batch_touched_are_compared(city: City, population: str, hr: str) -> None:
    people = [(f"人{n}", id_card(seq=n)) for n in range(400, 460)]
    police(city, population, people)
    first = insured(city, hr, people)
    second = insured(city, hr, people[:3])
    third = insured(city, hr, [people[10]])
    with city.db.read() as conn:
        pool = active_pool(conn, hr)
        assert pool is not None
        assert crosscheck._batch_range(conn, pool, third) == (64, 64)
        assert crosscheck._batch_range(conn, pool, second) == (61, 63)
        span = crosscheck._batch_range(conn, pool, first)  # partly overwritten since
        assert span is not None and span[1] == 60
    result = crosscheck.check_after_load(city.db, hr, second)
    assert (result.pools, result.rows, result.opened) == (1, 0, 0)  # equal rows stay in SQL
    assert items(city) == []


LEGAL_ITEMS = (
    DataItemInput(
        name="统一社会信用代码",
        code="tyshxydm",
        type=ItemType.STRING,
        length=18,
        identifier=IdentifierKind.USCC,
        sensitivity="uscc",
        required=True,
    ),
    DataItemInput(name="单位名称", code="dwmc", type=ItemType.STRING, length=200, required=True),
    DataItemInput(name="成立日期", code="clrq", type=ItemType.DATE),
)


@pytest.mark.req("SQ-15", "YX-17", "NX-27")
def test_organisations_keyed_by_uscc_are_compared_too(city: City) -> None:
    registry = publish(city, "法人登记信息", LEGAL_ITEMS, dept="市场监管局", user="scjg_admin")
    employers = publish(city, "参保单位信息", LEGAL_ITEMS[:2], dept="人社局", user="rs_admin")
    one = make_uscc("9", "1", "321300", "MA1X2Y3D")
    two = make_uscc("9", "1", "321300", "MA1X2Y4E")
    load(
        city,
        registry,
        "scjg_admin",
        [
            {
                "统一社会信用代码": one,
                "单位名称": "宿迁ＡＢＣ科技有限公司",
                "成立日期": "2020-01-02",
            },
            {"统一社会信用代码": two, "单位名称": "宿迁市某某物流有限公司"},
        ],
    )
    load(
        city,
        employers,
        "rs_admin",
        [
            {"统一社会信用代码": one, "单位名称": "宿迁ABC科技有限公司"},  # half-width: same
            {"统一社会信用代码": two, "单位名称": "宿迁市某某物流公司"},
        ],
    )
    [item] = items(city)
    assert item.key_kind == "uscc" and item.key_masked == two  # public registration data
    assert item.element == "单位名称" and item.sensitivity == "none"
    assert {item.a.value_masked, item.b.value_masked} == {
        "宿迁市某某物流有限公司",
        "宿迁市某某物流公司",
    }
    assert {item.a.department_id, item.b.department_id} == {
        city.depts["市场监管局"].id,
        city.depts["人社局"].id,
    }
