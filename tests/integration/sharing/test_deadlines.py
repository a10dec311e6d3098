"""Deadlines across the 2026 Spring Festival, whose holiday (Feb 15-23) is flanked by two
调休 working Saturdays (Feb 14 and Feb 28), under every profile that sets one, each counted
from the event its own article names; and the purposes SQ-18 lists."""

from __future__ import annotations

from datetime import date

import pytest

from govshare.catalog.model import ShareCategory
from govshare.sharing import services
from govshare.sharing.model import ApplicationState, Purpose, StepKind
from govshare.sharing.services import Decision
from tests.integration.catalog.conftest import City
from tests.integration.catalog.test_rules import add_region
from tests.integration.sharing.test_routing import ask, clock_at, open_step, resource, submit, wd

BEFORE_SPRING_FESTIVAL = date(2026, 2, 12)  # Thursday


@pytest.mark.req("SQ-19", "HB-22")
def test_suqian_ten_working_days_over_the_spring_festival(city: City) -> None:
    """Feb 13, 14 (调休 Sat), 24, 25, 26, 27, 28 (调休 Sat), Mar 2, 3, 4."""
    r = add_region(city, "suqian", "321399")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    with clock_at(BEFORE_SPRING_FESTIVAL, hour=23):  # late evening: the platform's day counts
        app = submit(city, r, ask(r, rid))
    step = open_step(app)
    assert step.kind is StepKind.DECISION
    assert (step.due_on, step.due_provisional) == (date(2026, 3, 4), False)
    assert (step.due_on, step.due_provisional) == wd(city, BEFORE_SPRING_FESTIVAL, 10)


@pytest.mark.req("SZ-15.1", "SZ-15.2")
def test_shuozhou_review_and_reply_over_the_spring_festival(city: City) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    with clock_at(date(2026, 2, 13)):  # Friday
        app = submit(city, r, ask(r, rid))
    assert open_step(app).due_on == date(2026, 2, 24)  # Feb 14 (调休), Feb 24
    with clock_at(date(2026, 2, 14)):  # the 调休 Saturday is a working day: forwarded then
        app = services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=True)
    step = open_step(app)
    # 5 working days from forwarding: Feb 24, 25, 26, 27, 28 (调休)
    assert (step.due_on, step.due_provisional) == (date(2026, 2, 28), False)


@pytest.mark.req("HB-19", "HB-20")
def test_hubei_check_reply_and_notice_over_the_spring_festival(city: City) -> None:
    r = add_region(city, "hubei", "420199")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    with clock_at(date(2026, 2, 13)):
        app = submit(city, r, ask(r, rid))
    assert open_step(app).due_on == date(2026, 2, 25)  # Feb 14, 24, 25
    with clock_at(date(2026, 2, 24)):
        app = services.review_compliance(city.db, city.profiles, app.id, actor=r.admin, passed=True)
    # 10 working days after receipt: Feb 25, 26, 27, 28 (调休), Mar 2, 3, 4, 5, 6, 9
    assert open_step(app).due_on == date(2026, 3, 9)
    with clock_at(date(2026, 2, 27)):  # Friday: the notice is due on the 调休 Saturday
        app = services.decide(city.db, city.profiles, app.id, Decision(approve=True), actor=r.cat)
    notice = open_step(app)
    assert notice.kind is StepKind.CONSUMER_NOTICE and notice.due_on == date(2026, 2, 28)


@pytest.mark.req("SQ-18", "SQ-21")
def test_suqian_applications_state_one_of_the_listed_purposes(city: City) -> None:
    """SQ-18 names the usage purposes of conditional data: 行政依据, 工作参考, 数据校核 and
    业务协同; each application records the one stated, and the grant keeps it."""
    assert [p.value for p in Purpose] == [
        "administrative_basis",
        "work_reference",
        "verification",
        "collaboration",
    ]
    r = add_region(city, "suqian", "321399")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    for purpose in Purpose:
        app = submit(city, r, ask(r, rid, purpose=purpose))
        assert app.purpose is purpose
        done = services.decide(city.db, city.profiles, app.id, Decision(approve=True), actor=r.cat)
        assert done.state is ApplicationState.APPROVED
        with city.db.read() as conn:
            from govshare.sharing import queries

            assert queries.get_grant(conn, done.grant_id or "").purpose == purpose.value
