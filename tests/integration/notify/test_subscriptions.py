"""Webhook subscriptions: who may manage them, what a URL and an event filter may be, and
the audit trail (without the secret)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from govshare.audit.tables import audit_entry
from govshare.identity import queries as identity_queries
from govshare.kernel.errors import Forbidden, ValidationFailed
from govshare.notify import queries, subscriptions
from tests.integration.notify.conftest import Notify


def test_a_department_admin_subscribes_its_client_system(city: Notify) -> None:
    created = city.subscribe(
        "https://rs.example.gov.cn/govshare/hook?k=abc", events=["sharing", "sharing"]
    )
    sub = created.subscription
    assert sub.active and sub.events == ("sharing",) and sub.client_name == "人社业务系统"
    assert len(created.secret) >= 32
    with city.db.read() as conn:
        [entry] = conn.execute(
            select(audit_entry).where(audit_entry.c.object_type == "webhook_subscription")
        ).all()
        listed = queries.list_subscriptions(conn, department_ids={city.depts["人社局"].id})
        other = queries.list_subscriptions(conn, department_ids={city.depts["公安局"].id})
    assert entry.action == "create" and entry.actor_name == "rs_admin"
    assert created.secret not in entry.details and "k=abc" not in entry.details
    assert [s.id for s in listed] == [sub.id] and other == []


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://rs.example.gov.cn/hook", "webhook_url_invalid"),
        ("rs.example.gov.cn/hook", "webhook_url_invalid"),
        ("https://user:pw@rs.example.gov.cn/hook", "webhook_url_credentials"),
        ("https://rs.example.gov.cn/" + "a" * 500, "webhook_url_invalid"),
        ("https://rs.example.gov.cn:99999/hook", "webhook_url_invalid"),
    ],
)
def test_bad_urls_are_refused(city: Notify, url: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        city.subscribe(url)
    assert exc.value.code == code and exc.value.field == "url"


def test_bad_event_prefixes_are_refused(city: Notify) -> None:
    with pytest.raises(ValidationFailed) as exc:
        city.subscribe("https://rs.example.gov.cn/hook", events=["sharing.*"])
    assert exc.value.field == "events"
    assert subscriptions.clean_events("sharing, catalog\nsharing.grant") == [
        "sharing",
        "catalog",
        "sharing.grant",
    ]


def test_only_the_clients_department_admin_or_the_client_itself_manages(city: Notify) -> None:
    with pytest.raises(Forbidden):
        city.subscribe("https://rs.example.gov.cn/hook", admin="ga_admin")
    with pytest.raises(Forbidden):
        city.subscribe("https://rs.example.gov.cn/hook", admin="rs_user")
    created = city.subscribe("https://rs.example.gov.cn/hook")
    with pytest.raises(Forbidden):
        subscriptions.deactivate_subscription(
            city.db, created.subscription.id, actor=city.actor("ga_admin")
        )
    rs_client = city.clients["人社业务系统"]
    ga_client = city.clients["公安人口库接口"]
    with city.db.read() as conn:
        rs_actor = identity_queries.client_actor(conn, rs_client.client_id)
        ga_actor = identity_queries.client_actor(conn, ga_client.client_id)
    assert rs_actor is not None and ga_actor is not None
    with pytest.raises(Forbidden):  # a client system manages only its own subscriptions
        subscriptions.deactivate_subscription(city.db, created.subscription.id, actor=ga_actor)
    own = subscriptions.create_subscription(
        city.db,
        city.vault,
        actor=rs_actor,
        client_system_id=rs_client.id,
        url="https://rs.example.gov.cn/own",
    )
    assert own.subscription.created_by == rs_client.name
    done = subscriptions.deactivate_subscription(
        city.db, created.subscription.id, actor=rs_actor, reason="换地址"
    )
    assert not done.active
    # the authority's admin governs the city's departments, so it may manage them too
    assert city.subscribe("https://rs.example.gov.cn/x", admin="admin").subscription.active


def test_a_revoked_client_system_cannot_subscribe(city: Notify) -> None:
    from govshare.identity import services as identity_services

    identity_services.revoke_client_system(
        city.db, city.clients["人社业务系统"].id, actor=city.actor("rs_admin"), reason="停用"
    )
    with pytest.raises(ValidationFailed) as exc:
        city.subscribe("https://rs.example.gov.cn/hook")
    assert exc.value.code == "client_revoked"
