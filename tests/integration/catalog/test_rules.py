"""Catalog rules at the service level, on both databases: change triggers and their
profile deadlines, annual maintenance, the authority's review deadline, retirement.

Every lifecycle transition asserts its audit entry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from govshare.audit.queries import AuditFilter, list_entries
from govshare.catalog import collection, queries, services, upkeep
from govshare.catalog.model import (
    CollectionBasis,
    DataItemInput,
    DeliveryMode,
    ItemType,
    ResourceStatus,
    ResourceVersion,
    ReviewDecision,
    VersionState,
)
from govshare.catalog.queries import SearchQuery, search_catalog
from govshare.demo.seed import demo_uscc
from govshare.identity import services as identity_services
from govshare.identity.model import JurisdictionLevel
from govshare.identity.services import DepartmentInput
from govshare.kernel.actor import Actor, ActorKind, Role
from govshare.kernel.clock import SHANGHAI, local_date, set_clock, utcnow
from govshare.kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.integration.catalog.conftest import City

SYSTEM = Actor.system("test")


# Helpers -------------------------------------------------------------------------------
@contextmanager
def clock_at(day: date, hour: int = 10) -> Iterator[None]:
    """Move the platform clock to ``hour`` o'clock on ``day`` in Shanghai."""
    at = datetime.combine(day, time(hour), tzinfo=SHANGHAI).astimezone(UTC)
    set_clock(lambda: at)
    try:
        yield
    finally:
        set_clock(None)


def today() -> date:
    return local_date(utcnow())


def audit_actions(city: City, object_id: str) -> list[str]:
    """Audit actions recorded on ``object_id``, oldest first."""
    with city.db.read() as conn:
        page = list_entries(conn, AuditFilter(object_id=object_id), page_size=200)
    return [e.action for e in reversed(page.entries)]


@dataclass
class Region:
    """A jurisdiction under one profile: its authority and two provider departments, with
    the actors of an authority admin and of each department's cataloguer."""

    jurisdiction_id: str
    authority_id: str
    dept_id: str
    dept2_id: str
    admin: Actor
    cat: Actor
    cat2: Actor


def _user(name: str, dept_id: str, role: Role, governs: set[str] | None = None) -> Actor:
    return Actor(
        kind=ActorKind.USER,
        id=name,
        name=name,
        department_id=dept_id,
        roles=frozenset({(dept_id, role)}),
        governs=frozenset(governs or ()),
    )


def add_region(
    city: City,
    profile: str,
    code: str,
    *,
    level: JurisdictionLevel = JurisdictionLevel.CITY,
    parent: Region | None = None,
) -> Region:
    j = identity_services.create_jurisdiction(
        city.db,
        actor=SYSTEM,
        code=code,
        name=f"{profile}{code}",
        level=level,
        profile=profile,
        parent_id=parent.jurisdiction_id if parent else None,
        known_profiles=set(city.profiles),
    )
    ids = [
        identity_services.create_department(
            city.db,
            DepartmentInput(
                name=f"{j.name}{short}",
                short_name=f"{j.name}{short}",
                uscc=demo_uscc(code, i),
                jurisdiction_id=j.id,
                is_authority=(i == 1),
            ),
            actor=SYSTEM,
        ).id
        for i, short in enumerate(["数据局", "住建局", "卫健委"], start=1)
    ]
    region = Region(
        jurisdiction_id=j.id,
        authority_id=ids[0],
        dept_id=ids[1],
        dept2_id=ids[2],
        admin=_user(f"{code}_admin", ids[0], Role.AUTHORITY_ADMIN, {j.id}),
        cat=_user(f"{code}_cat", ids[1], Role.CATALOGUER),
        cat2=_user(f"{code}_cat2", ids[2], Role.CATALOGUER),
    )
    if parent is not None:  # the city authority governs its counties too
        parent.admin = replace(parent.admin, governs=parent.admin.governs | {j.id})
    return region


def full_entry(city: City, dept_id: str, **changes: Any) -> Any:
    """An entry that every profile accepts, submission included (items get a collection
    basis unless they state one)."""
    values: dict[str, Any] = {
        "provider_department_id": dept_id,
        "open_basis": "《政府信息公开条例》第十四条",
        "grade": "二级",
        "release_scenarios": "行政审批",
        "release_consumers": "政务部门经办人员",
        "release_region": "全市",
        "release_knowledge_scope": "经办人员",
        "release_usage_scope": "审批业务",
        "single_source_justification": "依法登记时采集",
        "data_items": city.entry().data_items,
        **changes,
    }
    values["data_items"] = tuple(
        replace(i, collection_basis=CollectionBasis.LAW, collection_basis_text="《户口登记条例》")
        if i.collection_basis is CollectionBasis.NONE
        else i
        for i in values["data_items"]
    )
    return replace(city.entry(), **values)


def publish(city: City, author: Actor, reviewer: Actor, entry: Any) -> ResourceVersion:
    v = services.create_draft(city.db, city.profiles, entry, actor=author)
    v = services.submit(city.db, city.profiles, v.id, actor=author)
    return services.review(city.db, v.id, ReviewDecision.APPROVE, actor=reviewer)


def record_change(city: City, actor: Actor, dept_id: str, occurred_on: date, **kw: Any) -> Any:
    tid = upkeep.record_change(
        city.db,
        city.profiles,
        actor=actor,
        department_id=dept_id,
        kind=kw.pop("kind", "law"),
        occurred_on=occurred_on,
        description=kw.pop("description", "上位法修订，需调整共享属性"),
        **kw,
    )
    with city.db.read() as conn:
        return queries.get_change_trigger(conn, tid)


MONDAY = date(2025, 3, 3)


# Change triggers -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("profile", "code", "due"),
    [
        pytest.param("suqian", "321399", date(2025, 3, 24), marks=pytest.mark.req("SQ-8")),
        pytest.param("shuozhou", "140600", date(2025, 3, 24), marks=pytest.mark.req("SZ-7")),
        pytest.param("neixiang", "411300", date(2025, 3, 10), marks=pytest.mark.req("NX-22")),
        pytest.param("hubei", "420100", None, marks=pytest.mark.req("HB-6")),
        pytest.param("yixing", "320282", None, marks=pytest.mark.req("YX-11")),
    ],
)
def test_a_change_makes_the_catalog_update_due_by_the_profile(
    city: City, profile: str, code: str, due: date | None
) -> None:
    """15 working days (SQ-8, SZ-7), 5 (NX-22), or "timely" with no number (HB-6, YX-11):
    then nothing is invented and nothing can be overdue."""
    r = add_region(city, profile, code)
    trig = record_change(city, r.cat, r.dept_id, MONDAY, written_notice_ref="宜经信函〔2025〕3号")
    assert trig.update_due == due and not trig.update_due_provisional
    assert trig.report_due is None  # a city department reports to no higher level
    assert trig.overdue(date(2099, 1, 1)) is (due is not None)
    assert audit_actions(city, trig.id) == ["record_change"]
    with pytest.raises(Forbidden):  # another department cannot record it
        record_change(city, r.cat2, r.dept_id, MONDAY, written_notice_ref="x")


@pytest.mark.req("YX-13")
def test_yixing_changes_need_a_written_notice(city: City) -> None:
    r = add_region(city, "yixing", "320282")
    with pytest.raises(ValidationFailed) as err:
        record_change(city, r.cat, r.dept_id, MONDAY)
    assert err.value.field == "written_notice_ref"
    trig = record_change(city, r.cat, r.dept_id, MONDAY, written_notice_ref="宜经信函〔2025〕3号")
    assert trig.written_notice_ref == "宜经信函〔2025〕3号"
    # Suqian has no such rule
    s = add_region(city, "suqian", "321399")
    assert record_change(city, s.cat, s.dept_id, MONDAY).written_notice_ref == ""


@pytest.mark.req("NX-23")
def test_county_changes_are_reported_to_the_city_within_five_working_days(city: City) -> None:
    nanyang = add_region(city, "neixiang", "411300")
    county = add_region(city, "neixiang", "411325", level=JurisdictionLevel.COUNTY, parent=nanyang)
    trig = record_change(city, county.cat, county.dept_id, MONDAY)
    assert (trig.update_due, trig.report_due) == (date(2025, 3, 10), date(2025, 3, 10))
    assert not trig.report_overdue(date(2025, 3, 10)) and trig.report_overdue(date(2025, 3, 11))
    assert record_change(city, nanyang.cat, nanyang.dept_id, MONDAY).report_due is None
    with pytest.raises(Forbidden):  # the department itself does not file the record
        upkeep.report_change(city.db, trig.id, actor=county.cat)
    upkeep.report_change(city.db, trig.id, actor=county.admin)
    with city.db.read() as conn:
        reported = queries.get_change_trigger(conn, trig.id)
    assert reported.reported_at is not None and not reported.report_overdue(date(2099, 1, 1))
    assert audit_actions(city, trig.id) == ["record_change", "report"]


@pytest.mark.req("SQ-8")
def test_an_overdue_update_is_flagged(city: City) -> None:
    cat = city.actor("ga_catalog")
    with clock_at(MONDAY):
        trig = record_change(city, cat, city.depts["公安局"].id, today())
        assert trig.update_due == date(2025, 3, 24)
    for day, overdue in ((date(2025, 3, 21), False), (date(2025, 3, 24), False)):
        with clock_at(day, hour=23):
            with city.db.read() as conn:
                (found,) = [t for t in queries.change_triggers(conn) if t.id == trig.id]
            assert found.overdue(today()) is overdue
    with clock_at(date(2025, 3, 25), hour=0):
        with city.db.read() as conn:
            open_ = queries.change_triggers(conn, {city.depts["公安局"].id}, open_only=True)
        assert [t.overdue(today()) for t in open_ if t.id == trig.id] == [True]
    # resolving it (no catalog change needed) clears the flag, and needs a reason
    with pytest.raises(ValidationFailed):
        upkeep.resolve_change(city.db, trig.id, actor=cat, resolution=" ")
    upkeep.resolve_change(city.db, trig.id, actor=cat, resolution="经核查目录无需调整")
    with pytest.raises(Conflict):
        upkeep.resolve_change(city.db, trig.id, actor=cat, resolution="again")
    with city.db.read() as conn:
        done = queries.get_change_trigger(conn, trig.id)
        assert trig.id not in {t.id for t in queries.change_triggers(conn, open_only=True)}
    assert not done.overdue(date(2099, 1, 1)) and done.resolution == "经核查目录无需调整"
    assert audit_actions(city, trig.id) == ["record_change", "resolve"]


@pytest.mark.req("SQ-8", "NX-22")
def test_publishing_the_update_resolves_the_change(city: City) -> None:
    r = add_region(city, "neixiang", "411300")
    v1 = publish(city, r.cat, r.admin, full_entry(city, r.dept_id))
    trig = record_change(city, r.cat, r.dept_id, MONDAY, kind="functions")
    other = record_change(city, r.cat2, r.dept2_id, MONDAY)
    v2 = services.start_revision(city.db, v1.resource_id, actor=r.cat)
    v2 = services.update_draft(
        city.db, city.profiles, v2.id, replace(v2.entry, share_scope="全市"), actor=r.cat
    )
    with pytest.raises(ValidationFailed) as err:  # another department's change
        services.submit(city.db, city.profiles, v2.id, actor=r.cat, change_trigger_id=other.id)
    assert err.value.field == "change_trigger_id"
    services.submit(city.db, city.profiles, v2.id, actor=r.cat, change_trigger_id=trig.id)
    with city.db.read() as conn:
        assert queries.get_change_trigger(conn, trig.id).resolved_at is None
    services.review(city.db, v2.id, ReviewDecision.APPROVE, actor=r.admin)
    with city.db.read() as conn:
        done = queries.get_change_trigger(conn, trig.id)
        assert queries.get_change_trigger(conn, other.id).resolved_at is None
    assert done.resolved_at is not None and done.resolution == f"{v1.code} v2"
    assert audit_actions(city, v2.id) == ["create", "update", "submit"]
    assert audit_actions(city, v1.resource_id) == ["create", "publish", "publish"]


# Annual maintenance (SQ-7) -------------------------------------------------------------
@pytest.mark.req("SQ-7")
def test_annual_full_maintenance_is_tracked_and_flagged(city: City) -> None:
    cat = city.actor("ga_catalog")
    police, hr = city.depts["公安局"].id, city.depts["人社局"].id

    def status(year: int) -> dict[str, tuple[date | None, bool]]:
        with city.db.read() as conn:
            rows = queries.maintenance_status(conn, [police, hr], year)
        return {s.department_id: (s.completed_on, s.overdue(today())) for s in rows}

    with clock_at(date(2025, 12, 31), hour=23):
        assert status(2025) == {police: (None, False), hr: (None, False)}  # year not over
        mid = upkeep.record_maintenance(
            city.db, actor=cat, department_id=police, completed_on=today(), note="全面梳理"
        )
    with clock_at(date(2026, 1, 1), hour=0):
        assert status(2025) == {police: (date(2025, 12, 31), False), hr: (None, True)}
        assert status(2026) == {police: (None, False), hr: (None, False)}
    with pytest.raises(Forbidden):  # the police cataloguer cannot record it for 人社局
        upkeep.record_maintenance(
            city.db, actor=cat, department_id=hr, completed_on=date(2025, 6, 1)
        )
    assert mid and audit_actions(city, police)[-1] == "maintain"
    assert city.profiles["suqian"].catalog.min_full_maintenance_per_year == 1


# The authority's review --------------------------------------------------------------
@pytest.mark.req("NX-22")
def test_the_authority_reviews_within_five_working_days_under_neixiang(city: City) -> None:
    nx = add_region(city, "neixiang", "411300")
    sq = add_region(city, "suqian", "321399")
    with clock_at(date(2025, 3, 7)):  # a Friday
        v = services.create_draft(
            city.db, city.profiles, full_entry(city, nx.dept_id), actor=nx.cat
        )
        v = services.submit(city.db, city.profiles, v.id, actor=nx.cat)
        w = services.create_draft(
            city.db, city.profiles, full_entry(city, sq.dept_id), actor=sq.cat
        )
        w = services.submit(city.db, city.profiles, w.id, actor=sq.cat)
    assert (v.review_due, v.review_due_provisional) == (date(2025, 3, 14), False)
    assert w.review_due is None  # Suqian sets no review deadline (SQ-8)
    with city.db.read() as conn:
        queue = queries.review_queue(conn, {nx.dept_id, sq.dept_id})
    assert [(q.version_id, q.review_due) for q in queue] == [
        (v.id, date(2025, 3, 14)),
        (w.id, None),
    ]
    with pytest.raises(Forbidden):  # the Suqian authority does not govern Neixiang
        services.review(city.db, v.id, ReviewDecision.APPROVE, actor=sq.admin)
    done = services.review(city.db, v.id, ReviewDecision.RETURN, actor=nx.admin, comment="缺依据")
    assert done.state is VersionState.RETURNED
    assert audit_actions(city, v.id) == ["submit", "return"]


# Retirement (SZ-19) --------------------------------------------------------------------
@pytest.mark.req("SZ-19")
def test_retirement_needs_a_published_replacement_or_a_reason(city: City) -> None:
    sz = add_region(city, "shuozhou", "140600")
    old = publish(city, sz.cat, sz.admin, full_entry(city, sz.dept_id, name="旧版户籍信息"))
    new = services.create_draft(
        city.db, city.profiles, full_entry(city, sz.dept_id, name="新版户籍信息"), actor=sz.cat
    )
    with pytest.raises(ValidationFailed) as err:
        services.retire(city.db, city.profiles, old.resource_id, actor=sz.cat, reason=" ")
    assert err.value.field == "reason"
    with pytest.raises(ValidationFailed) as err:  # the replacement is not live yet
        services.retire(
            city.db,
            city.profiles,
            old.resource_id,
            actor=sz.cat,
            reason="",
            replacement_resource_id=new.resource_id,
        )
    assert err.value.field == "replacement_resource_id"
    with pytest.raises(ValidationFailed):  # nor is a resource its own replacement
        services.retire(
            city.db,
            city.profiles,
            old.resource_id,
            actor=sz.cat,
            reason="",
            replacement_resource_id=old.resource_id,
        )
    with pytest.raises(Forbidden):
        services.retire(city.db, city.profiles, old.resource_id, actor=sz.cat2, reason="撤并")
    services.submit(city.db, city.profiles, new.id, actor=sz.cat)
    services.review(city.db, new.id, ReviewDecision.APPROVE, actor=sz.admin)
    with pytest.raises(ValidationFailed) as err:  # SZ-19: at least 20 calendar days
        services.retire(
            city.db,
            city.profiles,
            old.resource_id,
            actor=sz.cat,
            reason="",
            replacement_resource_id=new.resource_id,
            transition_days=19,
        )
    assert err.value.field == "transition_days"
    with clock_at(date(2025, 3, 3)):
        done = services.retire(
            city.db,
            city.profiles,
            old.resource_id,
            actor=sz.cat,
            reason="",
            replacement_resource_id=new.resource_id,
        )
    assert done.transition_ends_on == date(2025, 3, 23) and done.replacement_code == new.code
    with pytest.raises(Conflict):  # retiring already
        services.retire(city.db, city.profiles, old.resource_id, actor=sz.cat, reason="again")
    with city.db.read() as conn:
        res = queries.get_resource(conn, old.resource_id)
    assert res.status is ResourceStatus.RETIRING
    assert res.replacement_resource_id == new.resource_id
    assert audit_actions(city, old.resource_id)[-1] == "retire"


@pytest.mark.req("SZ-19")
def test_the_resource_serves_until_the_transition_ends_then_leaves_the_catalog(
    city: City,
) -> None:
    sz = add_region(city, "shuozhou", "140600")
    sq = add_region(city, "suqian", "321399")
    old = publish(city, sz.cat, sz.admin, full_entry(city, sz.dept_id, name="户籍档案查询服务"))
    plain = publish(city, sq.cat, sq.admin, full_entry(city, sq.dept_id, name="证照档案查询服务"))

    def listed(dept_id: str) -> list[str]:
        with city.db.read() as conn:
            found = search_catalog(conn, SearchQuery(q="档案", provider_department_id=dept_id))
        return [h.status for h in found.hits]

    with clock_at(date(2025, 3, 3)):
        ends = services.retire(
            city.db,
            city.profiles,
            old.resource_id,
            actor=sz.cat,
            reason="职能调整",
            transition_days=30,
        ).transition_ends_on
        # Suqian sets no transition period: the resource may go the next day
        assert services.retire(
            city.db, city.profiles, plain.resource_id, actor=sq.cat, reason="职能调整"
        ).transition_ends_on == date(2025, 3, 3)
    assert ends == date(2025, 4, 2)
    assert listed(sz.dept_id) == ["retiring"]  # still found and served during the transition
    assert services.complete_retirements(city.db, actor=SYSTEM, today=ends) == [plain.code]
    assert listed(sz.dept_id) == ["retiring"] and listed(sq.dept_id) == []
    assert services.complete_retirements(city.db, actor=SYSTEM, today=ends + timedelta(1)) == [
        old.code
    ]
    assert listed(sz.dept_id) == []
    with city.db.read() as conn:
        assert queries.get_resource(conn, old.resource_id).status is ResourceStatus.RETIRED
    with pytest.raises(Conflict):  # nothing left to revise
        services.start_revision(city.db, old.resource_id, actor=sz.cat)
    assert audit_actions(city, old.resource_id)[-3:] == ["publish", "retire", "destroy"]


# Regressions -------------------------------------------------------------------------
def test_over_long_values_are_refused_before_they_reach_the_database(city: City) -> None:
    cat = city.actor("ga_catalog")
    entry = city.entry(name="长" * 201)
    with pytest.raises(ValidationFailed) as err:
        services.create_draft(city.db, city.profiles, entry, actor=cat)
    assert (err.value.code, err.value.field) == ("catalog_too_long", "name")
    items = (DataItemInput(name="备注" * 60, code="remark", type=ItemType.STRING),)
    with pytest.raises(ValidationFailed) as err:
        services.create_draft(city.db, city.profiles, city.entry(data_items=items), actor=cat)
    assert err.value.field == "data_items[1].name"


def test_duplicate_delivery_modes_are_refused(city: City) -> None:
    entry = city.entry(delivery_modes=(DeliveryMode.QUERY, DeliveryMode.QUERY))
    with pytest.raises(ValidationFailed) as err:
        services.create_draft(city.db, city.profiles, entry, actor=city.actor("ga_catalog"))
    assert (err.value.code, err.value.field) == (
        "catalog_delivery_mode_duplicate",
        "delivery_modes",
    )


def test_not_found_is_not_a_crash(city: City) -> None:
    admin = city.actor("admin")
    with pytest.raises(NotFound):
        collection.assign_duty(
            city.db,
            actor=admin,
            producer_department_id=city.depts["公安局"].id,
            title="提供户籍信息",
            items=["姓名"],
            due_on=date(2099, 1, 1),
            demand_id="0" * 26,
        )
