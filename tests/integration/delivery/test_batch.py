"""Calls that reach the event loop in one turn start together (``delivery.services.batch``):
one read, one grant read per grant and caller, one record read per pool; everything else
per call, with the same answers, refusals, audit entries and receipts as a call alone."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Awaitable
from typing import Any

import pytest
from sqlalchemy import select

from govshare.audit.queries import AuditFilter, list_entries
from govshare.delivery import guard as guard_module
from govshare.delivery import queries
from govshare.delivery.guard import guard_for
from govshare.delivery.services import batch, lookup, verify
from govshare.identity.model import VerifiedClient
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import DomainError
from govshare.kernel.turns import TurnBatcher
from tests.integration.delivery.conftest import HEADERS, NOBODY, P1, P2, Delivery, look


def counted(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[Any]:
    """Count the calls of ``module.name`` (the real function still runs)."""
    calls: list[Any] = []
    real = getattr(module, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


async def together(*calls: Awaitable[Any]) -> list[Any]:
    return await asyncio.gather(*calls, return_exceptions=True)


def check(d: Delivery, claims: dict[str, Any], key: str = P1) -> Awaitable[verify.VerifyResult]:
    return verify.verify_async(
        d.platform,
        d.grant_id,
        key=key,
        claims=claims,
        call=HEADERS,
        actor=VerifiedClient(d.client.id),
    )


def entries(d: Delivery, action: str) -> list[Any]:
    with d.platform.db.read() as conn:
        page = list_entries(conn, AuditFilter(action=action), page_size=500)
    return sorted(page.entries, key=lambda e: e.seq)


@pytest.mark.req("NX-40", "NX-14", "SZ-16.4")
def test_calls_of_one_turn_are_answered_as_each_alone(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = {k: lookup.lookup(delivery.platform, delivery.grant_id, key=k, items=None,
                              call=HEADERS, actor=delivery.client).records
             for k in (P1, P2, NOBODY)}  # fmt: skip
    grant_reads = counted(monkeypatch, guard_module, "grant_and_caller")
    record_reads = counted(monkeypatch, batch, "find_by_keys")
    wrong = dataclasses.replace(HEADERS, purpose="law_enforcement")
    out = asyncio.run(
        together(
            look(delivery, P1),
            look(delivery, P2),
            look(delivery, NOBODY),
            look(delivery, P1, call=wrong),  # refused: another purpose than the grant's
            look(delivery, ""),  # refused after authorisation: no key
            look(delivery, P1.lower()),  # the same subject again (x / X)
            check(delivery, {"name": "欧阳娜娜", "mobile": "13900000000"}),
            check(delivery, {"name": "张三"}, key=P2),
        )
    )
    p1, p2, nobody, purpose, no_key, again, v1, v2 = out
    assert [p1.records, p2.records, nobody.records, again.records] == [
        alone[P1],
        alone[P2],
        alone[NOBODY],
        alone[P1],
    ]
    assert isinstance(purpose, DomainError) and purpose.code == "purpose_mismatch"
    assert isinstance(no_key, DomainError) and no_key.code == "key_required"
    assert {c: r.value for c, r in v1.results.items()} == {"name": "match", "mobile": "mismatch"}
    assert v2.results["name"].value == "match"
    # one grant read for the lookups and one for the verifications; one record read for
    # the lookups, and one per set of claimed items (only the items claimed are read)
    assert (len(grant_reads), len(record_reads)) == (2, 3)
    assert sorted(record_reads[0][3]) == sorted([P1, P2, NOBODY, P1])  # the admitted keys
    # each call its own audit entry and receipt, in the order the calls came
    queried = entries(delivery, "query")[-4:]
    assert [e.object_id for e in queried] == [r.call_id for r in (p1, p2, nobody, again)]
    assert [r.receipt.receipt.audit_seq for r in (p1, p2, nobody, again)] == [
        e.seq for e in queried
    ]
    assert [e.object_id for e in entries(delivery, "verify")[-2:]] == [v1.call_id, v2.call_id]
    codes = [e.details for e in entries(delivery, "access_denied")[-2:]]
    assert "purpose_mismatch" in codes[0] and "key_required" in codes[1]
    assert not guard_for(delivery.platform).in_flight._n  # every call let go of its quota


@pytest.mark.req("NX-40")
def test_a_failed_read_fails_the_calls_it_admitted_and_no_others(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the pool could not be read")

    monkeypatch.setattr(batch, "find_by_keys", broken)
    before = len(entries(delivery, "query"))
    wrong = dataclasses.replace(HEADERS, purpose="law_enforcement")
    ok1, refused, ok2 = asyncio.run(
        together(look(delivery, P1), look(delivery, P1, call=wrong), look(delivery, P2))
    )
    assert isinstance(ok1, RuntimeError) and ok1 is ok2
    assert isinstance(refused, DomainError) and refused.code == "purpose_mismatch"
    assert len(entries(delivery, "query")) == before  # nothing answered, nothing recorded
    assert not guard_for(delivery.platform).in_flight._n
    monkeypatch.undo()
    assert asyncio.run(look(delivery, P1)).records  # the next turn reads again


def test_a_call_cancelled_before_its_turn_ends_is_not_started() -> None:
    started: list[list[str]] = []

    def start_many(items: Any) -> list[Any]:
        started.append(list(items))
        return [f"{item}!" if item != "bad" else ValueError(item) for item in items]

    batcher: TurnBatcher[str, str] = TurnBatcher(start_many)

    async def run() -> list[Any]:
        tasks = [asyncio.create_task(batcher.call(x)) for x in ("a", "gone", "bad", "b")]
        await asyncio.sleep(0)  # every task has queued its call; the turn has not ended
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    a, gone, bad, b = asyncio.run(run())
    assert started == [["a", "bad", "b"]]  # one batch, without the cancelled call
    assert (a, b) == ("a!", "b!")
    assert isinstance(gone, asyncio.CancelledError)
    assert isinstance(bad, ValueError)

    def failing(items: Any) -> list[Any]:
        raise OSError("down")

    async def run_failing() -> list[Any]:
        failed: TurnBatcher[str, str] = TurnBatcher(failing)
        return await asyncio.gather(failed.call("x"), failed.call("y"), return_exceptions=True)

    assert [type(e) for e in asyncio.run(run_failing())] == [OSError, OSError]


def test_records_are_read_for_many_keys_in_bounded_statements(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "KEYS_PER_READ", 2)
    with delivery.platform.db.read() as conn:
        grant = queries.grant_for_call(conn, delivery.grant_id, local_date(utcnow()))
        assert grant is not None and grant.pool is not None
        codes = ("name", "id_card")
        found = queries.find_by_keys(
            conn, grant.pool, "id_card", [P1, NOBODY, P2, P1, P2], codes, limit=100
        )
        assert set(found) == {P1, P2}
        table = grant.pool.table()
        for key in (P1, P2):
            one = conn.execute(  # the same read, written plainly for one key
                select(*[table.c[c] for c in codes]).where(
                    table.c.id_card == key, table.c._deleted.is_(False)
                )
            ).all()
            assert found[key] == [dict(zip(codes, row, strict=True)) for row in one]
            assert len(one) == 1


def gated_writer(d: Delivery, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Hold every audit flush of ``d`` in its transaction until the event is set."""
    gate = threading.Event()
    writer = guard_for(d.platform).writer

    def hold(_tx: Any, _done: Any) -> None:
        gate.wait(5)

    monkeypatch.setattr(writer, "_hooks", [*writer._hooks, hold])
    return gate


def denied(d: Delivery) -> list[str]:
    return [e.details for e in entries(d, "access_denied")]


@pytest.mark.req("NX-33", "SQ-25")
def test_a_refusal_on_the_loop_does_not_hold_it_while_its_entry_is_written(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = gated_writer(delivery, monkeypatch)
    before = len(denied(delivery))
    wrong = dataclasses.replace(HEADERS, purpose="law_enforcement")

    async def scenario() -> int:
        refused = asyncio.ensure_future(look(delivery, P1, call=wrong))
        turns = 0
        for _ in range(10):  # the loop goes on turning while the refusal's flush is held
            await asyncio.sleep(0.005)
            turns += 1
            assert not refused.done()
        assert len(denied(delivery)) == before  # not durable yet: so not answered yet
        gate.set()
        with pytest.raises(DomainError) as raised:
            await refused
        assert raised.value.code == "purpose_mismatch"
        after = denied(delivery)  # durable by the time the refusal is raised
        assert len(after) == before + 1 and "purpose_mismatch" in after[-1]
        return turns

    assert asyncio.run(scenario()) == 10


@pytest.mark.req("NX-33", "SQ-25")
def test_a_refused_client_that_leaves_does_not_take_its_refusal_record_with_it(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = gated_writer(delivery, monkeypatch)
    before = len(denied(delivery))

    async def scenario() -> None:
        first = asyncio.ensure_future(look(delivery, P2))  # its flush is held
        await asyncio.sleep(0.02)
        refused = asyncio.ensure_future(look(delivery, ""))  # refused after authorisation
        await asyncio.sleep(0.02)  # queued behind the held flush
        refused.cancel()  # the client leaves
        gate.set()
        assert (await first).records
        await look(delivery, P1)  # a later flush: the queue before it is written

    asyncio.run(scenario())
    after = denied(delivery)
    assert len(after) == before + 1 and "key_required" in after[-1]
