"""Webhooks: the outbox is written in the causing transaction and sent only after it commits;
deliveries are HMAC-signed, retried with backoff, given up after six attempts, and never sent
twice by two dispatchers at once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from govshare.audit.tables import audit_entry
from govshare.jobs.queue import make_queue
from govshare.kernel.clock import utcnow
from govshare.notify import dispatch, subscriptions
from govshare.notify import services as notify_services
from govshare.notify.tables import (
    email_delivery,
    notification,
    webhook_delivery,
    webhook_subscription,
)
from tests.integration.notify.conftest import Notify, Receiver, free_port


def _deliveries(city: Notify) -> list[dict[str, object]]:
    with city.db.read() as conn:
        rows = conn.execute(select(webhook_delivery).order_by(webhook_delivery.c.created_at))
        return [dict(r._mapping) for r in rows]


def _count(city: Notify, table: object) -> int:
    with city.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


class Boom(Exception):
    pass


def test_a_rolled_back_transaction_queues_nothing_and_sends_nothing(
    city: Notify, receiver: Receiver
) -> None:
    city.subscribe(receiver.url)
    city.set_contact_email("人社局", "rsj@example.gov.cn")
    woken: list[int] = []
    notify_services.set_waker(lambda: woken.append(1))
    with pytest.raises(Boom), city.db.transaction() as tx:
        notify_services.notify(
            tx,
            event="sharing.application.approved",
            department_id=city.depts["人社局"].id,
            subject_zh="共享申请已通过",
            subject_en="approved",
        )
        assert woken == []  # nothing wakes the dispatcher before the commit
        raise Boom
    assert woken == []
    assert _count(city, notification) == 0
    assert _count(city, webhook_delivery) == 0 and _count(city, email_delivery) == 0
    assert dispatch.dispatch_due(city.db, city.settings).total == 0
    assert receiver.received == []

    city.notify()  # the same notice, committed: queued, and the dispatcher woken once
    assert woken == [1]
    assert _count(city, notification) == 1 and _count(city, webhook_delivery) == 1
    assert receiver.received == []  # the commit itself sends nothing
    dispatch.dispatch_due(city.db, city.settings)
    assert len(receiver.received) == 1


def test_delivery_is_signed_and_the_signature_verifies_independently(
    city: Notify, receiver: Receiver
) -> None:
    created = city.subscribe(receiver.url)
    nid = city.notify(data={"application_id": "X1", "id_card": "320102199001011234"})
    report = dispatch.dispatch_due(city.db, city.settings)
    assert report.webhooks == {"delivered": 1}

    [got] = receiver.received
    [row] = _deliveries(city)
    h = {k.lower(): v for k, v in got.headers.items()}
    assert got.path == "/hook"
    assert h["content-type"].startswith("application/json")
    assert h["x-govshare-event"] == "sharing.application.approved"
    assert h["x-govshare-delivery"] == row["id"]
    ts = h["x-govshare-timestamp"]
    assert abs(int(ts) - int(utcnow().timestamp())) < 3600
    expected = hmac.new(
        created.secret.encode(), ts.encode() + b"." + got.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(h["x-govshare-signature"], f"sha256={expected}")
    wrong = hmac.new(b"another secret", ts.encode() + b"." + got.body, hashlib.sha256)
    assert h["x-govshare-signature"] != f"sha256={wrong.hexdigest()}"

    body = json.loads(got.body)
    assert body["id"] == nid and body["event"] == "sharing.application.approved"
    assert body["subject"] == {
        "zh": "共享申请已通过：居民户籍信息",
        "en": "share application approved: household registration",
    }
    assert body["link"] == "/sharing/applications/X1"
    assert body["data"]["application_id"] == "X1"
    assert body["data"]["id_card"] != "320102199001011234"  # notices carry masked values only
    assert body["created_at"].endswith("Z")

    assert row["status"] == "delivered" and row["attempts"] == 1 and row["last_status"] == 200
    assert row["delivered_at"] is not None and row["next_attempt_at"] is None
    with city.db.read() as conn:
        audited = conn.execute(
            select(audit_entry.c.action, audit_entry.c.details).where(
                audit_entry.c.object_type == "webhook_delivery",
                audit_entry.c.object_id == row["id"],
            )
        ).all()
    assert [a.action for a in audited] == ["transmit"]
    assert created.secret not in audited[0].details
    # the secret is stored encrypted, never in clear
    with city.db.read() as conn:
        stored = conn.execute(select(webhook_subscription.c.secret_encrypted)).scalar_one()
    assert created.secret not in stored and city.vault.decrypt(stored) == created.secret


def test_event_prefixes_filter_what_a_subscription_receives(
    city: Notify, receiver: Receiver
) -> None:
    city.subscribe(receiver.url, events=["sharing.grant"])
    city.notify(event="sharing.application.approved")
    city.notify(event="sharing.grant.suspended")
    city.notify(event="sharing.grantee.other")  # a prefix matches whole segments only
    dispatch.dispatch_due(city.db, city.settings)
    assert [r.headers["X-Govshare-Event"] for r in receiver.received] == ["sharing.grant.suspended"]


def test_a_notice_to_another_department_is_not_sent_to_this_departments_webhook(
    city: Notify, receiver: Receiver
) -> None:
    city.subscribe(receiver.url)  # 人社局's client system
    city.notify("公安局")
    city.notify(None, username="rs_user")  # a personal notice goes to no client system
    dispatch.dispatch_due(city.db, city.settings)
    assert receiver.received == [] and _deliveries(city) == []


def test_retry_with_backoff_after_a_500_then_success(city: Notify, receiver: Receiver) -> None:
    city.subscribe(receiver.url)
    city.notify()
    receiver.plan = [500]
    t0 = utcnow()
    assert dispatch.dispatch_due(city.db, city.settings, t0).webhooks == {"pending": 1}
    [row] = _deliveries(city)
    assert row["status"] == "pending" and row["attempts"] == 1
    assert row["last_status"] == 500 and row["last_error"] == "HTTP 500"
    assert row["next_attempt_at"] == t0 + timedelta(minutes=1)

    assert dispatch.dispatch_due(city.db, city.settings, t0 + timedelta(seconds=59)).total == 0
    assert len(receiver.received) == 1  # not yet due

    later = t0 + timedelta(minutes=1)
    assert dispatch.dispatch_due(city.db, city.settings, later).webhooks == {"delivered": 1}
    [row] = _deliveries(city)
    assert row["status"] == "delivered" and row["attempts"] == 2 and row["last_error"] == ""
    assert len(receiver.received) == 2
    # both attempts carry the same delivery id, so a receiver can deduplicate
    assert len({r.headers["X-Govshare-Delivery"] for r in receiver.received}) == 1


def test_gives_up_after_six_attempts_with_growing_backoff(city: Notify, receiver: Receiver) -> None:
    city.subscribe(receiver.url)
    city.notify()
    receiver.plan = [503] * 10
    at = utcnow()
    waits = []
    for attempt in range(1, 7):
        dispatch.dispatch_due(city.db, city.settings, at)
        [row] = _deliveries(city)
        assert row["attempts"] == attempt
        if attempt < 6:
            assert row["status"] == "pending"
            waits.append(row["next_attempt_at"] - at)
            at = row["next_attempt_at"]
    assert waits == list(dispatch.BACKOFF)
    assert waits == sorted(waits) and waits[0] == timedelta(minutes=1)
    assert row["status"] == "failed" and row["next_attempt_at"] is None
    assert len(receiver.received) == dispatch.MAX_ATTEMPTS == 6
    assert dispatch.dispatch_due(city.db, city.settings, at + timedelta(days=30)).total == 0
    assert len(receiver.received) == 6


def test_an_unreachable_receiver_is_a_failed_attempt(city: Notify) -> None:
    city.subscribe(f"http://127.0.0.1:{free_port()}/hook")  # nothing listens there
    city.notify()
    assert dispatch.dispatch_due(city.db, city.settings).webhooks == {"pending": 1}
    [row] = _deliveries(city)
    assert row["attempts"] == 1 and row["last_status"] is None
    assert "URLError" in str(row["last_error"]) and "127.0.0.1" not in str(row["last_error"])


def test_a_redirect_is_not_followed(city: Notify, receiver: Receiver) -> None:
    city.subscribe(receiver.url)
    city.notify()
    receiver.plan = [302]
    dispatch.dispatch_due(city.db, city.settings)
    [row] = _deliveries(city)
    assert row["status"] == "pending" and row["last_status"] == 302
    assert len(receiver.received) == 1


def test_two_dispatchers_at_once_send_each_delivery_once(city: Notify, receiver: Receiver) -> None:
    city.subscribe(receiver.url)
    for _ in range(12):
        city.notify()
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            start.wait()
            dispatch.dispatch_due(city.db, city.settings)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [r.headers["X-Govshare-Delivery"] for r in receiver.received]
    assert len(ids) == 12 and len(set(ids)) == 12
    assert {d["status"] for d in _deliveries(city)} == {"delivered"}
    assert {d["attempts"] for d in _deliveries(city)} == {1}


def test_a_delivery_left_sending_by_a_dead_dispatcher_is_retried_after_its_lease(
    city: Notify, receiver: Receiver
) -> None:
    city.subscribe(receiver.url)
    city.notify()
    t0 = utcnow()
    with city.db.transaction() as tx:  # what a dispatcher that died mid-send leaves behind
        tx.conn.execute(
            update(webhook_delivery).values(
                status="sending", attempts=1, next_attempt_at=t0 + dispatch.LEASE
            )
        )
    assert dispatch.dispatch_due(city.db, city.settings, t0).total == 0  # still leased
    done = dispatch.dispatch_due(city.db, city.settings, t0 + dispatch.LEASE)
    assert done.webhooks == {"delivered": 1}
    [row] = _deliveries(city)
    assert row["attempts"] == 2 and len(receiver.received) == 1


def test_deactivating_a_subscription_cancels_its_queued_deliveries(
    city: Notify, receiver: Receiver
) -> None:
    created = city.subscribe(receiver.url)
    city.notify()
    subscriptions.deactivate_subscription(
        city.db, created.subscription.id, actor=city.actor("rs_admin"), reason="系统下线"
    )
    assert dispatch.dispatch_due(city.db, city.settings).webhooks == {"cancelled": 1}
    assert receiver.received == []
    city.notify()  # no new delivery is queued for an inactive subscription
    assert len(_deliveries(city)) == 1


def test_the_background_dispatcher_sends_right_after_the_commit(
    city: Notify, receiver: Receiver
) -> None:
    city.subscribe(receiver.url)
    with dispatch.running(city.db, city.settings, interval=3600) as dispatcher:
        city.notify()
        assert dispatcher.drain(timeout=30)
        assert len(receiver.received) == 1
    # stopped: the waker is cleared, later commits queue without waking anyone
    city.notify()
    assert len(receiver.received) == 1 and _deliveries(city)[-1]["status"] == "pending"


def test_the_periodic_job_sweeps_the_outbox(city: Notify, receiver: Receiver) -> None:
    city.subscribe(receiver.url)
    city.notify()
    queue = make_queue(city.settings, platform=city.platform, immediate=True)
    queue.dispatch()  # immediate mode: the periodic task runs at once
    assert len(receiver.received) == 1
    assert [d["status"] for d in _deliveries(city)] == ["delivered"]
