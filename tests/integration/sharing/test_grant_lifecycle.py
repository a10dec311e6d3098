"""Grants over their life: limits and masking levels, the security agreement the provider's
release review asks for, renewal, the destruction confirmation when a grant ends, onward
consent, the holders told of a retirement, controlled parameters, reminders, attachments,
and notifications that leave only after commit."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from govshare.catalog import services as catalog_services
from govshare.catalog.model import ShareCategory
from govshare.kernel.errors import Conflict, Forbidden, ValidationFailed
from govshare.notify.tables import notification
from govshare.sharing import lifecycle, queries, reminders, services
from govshare.sharing.attachments import add_attachment, read_attachment
from govshare.sharing.model import (
    ApplicationState,
    AttachmentKind,
    GrantStatus,
    Masking,
    StepKind,
)
from govshare.sharing.services import Decision, Limits
from tests.integration.catalog.conftest import City
from tests.integration.catalog.test_rules import SYSTEM, Region, add_region, audit_actions
from tests.integration.sharing.test_disputes import REFUSAL, events
from tests.integration.sharing.test_routing import (
    NATIONAL_DAY_EVE,
    ask,
    clock_at,
    extra_department,
    open_step,
    resource,
    submit,
)


def granted(city: City, r: Region, rid: str, decision: Decision | None = None) -> str:
    """A Shuozhou conditional application, reviewed and approved; returns the grant id."""
    app = submit(city, r, ask(r, rid))
    services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=True)
    app = services.decide(
        city.db, city.profiles, app.id, decision or Decision(approve=True), actor=r.cat
    )
    assert app.grant_id
    return app.grant_id


def grant(city: City, gid: str):  # type: ignore[no-untyped-def]
    with city.db.read() as conn:
        return queries.get_grant(conn, gid)


@pytest.mark.req("SZ-16.2", "HB-24", "NX-12")
def test_decision_sets_limits_and_masking_per_item(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    with pytest.raises(ValidationFailed):  # raw needs a basis
        granted(city, r, rid, Decision(approve=True, raw_items=("name",)))
    gid = granted(
        city,
        r,
        rid,
        Decision(
            approve=True,
            raw_items=("name",),
            pseudonym_items=("id_card",),
            basis="《社会救助暂行办法》第十一条",
            limits=Limits(rate_limit_per_minute=30, quota_per_day=500),
        ),
    )
    g = grant(city, gid)
    assert [(i.code, i.masking) for i in g.items] == [
        ("name", Masking.RAW),
        ("id_card", Masking.PSEUDONYM),
    ]
    assert (g.rate_limit_per_minute, g.quota_per_day) == (30, 500)


@pytest.mark.req("SZ-14.1")
def test_internal_rules_are_no_basis_for_refusing(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    app = submit(city, r, ask(r, rid))
    services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=True)
    bad = Decision(
        approve=False,
        reason="本部门规定不对外提供",
        basis="《本局数据管理办法》",
        basis_type="department_internal_rule",
    )
    with pytest.raises(ValidationFailed) as err:
        services.decide(city.db, city.profiles, app.id, bad, actor=r.cat)
    assert err.value.code == "sharing_internal_rule_basis"
    done = services.decide(city.db, city.profiles, app.id, REFUSAL, actor=r.cat)
    assert done.state is ApplicationState.REFUSED


@pytest.mark.req("SZ-11")
def test_provider_release_review_decides_the_security_agreement(city: City, tmp_path: Path) -> None:
    r = add_region(city, "shuozhou", "140699")
    needs = resource(city, r, ShareCategory.CONDITIONAL, security_agreement_required=True)
    plain = resource(city, r, ShareCategory.CONDITIONAL, name="不需协议的资源")
    assert grant(city, granted(city, r, plain)).status is GrantStatus.ACTIVE
    gid = granted(city, r, needs)
    assert grant(city, gid).status is GrantStatus.PENDING_AGREEMENT
    waived = granted(city, r, needs, Decision(approve=True, security_agreement=False))
    assert grant(city, waived).status is GrantStatus.ACTIVE
    with pytest.raises(Conflict):
        services.confirm_security_agreement(city.db, gid, actor=r.admin, note="安全协议")
    with pytest.raises(ValidationFailed):  # an executable is no agreement
        add_attachment(
            city.db,
            tmp_path,
            owner_kind="grant",
            owner_id=gid,
            kind=AttachmentKind.SECURITY_AGREEMENT,
            filename="协议.pdf",
            data=b"MZ\x90\x00",
            actor=r.cat2,
        )
    att = add_attachment(
        city.db,
        tmp_path,
        owner_kind="grant",
        owner_id=gid,
        kind=AttachmentKind.SECURITY_AGREEMENT,
        filename="../../安全协议.pdf",
        data=b"%PDF-1.7 signed",
        actor=r.cat2,
    )
    assert att.filename == "安全协议.pdf" and att.content_type == "application/pdf"
    _, outsider = extra_department(city, r, "朔州某局", 5, "140699")
    with pytest.raises(Forbidden):
        read_attachment(city.db, tmp_path, att.id, actor=outsider)
    meta, data = read_attachment(city.db, tmp_path, att.id, actor=r.admin)
    assert data == b"%PDF-1.7 signed" and meta.sha256 == att.sha256
    g = services.confirm_security_agreement(city.db, gid, actor=r.admin, note="朔州安全协议1号")
    assert g.status is GrantStatus.ACTIVE


@pytest.mark.req("SZ-27", "NX-41")
def test_ended_grant_needs_a_destruction_confirmation(city: City, tmp_path: Path) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    gid = granted(city, r, rid)
    with pytest.raises(Conflict):  # still active: nothing to destroy yet
        lifecycle.confirm_destruction(city.db, gid, actor=r.cat2, note="已删除")
    services.revoke_grant(city.db, gid, actor=r.admin, reason="超范围使用")
    assert "sharing.grant.revoked" in events(city, r.dept2_id)
    with city.db.read() as conn:
        assert [g.id for g in queries.destruction_due(conn, r.dept2_id)] == [gid]
    with pytest.raises(Forbidden):  # the consumer confirms, not the provider
        lifecycle.confirm_destruction(city.db, gid, actor=r.cat, note="已删除")
    with pytest.raises(ValidationFailed):
        lifecycle.confirm_destruction(city.db, gid, actor=r.cat2, note=" ")
    add_attachment(
        city.db,
        tmp_path,
        owner_kind="grant",
        owner_id=gid,
        kind=AttachmentKind.DESTRUCTION,
        filename="销毁证明.pdf",
        data=b"%PDF-1.7 destroyed",
        actor=r.cat2,
    )
    g = lifecycle.confirm_destruction(
        city.db, gid, actor=r.cat2, note="2026-11-21 删除业务库副本及备份"
    )
    assert g.destruction_confirmed_at is not None and g.destruction_confirmed_by == r.cat2.name
    with city.db.read() as conn:
        assert queries.destruction_due(conn, r.dept2_id) == []
    with pytest.raises(Conflict):
        lifecycle.confirm_destruction(city.db, gid, actor=r.cat2, note="again")
    assert audit_actions(city, gid) == ["create", "revoke", "attach", "destroy"]
    assert "sharing.grant.destroyed" in events(city, r.dept_id)


@pytest.mark.req("SZ-27")
def test_renewal_replaces_the_grant_without_a_destruction_duty(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    old = granted(city, r, rid)
    other = resource(city, r, ShareCategory.CONDITIONAL, name="另一资源")
    with pytest.raises(ValidationFailed):  # a renewal is for the same resource
        submit(city, r, ask(r, other, renews_grant_id=old))
    app = submit(city, r, ask(r, rid, renews_grant_id=old, valid_until=date(2028, 12, 31)))
    assert app.renews_grant_id == old
    services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=True)
    app = services.decide(city.db, city.profiles, app.id, Decision(approve=True), actor=r.cat)
    new = grant(city, app.grant_id or "")
    assert new.renewed_from == old and new.valid_until == date(2028, 12, 31)
    prev = grant(city, old)
    assert prev.status is GrantStatus.EXPIRED and prev.superseded and not prev.destruction_due
    with pytest.raises(Conflict):  # already renewed
        submit(city, r, ask(r, rid, renews_grant_id=old))
    assert audit_actions(city, old) == ["create", "renew"]


@pytest.mark.req("YX-20", "HB-14")
def test_onward_transfer_needs_the_providers_consent(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    gid = granted(city, r, rid)
    with pytest.raises(Forbidden):  # the consumer cannot consent for the provider
        lifecycle.record_onward_consent(
            city.db, gid, actor=r.cat2, recipient="某街道办", purpose="入户核查"
        )
    with pytest.raises(ValidationFailed):
        lifecycle.record_onward_consent(city.db, gid, actor=r.cat, recipient="", purpose="x")
    c = lifecycle.record_onward_consent(
        city.db, gid, actor=r.cat, recipient="某街道办", purpose="入户核查"
    )
    with city.db.read() as conn:
        assert queries.onward_consents(conn, gid) == [c]
    assert audit_actions(city, gid) == ["create", "consent"]


@pytest.mark.req("SZ-19")
def test_retirement_tells_every_holder_on_the_day(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    replacement = resource(city, r, ShareCategory.CONDITIONAL, name="新版户籍信息")
    gid = granted(city, r, rid)
    with clock_at(date(2026, 11, 20)):
        ret = catalog_services.retire(
            city.db,
            city.profiles,
            rid,
            actor=r.cat,
            reason="升级",
            replacement_resource_id=replacement,
        )
    g = grant(city, gid)
    assert g.transition_until == ret.transition_ends_on
    assert g.transition_until is not None and (g.transition_until - date(2026, 11, 20)).days >= 20
    assert g.replacement_code == ret.replacement_code
    with city.db.read() as conn:
        row = conn.execute(
            select(notification.c.created_at).where(
                notification.c.department_id == r.dept2_id,
                notification.c.event == "sharing.grant.retiring",
            )
        ).one()
    assert row.created_at.date() in (date(2026, 11, 20), date(2026, 11, 19))  # UTC of the day
    assert audit_actions(city, gid)[-1] == "notify"


@pytest.mark.req("HB-11", "HB-12")
def test_hubei_controlled_parameters_route_to_the_provider(city: City) -> None:
    r = add_region(city, "hubei", "420199")
    free = resource(city, r, ShareCategory.UNCONDITIONAL)
    controlled = resource(
        city,
        r,
        ShareCategory.UNCONDITIONAL,
        name="不动产登记信息",
        controlled_parameters="须按不动产单元号逐条查询",
    )
    app = submit(city, r, ask(r, free))
    assert open_step(app).kind is StepKind.DIRECT_AUTHORISATION  # HB-12: the platform
    with pytest.raises(ValidationFailed):  # the parameters must be stated
        submit(city, r, ask(r, controlled))
    app = submit(city, r, ask(r, controlled, controlled_parameters="按不动产单元号逐条查询"))
    assert open_step(app).kind is StepKind.COMPLIANCE_REVIEW
    app = services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=True)
    step = open_step(app)
    assert step.kind is StepKind.DECISION and step.department_id == r.dept_id  # HB-11
    app = services.decide(city.db, city.profiles, app.id, Decision(approve=True), actor=r.cat)
    assert grant(city, app.grant_id or "").controlled_parameters == "按不动产单元号逐条查询"


@pytest.mark.req("SZ-15.2", "HB-20")
def test_reminders_before_the_deadline_and_flags_when_overdue(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    with clock_at(NATIONAL_DAY_EVE):
        app = submit(city, r, ask(r, rid))
    due = open_step(app).due_on
    assert due == date(2026, 10, 9)
    early = reminders.send_reminders(city.db, city.profiles, actor=SYSTEM, today=date(2026, 10, 1))
    assert early == {"due_soon": 0, "overdue": 0}
    soon = reminders.send_reminders(city.db, city.profiles, actor=SYSTEM, today=date(2026, 10, 8))
    assert soon == {"due_soon": 1, "overdue": 0}
    again = reminders.send_reminders(city.db, city.profiles, actor=SYSTEM, today=date(2026, 10, 8))
    assert again == {"due_soon": 0, "overdue": 0}
    late = reminders.send_reminders(city.db, city.profiles, actor=SYSTEM, today=date(2026, 10, 12))
    assert late == {"due_soon": 0, "overdue": 1}
    assert reminders.send_reminders(
        city.db, city.profiles, actor=SYSTEM, today=date(2026, 10, 13)
    ) == {"due_soon": 0, "overdue": 0}
    assert events(city, r.authority_id).count("sharing.step.overdue") == 1
    assert "sharing.step.due_soon" in events(city, r.authority_id)


def test_a_failed_transition_notifies_nobody(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    app = submit(city, r, ask(r, rid))
    services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=True)
    with city.db.read() as conn:
        before = conn.execute(select(func.count()).select_from(notification)).scalar_one()
    with pytest.raises(ValidationFailed):  # rolled back after the checks pass the refusal
        services.decide(
            city.db,
            city.profiles,
            app.id,
            Decision(approve=True, raw_items=("name",)),  # no basis
            actor=r.cat,
        )
    with city.db.read() as conn:
        after = conn.execute(select(func.count()).select_from(notification)).scalar_one()
    assert after == before


@pytest.mark.req("NX-41")
def test_only_the_provider_or_its_own_authority_changes_a_grant(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    other = add_region(city, "suqian", "321399")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    gid = granted(city, r, rid)
    for outsider in (other.admin, other.cat, r.cat2):
        with pytest.raises(Forbidden):
            services.suspend_grant(city.db, gid, actor=outsider, reason="越权")
        with pytest.raises(Forbidden):
            services.name_delegated_reviewer(city.db, r.dept_id, other.dept_id, actor=outsider)
    assert grant(city, gid).status is GrantStatus.ACTIVE
    assert services.suspend_grant(city.db, gid, actor=r.admin, reason="核查").status is (
        GrantStatus.SUSPENDED
    )
