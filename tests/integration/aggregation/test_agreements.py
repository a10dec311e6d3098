"""Aggregation agreements: the mode and interval filed with the authority (NX-29), the
agreed update cycle (SQ-20), interface delivery dates and extensions (NX-13), offline
exchange approvals (HB-16) and the front-end system (YX-22, YX-4)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import update

from govshare.aggregation import agreements, ingest
from govshare.aggregation.agreements import (
    AggregationMode,
    AgreementInput,
    OfflineApprovalMissing,
)
from govshare.audit.queries import AuditFilter, list_entries
from govshare.identity import queries as identity_queries
from govshare.identity import services as identity_services
from govshare.identity.model import InterfaceKind
from govshare.identity.tables import jurisdiction
from govshare.kernel.errors import Conflict, Forbidden, ValidationFailed
from govshare.rules.calendar import load_calendar
from tests.integration.aggregation.conftest import id_card, write_csv
from tests.integration.catalog.conftest import City

HEADER = ["姓名", "公民身份号码", "性别"]


def _set_profile(city: City, profile: str) -> None:
    """Put the demo city under another jurisdiction's measures (test set-up only)."""
    with city.db.transaction() as tx:
        tx.conn.execute(update(jurisdiction).values(profile=profile))


def _front_end(city: City) -> str:
    with city.db.read() as conn:
        ifaces = identity_queries.list_interfaces(conn, city.depts["公安局"].id)
    return next(i.id for i in ifaces if i.kind is InterfaceKind.FRONT_END_PROCESSOR)


# NX-29 / SQ-20 --------------------------------------------------------------------
@pytest.mark.req("NX-29", "SQ-20")
def test_mode_and_interval_are_filed_with_the_authority(city: City, population: str) -> None:
    provider, authority = city.actor("ga_catalog"), city.actor("admin")
    with pytest.raises(ValidationFailed) as missing:
        agreements.save_agreement(
            city.db, population, AgreementInput(AggregationMode.MANUAL_UPLOAD), actor=provider
        )
    assert missing.value.field == "interval_hours"  # not real time: an interval is required
    saved = agreements.save_agreement(
        city.db,
        population,
        AgreementInput(AggregationMode.CONNECTOR, interval_hours=36),
        actor=provider,
    )
    assert not saved.filed
    with city.db.read() as conn:
        assert agreements.agreed_cycle_days(conn, population) is None  # not filed yet
    with pytest.raises(Forbidden):
        agreements.file_agreement(city.db, city.profiles, population, actor=provider)
    filed = agreements.file_agreement(
        city.db, city.profiles, population, filing_ref="宿数备〔2026〕3号", actor=authority
    )
    assert filed.filed and filed.filed_by_id == authority.id and filed.filed_at is not None
    assert filed.filed_by_name == authority.name and filed.filing_ref == "宿数备〔2026〕3号"
    with city.db.read() as conn:
        assert agreements.agreed_cycle_days(conn, population) == 2  # 36 h → 2 days
    # SQ-20: an agreed update cycle; changing the terms withdraws the filing
    changed = agreements.save_agreement(
        city.db,
        population,
        AgreementInput(AggregationMode.CONNECTOR, interval_hours=36, agreed_cycle_days=7),
        actor=provider,
    )
    assert not changed.filed
    with city.db.read() as conn:
        assert agreements.agreed_cycle_days(conn, population) is None
    agreements.file_agreement(city.db, city.profiles, population, actor=authority)
    with city.db.read() as conn:
        assert agreements.agreed_cycle_days(conn, population) == 7
        actions = {e.action for e in list_entries(conn, AuditFilter(object_id=filed.id)).entries}
    assert {"create", "update", "file"} <= actions
    with pytest.raises(Conflict):
        agreements.file_agreement(city.db, city.profiles, population, actor=authority)


@pytest.mark.req("NX-29")
def test_only_the_provider_records_an_agreement(city: City, population: str) -> None:
    for user in ("admin", "scjg_admin"):
        with pytest.raises(Forbidden):
            agreements.save_agreement(
                city.db,
                population,
                AgreementInput(AggregationMode.REALTIME_SYSTEM),
                actor=city.actor(user),
            )


# NX-13 --------------------------------------------------------------------
@pytest.mark.req("NX-13")
def test_interface_extension_is_at_most_five_working_days(city: City, population: str) -> None:
    provider, authority = city.actor("ga_catalog"), city.actor("admin")
    d = agreements.record_interface_request(
        city.db, population, title="人口核验接口", agreed_on=date(2025, 9, 30), actor=authority
    )
    assert d.due_on == date(2025, 9, 30)
    with pytest.raises(ValidationFailed) as too_long:
        agreements.request_extension(
            city.db, d.id, working_days=6, reason="系统改造", actor=provider
        )
    assert too_long.value.code == "extension_too_long"
    with pytest.raises(ValidationFailed):
        agreements.request_extension(city.db, d.id, working_days=2, reason=" ", actor=provider)
    ext = agreements.request_extension(
        city.db, d.id, working_days=3, reason="等待安全测评", actor=provider
    )
    with pytest.raises(Forbidden):
        agreements.decide_extension(city.db, ext.id, approve=True, actor=provider)
    approved = agreements.decide_extension(city.db, ext.id, approve=True, actor=authority)
    # 3 working days after 30 Sep 2025, over the National Day holidays: Sat 11 Oct (调休)
    assert approved.new_due_on == date(2025, 10, 11)
    with pytest.raises(ValidationFailed):  # 3 + 3 > 5 in all
        agreements.request_extension(city.db, d.id, working_days=3, reason="再延", actor=provider)
    second = agreements.request_extension(
        city.db, d.id, working_days=2, reason="联调", actor=provider
    )
    agreements.decide_extension(city.db, second.id, approve=True, actor=authority)
    with city.db.read() as conn:
        now = agreements.get_delivery(conn, d.id)
        expected = load_calendar(conn).add_working_days(date(2025, 9, 30), 5).day
    assert now.due_on == expected == date(2025, 10, 14)
    assert [e.status.value for e in now.extensions] == ["approved", "approved"]
    delivered = agreements.mark_delivered(city.db, d.id, actor=provider)
    assert delivered.delivered_at is not None and not delivered.overdue(date(2025, 10, 20))


# HB-16 --------------------------------------------------------------------
@pytest.mark.req("HB-16")
def test_upload_needs_the_provincial_approval_under_hubei(
    city: City, population: str, tmp_path: Path
) -> None:
    _set_profile(city, "hubei")
    provider, authority = city.actor("ga_catalog"), city.actor("admin")
    path = write_csv(tmp_path / "p.csv", [HEADER, ["张三", id_card(seq=11), "1"]])
    with pytest.raises(OfflineApprovalMissing) as refused:
        ingest.ingest_file(city.db, population, path, actor=provider)
    assert refused.value.code == "offline_exchange_not_approved" and refused.value.status == 403
    # the API push (online) is not an offline exchange
    pushed = ingest.push_rows(
        city.db,
        population,
        [{"姓名": "李四", "公民身份号码": id_card(seq=12)}],
        [],
        actor=provider,
        idempotency_key="k1",
    )
    assert pushed.batch.rows_loaded == 1
    with pytest.raises(Forbidden):
        agreements.record_offline_approval(
            city.db,
            population,
            approval_ref="鄂数批〔2026〕1号",
            approved_on=date(2026, 1, 5),
            actor=provider,
        )
    approval = agreements.record_offline_approval(
        city.db,
        population,
        approval_ref="鄂数批〔2026〕1号",
        approved_on=date(2026, 1, 5),
        agency="湖北省大数据能力中心",
        actor=authority,
    )
    loaded = ingest.ingest_file(city.db, population, path, actor=provider)
    assert loaded.batch.rows_loaded == 1
    agreements.revoke_offline_approval(city.db, approval.id, actor=authority)
    other = write_csv(tmp_path / "q.csv", [HEADER, ["王五", id_card(seq=13), "1"]])
    with pytest.raises(OfflineApprovalMissing):
        ingest.ingest_file(city.db, population, other, actor=provider)
    with city.db.read() as conn:
        actions = [e.action for e in list_entries(conn, AuditFilter(object_id=approval.id)).entries]
    assert sorted(actions) == ["approve", "revoke"]


@pytest.mark.req("HB-16")
def test_approval_validity_is_checked(city: City, population: str) -> None:
    _set_profile(city, "hubei")
    agreements.record_offline_approval(
        city.db,
        population,
        approval_ref="鄂数批〔2025〕9号",
        approved_on=date(2025, 1, 1),
        valid_until=date(2025, 12, 31),
        actor=city.actor("admin"),
    )
    with city.db.read() as conn:
        agreements.require_offline_approval(conn, population, today=date(2025, 6, 1))
        with pytest.raises(OfflineApprovalMissing):
            agreements.require_offline_approval(conn, population, today=date(2026, 1, 1))
    _set_profile(city, "suqian")  # no such rule under the Suqian measures
    with city.db.read() as conn:
        agreements.require_offline_approval(conn, population, today=date(2026, 1, 1))


# YX-22 / YX-4 --------------------------------------------------------------------
@pytest.mark.req("YX-22", "YX-4")
def test_front_end_system_is_recorded_and_gaps_flagged(city: City, population: str) -> None:
    _set_profile(city, "yixing")
    provider, authority = city.actor("ga_catalog"), city.actor("admin")
    police = city.depts["公安局"].id

    def gaps() -> dict[str, str]:
        with city.db.read() as conn:
            return {
                g.resource_id: g.reason
                for g in agreements.front_end_gaps(conn, city.profiles, {police})
            }

    assert gaps()[population] == "no_agreement"
    agreements.save_agreement(
        city.db, population, AgreementInput(AggregationMode.REALTIME_SYSTEM), actor=provider
    )
    assert gaps()[population] == "no_front_end"
    with pytest.raises(Conflict) as refused:
        agreements.file_agreement(city.db, city.profiles, population, actor=authority)
    assert refused.value.code == "front_end_missing"
    # an interface that is not a front-end processor does not count
    iface = identity_services.register_interface(
        city.db,
        police,
        kind=InterfaceKind.INTERFACE,
        name="人口查询接口",
        actor=city.actor("ga_admin"),
    )
    with pytest.raises(ValidationFailed):
        agreements.save_agreement(
            city.db,
            population,
            AgreementInput(AggregationMode.REALTIME_SYSTEM, front_end_interface_id=iface.id),
            actor=provider,
        )
    saved = agreements.save_agreement(
        city.db,
        population,
        AgreementInput(AggregationMode.REALTIME_SYSTEM, front_end_interface_id=_front_end(city)),
        actor=provider,
    )
    assert saved.front_end_interface_id == _front_end(city)
    assert population not in gaps()
    assert agreements.file_agreement(city.db, city.profiles, population, actor=authority).filed
    _set_profile(city, "suqian")  # no front-end rule: nothing flagged
    assert gaps() == {}
