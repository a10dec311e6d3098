"""After a refusal: negotiation, coordination by the authority, and a need taken straight
to the authority; every step audited, timestamped and told to the other side."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from govshare.catalog.model import ShareCategory
from govshare.kernel.errors import Conflict, Forbidden, ValidationFailed
from govshare.notify.tables import notification
from govshare.sharing import negotiation, queries, services
from govshare.sharing.model import (
    Application,
    ApplicationState,
    GrantStatus,
    NegotiationOutcome,
    NegotiationState,
    StepDecision,
    StepKind,
)
from govshare.sharing.services import Decision
from tests.integration.catalog.conftest import City
from tests.integration.catalog.test_rules import Region, add_region, audit_actions
from tests.integration.sharing.test_routing import (
    ask,
    extra_department,
    open_step,
    resource,
    submit,
)

REFUSAL = Decision(
    approve=False, reason="超出申请部门履职范围", basis="《某法》第十条", basis_type="law"
)


def events(city: City, department_id: str) -> list[str]:
    with city.db.read() as conn:
        return [
            str(e)
            for e in conn.execute(
                select(notification.c.event)
                .where(notification.c.department_id == department_id)
                .order_by(notification.c.created_at, notification.c.id)
            ).scalars()
        ]


def refused(city: City, r: Region) -> Application:
    """A Shuozhou conditional application, reviewed, forwarded and refused by the provider."""
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    app = submit(city, r, ask(r, rid))
    services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=True)
    app = services.decide(city.db, city.profiles, app.id, REFUSAL, actor=r.cat)
    assert app.state is ApplicationState.REFUSED
    return app


@pytest.mark.req("SZ-15.3", "HB-25", "SZ-16.2")
def test_refusal_negotiation_then_coordination_grants(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    app = refused(city, r)
    assert "sharing.application.refused" in events(city, r.dept2_id)  # the consumer is told
    with pytest.raises(Forbidden):  # only the consumer opens a negotiation
        negotiation.open_negotiation(city.db, app.id, actor=r.cat, message="请重新考虑")
    case = negotiation.open_negotiation(
        city.db, app.id, actor=r.cat2, message="低保审核须核对身份，请重新考虑"
    )
    assert case.state is NegotiationState.OPEN
    assert "sharing.negotiation.opened" in events(city, r.dept_id)  # the provider is told
    with pytest.raises(Conflict):  # one case per application
        negotiation.open_negotiation(city.db, app.id, actor=r.cat2, message="再次")
    with pytest.raises(Forbidden):  # the authority joins only once the case is escalated
        negotiation.post_message(city.db, case.id, actor=r.admin, body="请双方说明")
    _, outsider = extra_department(city, r, "朔州某局", 5, "140699")
    with pytest.raises(Forbidden):  # a third department reads and writes nothing
        negotiation.post_message(city.db, case.id, actor=outsider, body="旁观")
    negotiation.post_message(city.db, case.id, actor=r.cat, body="仍认为不符合条件")
    case = negotiation.escalate(city.db, case.id, actor=r.cat2, reason="协商不成，提请协调")
    assert case.state is NegotiationState.COORDINATION and case.escalated_at is not None
    app = _app(city, app.id)
    assert app.state is ApplicationState.COORDINATING
    step = open_step(app)
    assert step.kind is StepKind.COORDINATION and step.department_id == r.authority_id
    assert "sharing.step.coordination" in events(city, r.authority_id)
    with pytest.raises(Forbidden):  # the provider cannot decide the coordination
        negotiation.coordinate(city.db, city.profiles, case.id, Decision(approve=True), actor=r.cat)
    negotiation.post_message(city.db, case.id, actor=r.admin, body="经协调，同意按需共享姓名")
    done = negotiation.coordinate(
        city.db,
        city.profiles,
        case.id,
        Decision(approve=True, items=("name",), reason="履职所需，最少够用"),
        actor=r.admin,
    )
    assert done.state is ApplicationState.APPROVED and done.grant_id
    with city.db.read() as conn:
        g = queries.get_grant(conn, done.grant_id)
        closed = queries.negotiation_of(conn, app.id)
    assert [i.code for i in g.items] == ["name"] and g.status is GrantStatus.ACTIVE
    assert closed is not None and closed.outcome is NegotiationOutcome.GRANTED
    assert [m.department_id for m in closed.messages] == [
        r.dept2_id,
        r.dept_id,
        r.dept2_id,
        r.authority_id,
    ]
    assert done.steps[-1].decision is StepDecision.APPROVE
    assert audit_actions(city, app.id) == [
        "submit",
        "verify",
        "forward",
        "refuse",
        "negotiate",
        "negotiate",
        "escalate",
        "negotiate",
        "coordinate",
    ]
    assert "sharing.application.approved" in events(city, r.dept2_id)


def _app(city: City, application_id: str) -> Application:
    with city.db.read() as conn:
        return queries.get_application(conn, application_id)


@pytest.mark.req("SZ-15.3", "HB-25")
def test_provider_may_agree_in_negotiation_and_authority_may_uphold(city: City) -> None:
    r = add_region(city, "hubei", "420199")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    first = submit(city, r, ask(r, rid))
    services.review_compliance(city.db, city.profiles, first.id, actor=r.admin, passed=True)
    services.decide(city.db, city.profiles, first.id, REFUSAL, actor=r.cat)
    case = negotiation.open_negotiation(city.db, first.id, actor=r.cat2, message="补充说明用途")
    with pytest.raises(ValidationFailed):  # the agreement may only narrow the request
        negotiation.provider_agrees(
            city.db, city.profiles, case.id, Decision(approve=True, items=("phone",)), actor=r.cat
        )
    agreed = negotiation.provider_agrees(
        city.db, city.profiles, case.id, Decision(approve=True), actor=r.cat
    )
    assert agreed.state is ApplicationState.APPROVED and agreed.grant_id
    with city.db.read() as conn:
        c = queries.negotiation_of(conn, first.id)
    assert c is not None and c.outcome is NegotiationOutcome.AGREED

    second = submit(city, r, ask(r, rid, items=("name",)))
    services.review_compliance(city.db, city.profiles, second.id, actor=r.admin, passed=True)
    services.decide(city.db, city.profiles, second.id, REFUSAL, actor=r.cat)
    case2 = negotiation.open_negotiation(city.db, second.id, actor=r.cat2, message="请求共享")
    case2 = negotiation.escalate(city.db, case2.id, actor=r.cat, reason="无法满足")
    with pytest.raises(ValidationFailed):  # upholding needs reasons
        negotiation.coordinate(
            city.db, city.profiles, case2.id, Decision(approve=False), actor=r.admin
        )
    upheld = negotiation.coordinate(
        city.db,
        city.profiles,
        case2.id,
        Decision(approve=False, reason="确属法律禁止共享"),
        actor=r.admin,
    )
    assert upheld.state is ApplicationState.REFUSED and upheld.grant_id is None
    assert upheld.steps[-1].decision is StepDecision.UPHOLD
    with pytest.raises(Conflict):  # closed
        negotiation.post_message(city.db, case2.id, actor=r.cat2, body="再议")


@pytest.mark.req("YX-19", "NX-40", "SZ-15.3")
def test_a_need_goes_straight_to_the_authority_even_for_not_shared(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.NOT_SHARED)
    with pytest.raises(Conflict):  # an ordinary application is refused with the path
        submit(city, r, ask(r, rid, modes=()))
    with pytest.raises(ValidationFailed):  # the request still states what it needs
        negotiation.request_coordination(
            city.db, city.profiles, ask(r, rid, items=()), actor=r.cat2, reason="履职需要"
        )
    app = negotiation.request_coordination(
        city.db, city.profiles, ask(r, rid), actor=r.cat2, reason="应急处置履职需要"
    )
    assert app.state is ApplicationState.COORDINATING and app.share_category == "not_shared"
    step = open_step(app)
    assert step.kind is StepKind.COORDINATION and step.department_id == r.authority_id
    with city.db.read() as conn:
        case = queries.negotiation_of(conn, app.id)
    assert case is not None and case.state is NegotiationState.COORDINATION
    assert "sharing.negotiation.escalated" in events(city, r.dept_id)  # the provider is told
    done = negotiation.coordinate(
        city.db, city.profiles, case.id, Decision(approve=True, reason="应急"), actor=r.admin
    )
    assert done.state is ApplicationState.APPROVED and done.grant_id
    with city.db.read() as conn:
        assert queries.get_grant(conn, done.grant_id).status is GrantStatus.ACTIVE
    assert audit_actions(city, app.id) == ["submit", "escalate", "coordinate"]

    # YX-19: under Yixing a department may submit its need to the authority directly; the
    # coordinated grant of a conditional resource still waits for the agreement (YX-21).
    y = add_region(city, "yixing", "320282")
    cond = resource(city, y, ShareCategory.CONDITIONAL)
    app = negotiation.request_coordination(
        city.db, city.profiles, ask(y, cond), actor=y.cat2, reason="提请市经信委协调"
    )
    with city.db.read() as conn:
        case = queries.negotiation_of(conn, app.id)
    assert case is not None
    done = negotiation.coordinate(
        city.db, city.profiles, case.id, Decision(approve=True), actor=y.admin
    )
    with city.db.read() as conn:
        assert queries.get_grant(conn, done.grant_id or "").status is GrantStatus.PENDING_AGREEMENT


@pytest.mark.req("SZ-15.3")
def test_consumer_may_withdraw(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    app = refused(city, r)
    case = negotiation.open_negotiation(city.db, app.id, actor=r.cat2, message="请重新考虑")
    with pytest.raises(Forbidden):
        negotiation.withdraw(city.db, case.id, actor=r.cat)
    case = negotiation.withdraw(city.db, case.id, actor=r.cat2, reason="改用其他资源")
    assert case.state is NegotiationState.CLOSED and case.outcome is NegotiationOutcome.WITHDRAWN
    assert _app(city, app.id).state is ApplicationState.REFUSED
    with pytest.raises(Conflict):
        negotiation.escalate(city.db, case.id, actor=r.cat2, reason="再议")
