"""The guard at the service level, on both databases: every refusal reason of lookup and
verify with its code, each refusal audited without the key; suspension and revocation bite
at the next call; the retirement transition serves until its cut-off and refuses after it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from govshare.audit.queries import AuditFilter, list_entries
from govshare.catalog import services as catalog_services
from govshare.delivery.guard import VERIFY_PER_SUBJECT_PER_DAY, CallRequest, Guard
from govshare.delivery.model import CallHeaders
from govshare.delivery.queries import error_stats
from govshare.delivery.services import lookup, verify
from govshare.identity import queries as identity_queries
from govshare.kernel.clock import SHANGHAI, local_date, set_clock, utcnow
from govshare.kernel.errors import DomainError
from govshare.sharing import services as sharing
from govshare.sharing.tables import share_grant
from tests.integration.delivery.conftest import (
    HEADERS,
    P1,
    P2,
    Delivery,
    population_resource,
)


def call(d: Delivery, **kw: Any) -> lookup.LookupResult:
    return lookup.lookup(
        d.platform,
        kw.pop("grant_id", d.grant_id),
        key=kw.pop("key", P1),
        items=kw.pop("items", None),
        call=kw.pop("call", HEADERS),
        actor=kw.pop("actor", d.client),
    )


def check(d: Delivery, claims: dict[str, Any] | None = None, **kw: Any) -> verify.VerifyResult:
    return verify.verify(
        d.platform,
        kw.pop("grant_id", d.grant_id),
        key=kw.pop("key", P1),
        claims=claims if claims is not None else {"name": "欧阳娜娜"},
        call=kw.pop("call", HEADERS),
        actor=kw.pop("actor", d.client),
    )


def refusal(fn: Any, *args: Any, **kw: Any) -> DomainError:
    with pytest.raises(DomainError) as exc:
        fn(*args, **kw)
    return exc.value


def denials(d: Delivery) -> list[dict[str, Any]]:
    import json

    with d.platform.db.read() as conn:
        page = list_entries(conn, AuditFilter(action="access_denied"), page_size=500)
    return [
        {**json.loads(e.details), "purpose": e.purpose, "case_no": e.case_no, "obj": e.object_id}
        for e in sorted(page.entries, key=lambda e: e.seq)
    ]


@pytest.mark.req("SQ-24", "YX-25", "HB-27")
def test_unknown_and_foreign_grants_are_refused_and_audited(delivery: Delivery) -> None:
    e = refusal(call, delivery, grant_id="01JXXXXXXXXXXXXXXXXXXXXXXX")
    assert (e.code, e.status) == ("grant_not_found", 404)
    e = refusal(call, delivery, actor=delivery.other_client)  # 市场监管局's system
    assert (e.code, e.status) == ("grant_not_yours", 403)
    e = refusal(check, delivery, actor=delivery.other_client)
    assert e.code == "grant_not_yours"
    found = denials(delivery)
    assert [x["code"] for x in found] == ["grant_not_found", "grant_not_yours", "grant_not_yours"]
    assert all(x["obj"] == "-" for x in found)  # nothing recorded of another's grant
    with delivery.platform.db.read() as conn:
        assert error_stats(conn, "-") == {"grant_not_found": 1, "grant_not_yours": 2}


@pytest.mark.req("HB-24")
def test_a_grant_for_one_client_system_refuses_the_others(delivery: Delivery) -> None:
    with delivery.platform.db.read() as conn:
        own = next(
            c
            for c in identity_queries.list_client_systems(conn)
            if c.client_id == delivery.client.id
        )
    delivery.set_grant(client_system_id="01JOTHERSYSTEM000000000000")
    assert refusal(call, delivery).code == "grant_wrong_client"
    delivery.set_grant(client_system_id=own.id)
    assert call(delivery).records


@pytest.mark.req("NX-41", "SZ-27")
def test_suspension_and_revocation_bite_at_the_next_call(delivery: Delivery) -> None:
    city = delivery.city
    assert call(delivery).records
    sharing.suspend_grant(
        city.db, delivery.grant_id, actor=city.actor("admin"), reason="超范围使用"
    )
    assert refusal(call, delivery).code == "grant_suspended"
    assert refusal(check, delivery).code == "grant_suspended"
    sharing.resume_grant(city.db, delivery.grant_id, actor=city.actor("admin"), reason="整改完成")
    assert call(delivery).records
    sharing.revoke_grant(city.db, delivery.grant_id, actor=city.actor("admin"), reason="违规使用")
    e = refusal(call, delivery)
    assert (e.code, e.status) == ("grant_revoked", 403)
    found = denials(delivery)
    assert [x["code"] for x in found] == ["grant_suspended", "grant_suspended", "grant_revoked"]
    assert all(x["grant"] == delivery.grant_id and x["obj"] == delivery.grant_id for x in found)


@pytest.mark.req("YX-25")
@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"status": "pending_agreement"}, "grant_pending_agreement"),
        ({"status": "expired"}, "grant_expired"),
        ({"valid_until": date(2020, 1, 1)}, "grant_expired"),  # before the expiry job ran
    ],
)
def test_grants_that_are_not_in_force_are_refused(
    delivery: Delivery, values: dict[str, Any], code: str
) -> None:
    delivery.set_grant(**values)
    assert refusal(call, delivery).code == code
    assert refusal(check, delivery).code == code


@pytest.mark.req("HB-24", "NX-14", "SQ-18")
def test_only_granted_modes_and_items(delivery: Delivery) -> None:
    e = refusal(call, delivery, items=("name", "income"))  # income was not applied for
    assert (e.code, e.extra["items"]) == ("item_not_granted", ["income"])
    e = refusal(check, delivery, claims={"income": "8000.50"})
    assert e.code == "item_not_granted"
    delivery.set_grant(modes='["verify"]')
    e = refusal(call, delivery)
    assert (e.code, e.extra["mode"]) == ("mode_not_granted", "query")
    assert check(delivery).results
    delivery.set_grant(modes='["query"]')
    assert refusal(check, delivery).code == "mode_not_granted"
    assert call(delivery, items=("name",)).records == [{"name": "欧阳**"}]


@pytest.mark.req("SQ-21")
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        (CallHeaders(None, "周人社", "RS-1"), "purpose_required"),
        (CallHeaders("work_reference", "周人社", "RS-1"), "purpose_mismatch"),
        (CallHeaders("administrative_basis", None, "RS-1"), "end_user_required"),
        (CallHeaders("administrative_basis", "周人社", None), "case_number_required"),
        (CallHeaders("administrative_basis", "周" * 101, "RS-1"), "header_too_long"),
    ],
)
def test_purpose_end_user_and_case_number_are_required(
    delivery: Delivery, headers: CallHeaders, code: str
) -> None:
    assert refusal(call, delivery, call=headers).code == code
    assert refusal(check, delivery, call=headers).code == code
    (last, *_) = reversed(denials(delivery))
    assert last["code"] == code and P1 not in str(last)


@pytest.mark.req("SQ-24", "NX-38")
def test_rate_limit_per_grant_and_stricter_for_verification(delivery: Delivery) -> None:
    delivery.set_grant(rate_limit_per_minute=8)  # verification: 8 // 4 = 2 a minute
    assert check(delivery).results and check(delivery, key=P2).results
    e = refusal(check, delivery)
    assert (e.code, e.status, e.extra["limit_per_minute"]) == ("rate_limited", 429, 2)
    assert e.extra["retry_after"] >= 1
    for _ in range(8):
        assert call(delivery)
    assert refusal(call, delivery).code == "rate_limited"


@pytest.mark.req("NX-38", "NX-14")
def test_one_subject_cannot_be_verified_over_and_over(delivery: Delivery) -> None:
    delivery.set_grant(rate_limit_per_minute=1000)
    for n in range(VERIFY_PER_SUBJECT_PER_DAY):
        check(delivery, claims={"mobile": f"1380000{n:04d}"})
    e = refusal(check, delivery, claims={"mobile": "13812345678"})
    assert (e.code, e.status) == ("verify_attempts_exceeded", 429)
    assert check(delivery, key=P2).results  # another subject is fine
    assert "13812345678" not in str(denials(delivery))
    # recorded once (it was recorded twice: by the limit check and by the call)
    assert [d["code"] for d in denials(delivery)] == ["verify_attempts_exceeded"]


@pytest.mark.req("HB-26")
def test_daily_quota_is_persisted_across_processes(delivery: Delivery) -> None:
    delivery.set_grant(quota_per_day=3)
    call(delivery)
    check(delivery)
    call(delivery)
    e = refusal(call, delivery)
    assert (e.code, e.status, e.extra["quota_per_day"]) == ("quota_exceeded", 429, 3)
    # a fresh guard (another process, or a restart) reads the persisted count
    fresh = Guard(delivery.platform.db, delivery.platform.keys)
    with delivery.platform.db.read() as conn, pytest.raises(DomainError) as exc:
        fresh.authorise(conn, delivery.client, CallRequest(delivery.grant_id, "query", HEADERS))
    assert exc.value.code == "quota_exceeded"
    with delivery.platform.db.read() as conn:
        assert error_stats(conn, delivery.grant_id) == {"quota_exceeded": 2}


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.req("SZ-19", "SZ-27")
def test_a_retiring_resource_is_served_until_its_cut_off_then_refused(
    delivery: Delivery,
) -> None:
    city = delivery.city
    replacement = population_resource(city)
    with city.db.read() as conn:
        code = catalog_services.queries.get_resource(conn, replacement).code
    done = catalog_services.retire(
        city.db,
        city.profiles,
        delivery.resource_id,
        actor=city.actor("ga_catalog"),
        reason="改由新版人口库提供",
        replacement_resource_id=replacement,
        transition_days=20,
    )
    assert done.transition_ends_on >= local_date(utcnow()) + timedelta(days=20)
    result = call(delivery)
    assert result.records and result.headers["X-Replacement-Resource"] == code
    assert "Sunset" in result.headers and result.headers["Deprecation"].startswith("@")
    set_clock(lambda: _at(done.transition_ends_on))
    try:
        assert call(delivery).records  # the last day is still served
        set_clock(lambda: _at(done.transition_ends_on + timedelta(days=1)))
        e = refusal(call, delivery)
        assert (e.code, e.status) == ("resource_retired", 410)
        assert e.extra["replacement"] == code and code in e.message_en and code in e.message_zh
        assert e.extra["cut_off"] == done.transition_ends_on.isoformat()
        assert refusal(check, delivery).code == "resource_retired"
    finally:
        set_clock(None)


@pytest.mark.req("SZ-27")
def test_a_grant_cut_off_date_of_its_own_holds(delivery: Delivery) -> None:
    today = local_date(utcnow())
    delivery.set_grant(transition_until=today, replacement_code="NEW-CODE")
    assert call(delivery).headers["X-Replacement-Resource"] == "NEW-CODE"
    delivery.set_grant(transition_until=today - timedelta(days=1))
    e = refusal(call, delivery)
    assert e.code == "resource_retired" and e.extra["replacement"] == "NEW-CODE"


@pytest.mark.req("HB-27", "NX-33")
def test_refusals_never_record_keys_or_claimed_values(delivery: Delivery) -> None:
    delivery.set_grant(status="suspended")
    refusal(check, delivery, claims={"name": "欧阳娜娜", "mobile": "13812345678"})
    refusal(call, delivery, key=P2, call=replace(HEADERS, case_no="RS-9"))
    found = denials(delivery)
    text = str(found)
    assert P1 not in text and P2 not in text and "13812345678" not in text
    assert found[-1]["case_no"] == "RS-9" and found[-1]["purpose"] == "administrative_basis"
    assert found[-1]["end_user"] == "周人社"
    with delivery.platform.db.read() as conn:
        status = conn.execute(
            select(share_grant.c.status).where(share_grant.c.id == delivery.grant_id)
        ).scalar_one()
    assert status == "suspended"
