"""Share applications at the service level, on both databases: the routing of every
profile end to end, refusals at submission and at decision, the deadline of every step
counted from the event its article names, and grants. Every transition asserts its audit
entry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from govshare.catalog.model import ShareCategory
from govshare.demo.seed import demo_uscc
from govshare.identity import services as identity_services
from govshare.identity.services import DepartmentInput
from govshare.kernel.actor import Actor, Role
from govshare.kernel.clock import SHANGHAI, set_clock
from govshare.kernel.errors import Conflict, Forbidden, ValidationFailed
from govshare.rules.calendar import load_calendar, load_year
from govshare.sharing import queries, services
from govshare.sharing.attachments import add_attachment
from govshare.sharing.model import (
    Application,
    ApplicationInput,
    ApplicationState,
    AttachmentKind,
    GrantStatus,
    Masking,
    Purpose,
    StepDecision,
    StepKind,
)
from govshare.sharing.services import Decision
from tests.integration.catalog.conftest import City
from tests.integration.catalog.test_rules import (
    SYSTEM,
    Region,
    _user,
    add_region,
    audit_actions,
    full_entry,
    publish,
)
from tests.integration.sharing.support import share_values

NATIONAL_DAY_EVE = date(2026, 9, 30)  # Wednesday before the 2026 National Day holiday


@contextmanager
def clock_at(day: date, hour: int = 10) -> Iterator[None]:
    at = datetime.combine(day, time(hour), tzinfo=SHANGHAI).astimezone(UTC)
    set_clock(lambda: at)
    try:
        yield
    finally:
        set_clock(None)


def wd(city: City, start: date, n: int) -> tuple[date, bool]:
    """The N-th working day after ``start`` by the platform's calendar."""
    with city.db.read() as conn:
        d = load_calendar(conn).add_working_days(start, n, provisional=True)
    return d.day, d.provisional


def resource(city: City, r: Region, category: ShareCategory, **changes: Any) -> str:
    values = share_values(category, **changes)
    return publish(city, r.cat, r.admin, full_entry(city, r.dept_id, **values)).resource_id


def ask(r: Region, resource_id: str, **changes: Any) -> ApplicationInput:
    base = ApplicationInput(
        consumer_department_id=r.dept2_id,
        resource_id=resource_id,
        items=("name", "id_card"),
        modes=("query",),
        purpose=Purpose.ADMINISTRATIVE_BASIS,
        scenario="低保资格审核",
        legal_basis="《社会救助暂行办法》第十一条",
        valid_until=date(2027, 12, 31),
    )
    return replace(base, **changes)


def submit(city: City, r: Region, data: ApplicationInput) -> Application:
    return services.submit_application(city.db, city.profiles, data, actor=r.cat2)


def open_step(app: Application) -> Any:
    (step,) = [s for s in app.steps if s.at is None]
    return step


def extra_department(city: City, r: Region, short: str, n: int, code: str) -> tuple[str, Actor]:
    dept = identity_services.create_department(
        city.db,
        DepartmentInput(
            name=short, short_name=short, uscc=demo_uscc(code, n), jurisdiction_id=r.jurisdiction_id
        ),
        actor=SYSTEM,
    )
    return dept.id, _user(f"{code}_{n}", dept.id, Role.CATALOGUER)


# Suqian ---------------------------------------------------------------------------------
@pytest.mark.req("SQ-19", "SQ-21")
def test_suqian_provider_answers_within_ten_working_days_of_the_application(
    city: City,
) -> None:
    """Submitted on 2026-09-30: the 10 working days run over National Day (Oct 1-7) and its
    调休 Saturday Oct 10, so they are Oct 8, 9, 10, 12, 13, 14, 15, 16, 19, 20."""
    r = add_region(city, "suqian", "321399")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    with clock_at(NATIONAL_DAY_EVE):
        app = submit(city, r, ask(r, rid))
    assert app.state is ApplicationState.AWAITING_DECISION
    assert app.purpose is Purpose.ADMINISTRATIVE_BASIS and app.legal_basis  # SQ-21
    step = open_step(app)
    assert step.kind is StepKind.DECISION and step.department_id == r.dept_id
    assert (step.due_on, step.due_provisional) == (date(2026, 10, 20), False)
    assert wd(city, NATIONAL_DAY_EVE, 10) == (date(2026, 10, 20), False)
    # the inbox shows it, and flags it overdue the day after
    with city.db.read() as conn:
        (item,) = queries.inbox(conn, r.dept_id, date(2026, 10, 20))
        assert item.due_on == date(2026, 10, 20) and not item.overdue and item.days_left == 0
        (late,) = queries.inbox(conn, r.dept_id, date(2026, 10, 21))
        assert late.overdue and late.days_left == -1
        assert queries.inbox(conn, r.dept2_id) == []
    # a refusal needs reasons and a basis (SQ-19: 充分理由)
    for d in (Decision(approve=False), Decision(approve=False, reason="超出履职范围")):
        with pytest.raises(ValidationFailed) as err:
            services.decide(city.db, city.profiles, app.id, d, actor=r.cat)
        assert err.value.code == "sharing_reason_required"
    for other in (r.cat2, r.admin):  # neither the consumer nor the authority answers
        with pytest.raises(Forbidden):
            services.decide(city.db, city.profiles, app.id, Decision(approve=True), actor=other)
    refused = services.decide(
        city.db,
        city.profiles,
        app.id,
        Decision(approve=False, reason="超出履职范围", basis="《某法》第十条"),
        actor=r.cat,
    )
    assert refused.state is ApplicationState.REFUSED and refused.grant_id is None
    assert refused.steps[-1].decision is StepDecision.REFUSE
    assert "超出履职范围" in refused.steps[-1].reason
    assert audit_actions(city, app.id) == ["submit", "refuse"]


@pytest.mark.req("SQ-19")
def test_suqian_approval_may_narrow_and_grants_masked_items(city: City) -> None:
    r = add_region(city, "suqian", "321399")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    app = submit(city, r, ask(r, rid, items=("name", "id_card", "household_address")))
    with pytest.raises(ValidationFailed):  # raw items need a basis
        services.decide(
            city.db, city.profiles, app.id, Decision(approve=True, raw_items=("name",)), actor=r.cat
        )
    with pytest.raises(ValidationFailed):  # an approval cannot widen the request
        services.decide(
            city.db, city.profiles, app.id, Decision(approve=True, modes=("batch",)), actor=r.cat
        )
    done = services.decide(
        city.db,
        city.profiles,
        app.id,
        Decision(
            approve=True,
            items=("name", "id_card"),
            valid_until=date(2027, 6, 30),
            raw_items=("name",),
            basis="《社会救助暂行办法》第十一条",
        ),
        actor=r.cat,
    )
    assert done.state is ApplicationState.APPROVED and done.grant_id
    with city.db.read() as conn:
        g = queries.get_grant(conn, done.grant_id)
    assert g.status is GrantStatus.ACTIVE and g.valid_until == date(2027, 6, 30)
    assert {i.code: i.masking for i in g.items} == {"name": Masking.RAW, "id_card": Masking.MASKED}
    assert g.consumer_department_id == r.dept2_id and g.purpose == "administrative_basis"
    assert audit_actions(city, app.id) == ["submit", "approve"]
    assert audit_actions(city, g.id) == ["create"]


@pytest.mark.req("SQ-19")
def test_suqian_unconditional_resources_are_used_directly(city: City) -> None:
    """Decision: no application and no grant; submission is refused with a pointer to
    direct use on the platform."""
    r = add_region(city, "suqian", "321399")
    rid = resource(city, r, ShareCategory.UNCONDITIONAL)
    with pytest.raises(Conflict) as err:
        submit(city, r, ask(r, rid))
    assert err.value.code == "sharing_direct_use" and "直接" in err.value.message()


@pytest.mark.req("SQ-19", "HB-22")
def test_deadlines_from_a_saturday_and_into_2027(city: City, tmp_path: Path) -> None:
    r = add_region(city, "suqian", "321399")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    saturday = date(2026, 11, 21)
    with clock_at(saturday, hour=23):  # late on a Saturday, platform time
        app = submit(city, r, ask(r, rid))
    step = open_step(app)
    assert (
        (step.due_on, step.due_provisional) == wd(city, saturday, 10) == (date(2026, 12, 4), False)
    )
    with clock_at(date(2026, 12, 24)):
        late = submit(city, r, ask(r, rid))
    step = open_step(late)
    assert step.due_on == date(2027, 1, 7) and step.due_provisional is True
    with city.db.read() as conn:
        items = queries.inbox(conn, r.dept_id, date(2026, 12, 25))
    assert [i.application_id for i in items] == [app.id, late.id]  # sorted by due date
    assert items[1].due_provisional and items[0].overdue
    # HB-22: platform time in Shanghai decides; 07:00 on Monday 23 Nov is still Sunday in UTC
    with clock_at(date(2026, 11, 23), hour=7):
        monday = submit(city, r, ask(r, rid))
    assert monday.submitted_at.date() == date(2026, 11, 22)  # stored in UTC
    assert open_step(monday).due_on == wd(city, date(2026, 11, 23), 10)[0] == date(2026, 12, 7)
    # loading 2027 recomputes the provisional deadline (Jan 1 and Jan 4 holidays in this file)
    f = tmp_path / "2027.yaml"
    f.write_text("year: 2027\nsource: 测试\nholidays: [2027-01-01, 2027-01-04]\n", encoding="utf-8")
    load_year(city.db, f, actor=SYSTEM, recompute=city.platform.recompute_hooks)
    with city.db.read() as conn:
        step = open_step(queries.get_application(conn, late.id))
    # Dec 25, 28, 29, 30, 31, then Jan 5, 6, 7, 8, 11
    assert (step.due_on, step.due_provisional) == (date(2027, 1, 11), False)


# Refusals at submission -----------------------------------------------------------------
def test_submission_refusals(city: City) -> None:
    r = add_region(city, "suqian", "321399")
    closed = resource(city, r, ShareCategory.NOT_SHARED)
    with pytest.raises(Conflict) as err:
        submit(city, r, ask(r, closed))
    assert err.value.code == "sharing_not_shared"
    assert "协商" in err.value.message() and "协调" in err.value.message()
    assert "coordinates" in err.value.message("en")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    with pytest.raises(ValidationFailed) as verr:
        submit(city, r, ask(r, rid, items=("name", "salary")))
    assert verr.value.code == "sharing_unknown_item" and "salary" in verr.value.message()
    with pytest.raises(ValidationFailed) as verr:
        submit(city, r, ask(r, rid, modes=("feed",)))
    assert verr.value.code == "sharing_mode_not_offered"
    with city.db.read() as conn:
        assert queries.inbox(conn, r.dept_id) == []


# Shuozhou -------------------------------------------------------------------------------
@pytest.mark.req("SZ-15.1", "SZ-15.2", "SZ-16.1", "SZ-16.2")
def test_shuozhou_review_then_delegated_reviewer_decides(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    agent_id, agent = extra_department(city, r, "朔州大数据中心", 4, "140699")
    services.name_delegated_reviewer(city.db, r.dept_id, agent_id, actor=r.cat)
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    with clock_at(NATIONAL_DAY_EVE):
        app = submit(city, r, ask(r, rid))
    step = open_step(app)
    assert app.state is ApplicationState.COMPLIANCE_REVIEW
    assert step.kind is StepKind.COMPLIANCE_REVIEW and step.department_id == r.authority_id
    assert (step.due_on, step.due_provisional) == wd(city, NATIONAL_DAY_EVE, 2)
    assert step.due_on == date(2026, 10, 9)
    with pytest.raises(Forbidden):
        services.review_compliance(city.db, city.profiles, app.id, actor=r.cat, passed=True)
    forwarded_on = date(2026, 10, 9)
    with clock_at(forwarded_on):
        app = services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=True)
    step = open_step(app)
    assert step.kind is StepKind.DECISION and step.department_id == r.dept_id
    # SZ-15.2: 5 working days from forwarding (Oct 10 is a 调休 Saturday)
    assert (
        (step.due_on, step.due_provisional)
        == wd(city, forwarded_on, 5)
        == (
            date(2026, 10, 15),
            False,
        )
    )
    with city.db.read() as conn:  # the agent sees its principal's decision
        assert [i.step_id for i in queries.inbox(conn, agent_id)] == [step.id]
    with pytest.raises(ValidationFailed):  # SZ-16.2: reasons and basis
        services.decide(
            city.db, city.profiles, app.id, Decision(approve=False, reason="x"), actor=agent
        )
    done = services.decide(city.db, city.profiles, app.id, Decision(approve=True), actor=agent)
    assert done.state is ApplicationState.APPROVED
    assert done.steps[-1].agent_department_id == agent_id  # the agent decided (SZ-16.1)
    assert audit_actions(city, app.id) == ["submit", "verify", "forward", "approve"]


@pytest.mark.req("SZ-15.1", "SZ-16.3")
def test_shuozhou_unconditional_review_grants_and_dedicated_skip_review(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.UNCONDITIONAL)
    with clock_at(NATIONAL_DAY_EVE):
        app = submit(city, r, ask(r, rid))
    step = open_step(app)
    assert step.kind is StepKind.COMPLIANCE_REVIEW and step.due_on == date(2026, 10, 9)
    with pytest.raises(ValidationFailed):  # a failed review needs reasons
        services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=False)
    app = services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=True)
    assert app.state is ApplicationState.APPROVED and app.grant_id
    assert audit_actions(city, app.id) == ["submit", "verify"]
    # 专用: the listed department gets its grant without review
    ded = resource(
        city, r, ShareCategory.CONDITIONAL, name="专用资源", dedicated_department_ids=(r.dept2_id,)
    )
    app = submit(city, r, ask(r, ded))
    assert app.state is ApplicationState.APPROVED and app.grant_id
    assert [s.kind for s in app.steps] == [StepKind.SUBMISSION, StepKind.DEDICATED]
    assert audit_actions(city, app.id) == ["submit"]
    assert audit_actions(city, app.grant_id) == ["create"]


# Yixing ---------------------------------------------------------------------------------
@pytest.mark.req("YX-18", "YX-21")
def test_yixing_grant_waits_for_the_security_agreement(city: City, tmp_path: Path) -> None:
    r = add_region(city, "yixing", "320282")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    app = submit(city, r, ask(r, rid))
    step = open_step(app)
    assert step.kind is StepKind.DECISION and step.due_on is None  # YX-21 sets no deadline
    with pytest.raises(ValidationFailed):  # YX-18: no refusal without a reason
        services.decide(city.db, city.profiles, app.id, Decision(approve=False), actor=r.cat)
    done = services.decide(city.db, city.profiles, app.id, Decision(approve=True), actor=r.cat)
    assert done.grant_id
    with city.db.read() as conn:
        assert queries.get_grant(conn, done.grant_id).status is GrantStatus.PENDING_AGREEMENT
    with pytest.raises(Forbidden):
        services.confirm_security_agreement(city.db, done.grant_id, actor=r.cat, note="协议")
    with pytest.raises(Conflict):  # no agreement uploaded yet: the grant stays pending
        services.confirm_security_agreement(
            city.db, done.grant_id, actor=r.admin, note="宜兴安全保密协议2026-01号"
        )
    add_attachment(
        city.db,
        tmp_path / "att",
        owner_kind="grant",
        owner_id=done.grant_id,
        kind=AttachmentKind.SECURITY_AGREEMENT,
        filename="三方安全保密协议.pdf",
        data=b"%PDF-1.7 signed agreement",
        actor=r.cat2,
    )
    g = services.confirm_security_agreement(
        city.db, done.grant_id, actor=r.admin, note="宜兴安全保密协议2026-01号"
    )
    assert g.status is GrantStatus.ACTIVE
    assert audit_actions(city, done.grant_id) == ["create", "attach", "activate"]
    unconditional = resource(city, r, ShareCategory.UNCONDITIONAL, name="公开资源")
    with pytest.raises(Conflict):
        submit(city, r, ask(r, unconditional))


# Hubei ----------------------------------------------------------------------------------
@pytest.mark.req("HB-19", "HB-20", "HB-22")
def test_hubei_review_provider_reply_and_one_day_notice(city: City) -> None:
    r = add_region(city, "hubei", "420199")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    with clock_at(NATIONAL_DAY_EVE):
        app = submit(city, r, ask(r, rid))
    step = open_step(app)
    assert step.kind is StepKind.COMPLIANCE_REVIEW
    assert (step.due_on, step.due_provisional) == wd(city, NATIONAL_DAY_EVE, 3)
    assert step.due_on == date(2026, 10, 10)  # the 调休 Saturday is a working day
    received = date(2026, 10, 12)
    with clock_at(received):
        app = services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=True)
    step = open_step(app)
    # HB-20: 10 working days from the provider's receipt, not from the application
    assert (step.due_on, step.due_provisional) == wd(city, received, 10)
    assert step.due_on == date(2026, 10, 26)
    replied = date(2026, 10, 16)
    with clock_at(replied):
        with pytest.raises(ValidationFailed):
            services.decide(city.db, city.profiles, app.id, Decision(approve=False), actor=r.cat)
        app = services.decide(city.db, city.profiles, app.id, Decision(approve=True), actor=r.cat)
    notice = open_step(app)
    assert notice.kind is StepKind.CONSUMER_NOTICE and notice.department_id == r.authority_id
    assert (
        (notice.due_on, notice.due_provisional)
        == wd(city, replied, 1)
        == (
            date(2026, 10, 19),
            False,
        )
    )
    app = services.notify_consumer(city.db, app.id, actor=r.admin)
    assert all(s.at is not None for s in app.steps)
    assert audit_actions(city, app.id) == ["submit", "verify", "forward", "approve", "notify"]


@pytest.mark.req("HB-12", "HB-13", "HB-21", "HB-24")
def test_hubei_platform_authorises_unconditional_within_three_days(city: City) -> None:
    r = add_region(city, "hubei", "420199")
    rid = resource(city, r, ShareCategory.UNCONDITIONAL)
    with clock_at(NATIONAL_DAY_EVE):
        app = submit(city, r, ask(r, rid, client_system_id="sys-dibao", modes=("query", "verify")))
    step = open_step(app)
    assert step.kind is StepKind.DIRECT_AUTHORISATION and step.department_id == r.authority_id
    assert (step.due_on, step.due_provisional) == wd(city, NATIONAL_DAY_EVE, 3)
    with pytest.raises(ValidationFailed):  # HB-21: refusal with specific reasons
        services.authorise_directly(city.db, city.profiles, app.id, actor=r.admin, approve=False)
    app = services.authorise_directly(city.db, city.profiles, app.id, actor=r.admin)
    assert app.state is ApplicationState.APPROVED and app.grant_id
    with city.db.read() as conn:  # HB-24: the grant records system, mode and scope
        g = queries.get_grant(conn, app.grant_id)
    assert g.client_system_id == "sys-dibao" and g.modes == ("query", "verify")
    assert [(i.code, i.masking) for i in g.items] == [
        ("name", Masking.MASKED),
        ("id_card", Masking.MASKED),
    ]
    assert audit_actions(city, app.id) == ["submit", "approve"]


# Neixiang -------------------------------------------------------------------------------
@pytest.mark.req("NX-12", "NX-14", "NX-38")
def test_neixiang_authority_decides_and_batch_is_steered(city: City) -> None:
    r = add_region(city, "neixiang", "411399")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    with pytest.raises(ValidationFailed) as err:
        submit(city, r, ask(r, rid, modes=("batch",)))
    assert err.value.code == "sharing_batch_not_justified"
    assert err.value.field == "batch_justification"
    app = submit(city, r, ask(r, rid, modes=("batch",), batch_justification="需全量比对"))
    step = open_step(app)
    assert step.kind is StepKind.DECISION and step.department_id == r.authority_id
    assert step.due_on is None
    with pytest.raises(Forbidden):  # NX-12: the provider does not decide
        services.decide(city.db, city.profiles, app.id, Decision(approve=True), actor=r.cat)
    done = services.decide(
        city.db, city.profiles, app.id, Decision(approve=True, items=("id_card",)), actor=r.admin
    )
    with city.db.read() as conn:
        g = queries.get_grant(conn, done.grant_id or "")
    assert [i.code for i in g.items] == ["id_card"] and g.modes == ("batch",)
    # unconditional resources are applied for too (NX-14), and the authority decides
    uc = resource(city, r, ShareCategory.UNCONDITIONAL, name="无条件资源")
    app2 = submit(city, r, ask(r, uc))
    assert open_step(app2).department_id == r.authority_id
    refused = services.decide(
        city.db, city.profiles, app2.id, Decision(approve=False), actor=r.admin
    )  # NX-12 has no reasons clause
    assert refused.state is ApplicationState.REFUSED
    assert audit_actions(city, app2.id) == ["submit", "refuse"]


# Grants ---------------------------------------------------------------------------------
@pytest.mark.req("SZ-27", "NX-41")
def test_grants_suspend_revoke_and_expire_with_reasons(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.UNCONDITIONAL)
    app = submit(city, r, ask(r, rid, valid_until=date(2027, 1, 31)))
    app = services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=True)
    gid = app.grant_id or ""
    with pytest.raises(ValidationFailed):
        services.suspend_grant(city.db, gid, actor=r.cat, reason=" ")
    with pytest.raises(Forbidden):  # the consumer cannot suspend
        services.suspend_grant(city.db, gid, actor=r.cat2, reason="x")
    g = services.suspend_grant(city.db, gid, actor=r.cat, reason="发现超范围使用")
    assert (g.status, g.reason) == (GrantStatus.SUSPENDED, "发现超范围使用")
    g = services.resume_grant(city.db, gid, actor=r.admin, reason="整改完成")
    assert g.status is GrantStatus.ACTIVE
    g = services.revoke_grant(city.db, gid, actor=r.admin, reason="违规使用")
    assert g.status is GrantStatus.REVOKED
    with pytest.raises(Conflict):
        services.suspend_grant(city.db, gid, actor=r.cat, reason="x")
    # expiry
    app2 = submit(city, r, ask(r, rid, valid_until=date(2027, 1, 31)))
    app2 = services.review_compliance(city.db, city.profiles, app2.id, actor=r.admin, passed=True)
    assert services.expire_grants(city.db, actor=SYSTEM, today=date(2027, 1, 31)) == []
    assert services.expire_grants(city.db, actor=SYSTEM, today=date(2027, 2, 1)) == [app2.grant_id]
    with city.db.read() as conn:
        assert queries.get_grant(conn, app2.grant_id or "").status is GrantStatus.EXPIRED
        assert [x.id for x in queries.grants_of(conn, r.dept2_id)] == [gid, app2.grant_id]
    assert audit_actions(city, gid) == ["create", "suspend", "resume", "revoke"]
    assert audit_actions(city, app2.grant_id or "") == ["create", "expire"]
