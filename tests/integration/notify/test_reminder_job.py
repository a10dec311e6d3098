"""The deadline reminder job: the hourly task runs the sharing reminders, whose notices
reach the responsible department's message centre and its client system's webhook, once."""

from __future__ import annotations

from datetime import date

from govshare.catalog.model import ShareCategory
from govshare.identity import services as identity_services
from govshare.jobs.queue import make_queue
from govshare.notify import dispatch, queries, subscriptions
from tests.integration.catalog.test_rules import SYSTEM, add_region
from tests.integration.notify.conftest import Notify, Receiver
from tests.integration.sharing.test_routing import (
    NATIONAL_DAY_EVE,
    ask,
    clock_at,
    open_step,
    resource,
    submit,
)


def test_the_hourly_reminder_job_notifies_the_responsible_department_once(
    city: Notify, receiver: Receiver
) -> None:
    r = add_region(city, "shuozhou", "140699")
    rid = resource(city, r, ShareCategory.CONDITIONAL)
    with clock_at(NATIONAL_DAY_EVE):
        app = submit(city, r, ask(r, rid))
    step = open_step(app)
    assert step.department_id == r.authority_id and step.due_on == date(2026, 10, 9)
    system = identity_services.create_client_system(
        city.db, actor=SYSTEM, department_id=r.authority_id, name="数据局办件系统"
    )
    subscriptions.create_subscription(
        city.db,
        city.vault,
        actor=SYSTEM,
        client_system_id=system.client.id,
        url=receiver.url,
        events=["sharing.step"],
    )
    queue = make_queue(city.settings, platform=city.platform, immediate=True)
    with clock_at(date(2026, 10, 1)):  # not yet within a working day of the deadline
        queue.reminders()
    assert dispatch.dispatch_due(city.db, city.settings).total == 0
    with clock_at(date(2026, 10, 8)):
        queue.reminders()
        queue.reminders()  # hourly: the second run sends nothing twice
    dispatch.dispatch_due(city.db, city.settings)
    assert [x.headers["X-Govshare-Event"] for x in receiver.received] == ["sharing.step.due_soon"]
    with city.db.read() as conn:
        inbox = queries.list_notices(conn, r.admin)
        other = queries.list_notices(conn, r.cat2)  # the consumer department's cataloguer
    [due_soon] = [n for n in inbox.notices if n.event == "sharing.step.due_soon"]
    assert due_soon.link == f"/sharing/applications/{app.id}" and due_soon.unread
    assert "sharing.step.due_soon" not in [n.event for n in other.notices]
