"""The change feed (订阅/增量) on both databases: changes since a cursor in order, updates
and deletes (a delete carries only the key, masked per the grant), paging, receipts and
audit, and the refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from govshare.aggregation import ingest
from govshare.audit.tables import audit_entry
from govshare.delivery import feed, receipts
from govshare.kernel.errors import DomainError
from tests.integration.catalog.conftest import City
from tests.integration.delivery.conftest import HEADERS, P1, P2, ROWS, Delivery, grant
from tests.integration.delivery.files_support import LEVELS, SECRETS, files_delivery


@pytest.fixture
def d(demo_platform: Any) -> Delivery:
    return files_delivery(City(demo_platform))


def changes(d: Delivery, cursor: int | None = None, limit: int | None = None) -> feed.FeedResult:
    return feed.changes(
        d.platform, d.grant_id, cursor=cursor, limit=limit, call=HEADERS, actor=d.client
    )


def load(d: Delivery, upserts: list[dict[str, Any]], deletes: list[str], key: str) -> None:
    ingest.push_rows(
        d.city.db,
        d.resource_id,
        upserts,
        deletes,
        actor=d.city.actor("ga_catalog"),
        idempotency_key=key,
    )


@pytest.mark.req("NX-40", "SQ-26", "SZ-16.4")
def test_changes_since_a_cursor_with_updates_and_deletes(d: Delivery) -> None:
    first = changes(d)
    assert [c["op"] for c in first.changes] == ["upsert", "upsert"]
    assert first.cursor == 0 and not first.has_more
    seqs = [c["seq"] for c in first.changes]
    assert seqs == sorted(seqs) and first.next_cursor == seqs[-1]
    nana = first.changes[0]["record"]
    assert nana["name"] == "欧阳**" and nana["mobile"] == "138****5678"
    assert nana["email"] is None and nana["birth_date"] == "1990-03-07"
    assert "income" not in nana
    # nothing new since the cursor
    again = changes(d, first.next_cursor)
    assert again.changes == [] and again.next_cursor == first.next_cursor
    # P1 moves (a new mobile), P2 is deleted
    load(d, [dict(ROWS[0], mobile="13711112222")], [P2], "update-1")
    since = changes(d, first.next_cursor)
    ops = {c["op"]: c for c in since.changes}
    assert [c["op"] for c in since.changes] == ["upsert", "delete"]
    assert ops["upsert"]["record"]["mobile"] == "137****2222"
    assert ops["upsert"]["record"]["id_card"] == P1[:6] + "********" + P1[-4:]
    # the delete carries only the key, masked per the grant
    assert ops["delete"] == {
        "seq": ops["delete"]["seq"],
        "op": "delete",
        "key": {"id_card": P2[:6] + "********" + P2[-4:]},
    }
    assert since.key_items == ["id_card"]
    dumped = json.dumps([first.changes, since.changes], ensure_ascii=False)
    for secret in [*SECRETS, "13711112222", P1, P2]:
        assert secret not in dumped
    # each call is receipted with its row count and audited as a transmission (SQ-25)
    with d.platform.db.read() as conn:
        checked = receipts.check(conn, d.platform.keys, since.receipt.compact)
        entry = conn.execute(
            select(audit_entry).where(audit_entry.c.object_id == since.call_id)
        ).one()
    assert checked.valid and checked.audit == "matches"
    assert checked.receipt is not None and checked.receipt.rows == 2
    assert checked.receipt.mode == "feed"
    assert entry.action == "transmit"
    assert json.loads(entry.details)["next_cursor"] == since.next_cursor


@pytest.mark.req("NX-40")
def test_paging_and_pseudonymous_keys(d: Delivery) -> None:
    d.set_grant(items={**LEVELS, "id_card": "pseudonym"})
    page1 = changes(d, limit=1)
    assert len(page1.changes) == 1 and page1.has_more
    page2 = changes(d, page1.next_cursor, limit=1)
    assert len(page2.changes) == 1 and not page2.has_more
    assert page2.changes[0]["seq"] > page1.changes[0]["seq"]
    p2_pseudonym = page2.changes[0]["record"]["id_card"]
    assert p2_pseudonym != P2 and len(p2_pseudonym) == 24
    load(d, [], [P2], "delete-p2")
    deleted = changes(d, page2.next_cursor)
    # the consumer links the delete to the record it holds, without ever seeing the number
    assert deleted.changes[0]["key"] == {"id_card": p2_pseudonym}
    # a grant without the key item: deletes carry an empty key
    d.set_grant(items={"name": "masked"})
    bare = changes(d, page2.next_cursor)
    assert bare.changes[0]["key"] == {} and bare.key_items == []


@pytest.mark.req("HB-24", "YX-25", "NX-41")
def test_feed_refusals(d: Delivery) -> None:
    for kwargs, code in (({"cursor": -1}, "cursor_invalid"), ({"limit": 0}, "limit_invalid")):
        with pytest.raises(DomainError) as bad:
            changes(d, **kwargs)
        assert bad.value.code == code
    with pytest.raises(DomainError) as other:
        feed.changes(d.platform, d.grant_id, cursor=0, limit=10, call=HEADERS, actor=d.other_client)
    assert other.value.code == "grant_not_yours"
    query_only = grant(d.city, d.resource_id)
    with pytest.raises(DomainError) as mode:
        feed.changes(d.platform, query_only, cursor=0, limit=10, call=HEADERS, actor=d.client)
    assert mode.value.code == "mode_not_granted"
    d.set_grant(status="revoked")
    with pytest.raises(DomainError) as revoked:
        changes(d)
    assert revoked.value.code == "grant_revoked"
