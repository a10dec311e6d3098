"""Lookup and verification at the service level, on both databases: masking at each granted
level, verification that never discloses, the audit entry and the statistics of every call."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import insert, literal, select

from govshare.aggregation.pools import serving_pool_id
from govshare.aggregation.tables import data_pool
from govshare.audit.queries import AuditFilter, list_entries
from govshare.audit.verify import verify_chain
from govshare.delivery.masking import pseudonym_key, pseudonymise
from govshare.delivery.model import VerifyOutcome
from govshare.delivery.queries import call_stats, error_stats, grant_for_call, pool_for_version
from govshare.delivery.services import lookup, verify
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import DomainError
from tests.integration.delivery.conftest import GRANTED, HEADERS, NOBODY, P1, P2, Delivery


def call(d: Delivery, key: str = P1, items: tuple[str, ...] | None = None) -> Any:
    return lookup.lookup(d.platform, d.grant_id, key=key, items=items, call=HEADERS, actor=d.client)


def check(d: Delivery, claims: dict[str, Any], key: str = P1) -> Any:
    return verify.verify(
        d.platform, d.grant_id, key=key, claims=claims, call=HEADERS, actor=d.client
    )


def entries(d: Delivery, action: str) -> list[Any]:
    with d.platform.db.read() as conn:
        page = list_entries(conn, AuditFilter(action=action), page_size=500)
    return sorted(page.entries, key=lambda e: e.seq)


@pytest.mark.req("SQ-26", "SQ-18", "NX-40")
def test_lookup_returns_granted_items_masked(delivery: Delivery) -> None:
    result = call(delivery)
    assert result.records == [
        {
            "name": "欧阳**",
            "id_card": P1[:6] + "********" + P1[-4:],
            "birth_date": "1990-03-07",
            "mobile": "138****5678",
            "address": "江苏省宿迁市宿城区****",
            "email": "n***@example.cn",
        }
    ]
    assert "income" not in result.records[0]  # not granted, never read
    assert result.masking == dict.fromkeys(GRANTED, "masked")
    assert call(delivery, key=P1.lower()).records == result.records  # x / X
    assert call(delivery, key=NOBODY).records == []


@pytest.mark.req("SQ-26", "HB-24")
def test_each_item_leaves_at_its_granted_level(delivery: Delivery) -> None:
    delivery.set_grant(
        items={"name": "raw", "id_card": "pseudonym", "mobile": "suppressed", "address": "masked"}
    )
    (row,) = call(delivery).records
    key = pseudonym_key(delivery.platform.keys, delivery.city.depts["人社局"].id)
    assert row == {
        "name": "欧阳娜娜",
        "id_card": pseudonymise(key, P1),
        "mobile": None,
        "address": "江苏省宿迁市宿城区****",
    }
    assert call(delivery).records[0]["id_card"] == row["id_card"]  # stable for linking
    with pytest.raises(DomainError) as exc:
        check(delivery, {"mobile": "13812345678"})
    assert exc.value.code == "item_not_granted"  # a suppressed item is not even verified


@pytest.mark.req("NX-14", "NX-38", "NX-40")
def test_verification_answers_match_mismatch_or_no_record_only(delivery: Delivery) -> None:
    claims = {
        "name": "欧阳娜娜",
        "mobile": "13800000000",
        "birth_date": "19900307",
        "email": "NANA@example.cn",
    }
    result = check(delivery, claims)
    assert result.results == {
        "name": VerifyOutcome.MATCH,
        "mobile": VerifyOutcome.MISMATCH,
        "birth_date": VerifyOutcome.MATCH,
        "email": VerifyOutcome.MATCH,
    }
    assert check(delivery, {"address": "江苏"}, key=P2).results == {
        "address": VerifyOutcome.NO_RECORD  # the record has no address
    }
    assert set(check(delivery, claims, key=NOBODY).results.values()) == {VerifyOutcome.NO_RECORD}
    # nothing stored is in the answer or in the audit entry
    shown = json.dumps([str(v) for v in result.results.values()], ensure_ascii=False)
    (entry, *_) = entries(delivery, "verify")
    for stored in ("13812345678", "nana@example.cn", P1, "13800000000"):
        assert stored not in shown and stored not in entry.details
    assert ["mobile", "mismatch"] in json.loads(entry.details)["outcomes"]


@pytest.mark.req("SQ-21", "SZ-11", "NX-33", "YX-25")
def test_every_call_is_audited_with_purpose_end_user_and_case(delivery: Delivery) -> None:
    first = call(delivery)
    check(delivery, {"name": "张三"}, key=P2)
    (q,) = entries(delivery, "query")
    (v,) = entries(delivery, "verify")
    details = json.loads(q.details)
    assert (q.purpose, q.case_no, q.object_id) == (
        "administrative_basis",
        "RS-2026-0001",
        first.call_id,
    )
    assert q.actor_kind == "client_system" and q.actor_id == delivery.client.id
    assert details["end_user"] == "周人社" and details["grant"] == delivery.grant_id
    assert details["items"] == list(GRANTED) and details["rows"] == 1
    assert details["keys"] == [P1[:6] + "********" + P1[-4:]] and P1 not in q.details
    assert len(details["key_refs"][0]) == 32
    assert v.seq > q.seq and json.loads(v.details)["rows"] == 1
    assert verify_chain(delivery.platform.db, delivery.platform.keys).ok


@pytest.mark.req("HB-26")
def test_call_statistics_count_calls_rows_and_refusals(delivery: Delivery) -> None:
    call(delivery)
    call(delivery, key=NOBODY)
    check(delivery, {"name": "x"})
    with pytest.raises(DomainError):
        call(delivery, items=("income",))
    with pytest.raises(DomainError):
        call(delivery, key="  ")
    with delivery.platform.db.read() as conn:
        stats = {s.mode: s for s in call_stats(conn, grant_ids=[delivery.grant_id])}
        errors = error_stats(conn, delivery.grant_id, local_date(utcnow()))
    assert (stats["query"].calls, stats["query"].rows, stats["query"].refusals) == (2, 1, 2)
    assert (stats["verify"].calls, stats["verify"].rows) == (1, 1)
    assert stats["query"].latency_ms_avg is not None and stats["query"].latency_ms_avg > 0
    assert errors == {"item_not_granted": 1, "key_required": 1}


@pytest.mark.req("SZ-19")
def test_the_grant_statement_reads_the_pool_pool_for_version_would(delivery: Delivery) -> None:
    """The lookup reads the grant's pool in the grant's own statement
    (``aggregation.pools.serving_pool_id``): for every version and mix of generations it
    is the pool ``pool_for_version`` chooses (the oldest generation serving the version,
    else the newest)."""
    db, rid = delivery.platform.db, delivery.resource_id
    with db.read() as conn:
        loaded = pool_for_version(conn, rid, 1)
        grant = grant_for_call(conn, delivery.grant_id, local_date(utcnow()))
    assert loaded is not None and grant is not None and grant.pool == loaded
    now = utcnow()
    with db.transaction() as tx:  # more generations, each serving up to some version
        for generation, served in ((7, 2), (8, 2), (9, 5)):
            tx.conn.execute(
                insert(data_pool).values(
                    id=f"01TESTPOOL{generation:016d}",
                    resource_id=rid,
                    generation=generation,
                    table_name=f"pool_test_g{generation}",
                    version_no=served,
                    columns="[]",
                    key_columns="[]",
                    active=False,
                    created_at=now,
                )
            )
    with db.read() as conn:
        for version in range(0, 8):
            chosen = conn.execute(select(serving_pool_id(literal(rid), literal(version))))
            expected = pool_for_version(conn, rid, version)
            assert expected is not None
            assert chosen.scalar_one() == expected.id, version
