"""Lookup (联机查询/接口): the records of one subject, only the granted items, each masked
at its granted level (NX-12 least-necessary fields, SZ-16.4 receipt per call)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from govshare.audit.model import AuditAction
from govshare.catalog.model import DeliveryMode
from govshare.delivery.guard import Authorised, CallRequest, Completion, Guard
from govshare.delivery.masking import apply_batch
from govshare.delivery.model import CallHeaders
from govshare.delivery.receipts import SignedReceipt
from govshare.delivery.services.batch import batcher_for, only, start_calls, started
from govshare.delivery.services.common import Subject, normalise_key, subject
from govshare.identity.model import VerifiedClient
from govshare.kernel.actor import Actor
from govshare.kernel.turns import TurnBatcher
from govshare.platform import Platform

MAX_RECORDS = 100


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class LookupResult:
    call_id: str
    grant_id: str
    resource: str
    version_no: int
    records: list[dict[str, Any]]
    masking: dict[str, str]  # item code -> level
    receipt: SignedReceipt
    headers: dict[str, str]  # receipt, deprecation / sunset


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class LookupCall:
    grant_id: str
    key: str | None
    items: tuple[str, ...] | None
    call: CallHeaders
    actor: Actor | VerifiedClient


Started = tuple[list[dict[str, Any]], Completion]  # the masked records, the queued audit


def _start_many(
    platform: Platform, calls: Sequence[LookupCall], on_loop: bool = False
) -> list[Started | BaseException]:
    """Start ``calls`` in one read (``batch.start_calls``): each authorised on its own,
    the records of the authorised ones read together and masked together (a column at a
    time, each call's by its own plan: ``masking.apply_batch``), each audited on its own.
    One outcome per call, in order."""

    def finish(
        guard: Guard, c: LookupCall, auth: Authorised, subj: Subject, rows: list[dict[str, Any]]
    ) -> Started:
        records = rows  # masked (``prepare``)
        done = guard.submit(
            auth,
            action=AuditAction.QUERY,
            keys=[subj.key],
            rows=len(records),
            key_kind=subj.kind,
            on_loop=on_loop,
        )
        return records, done

    return start_calls(
        platform,
        calls,
        request=lambda c: CallRequest(c.grant_id, DeliveryMode.QUERY, c.call, c.items),
        admit=lambda _guard, conn, auth, c: subject(conn, auth, normalise_key(c.key)),
        codes=lambda _c, auth: auth.plan.codes,
        limit=MAX_RECORDS,
        finish=finish,
        on_loop=on_loop,
        prepare=lambda found: apply_batch([(auth.plan, rows) for auth, rows in found]),
    )


def _result(
    records: list[dict[str, Any]], done: Completion, receipt: SignedReceipt
) -> LookupResult:
    auth = done.auth
    return LookupResult(
        call_id=auth.call_id,
        grant_id=auth.grant.id,
        resource=auth.grant.resource_code,
        version_no=auth.grant.version_no,
        records=records,
        masking=dict(auth.plan.level_values),
        receipt=receipt,
        headers={**auth.response_headers(), "X-Call-Receipt": receipt.compact},
    )


def lookup(
    platform: Platform,
    grant_id: str,
    *,
    key: str | None,
    items: tuple[str, ...] | None,
    call: CallHeaders,
    actor: Actor | VerifiedClient,
) -> LookupResult:
    """Authorise, read, mask, audit (waits until durable) and receipt one lookup."""
    records, done = only(_start_many(platform, [LookupCall(grant_id, key, items, call, actor)]))
    _, receipt = done.result()
    return _result(records, done, receipt)


async def lookup_async(
    platform: Platform,
    grant_id: str,
    *,
    key: str | None,
    items: tuple[str, ...] | None,
    call: CallHeaders,
    actor: Actor | VerifiedClient,
) -> LookupResult:
    """``lookup`` on an event loop: the same steps, started together with the other calls
    of the loop's turn (``services.batch``); the wait for the durable audit entry (group
    commit) holds no thread."""
    records, done = await started(
        _batcher(platform).call(LookupCall(grant_id, key, items, call, actor))
    )
    _, receipt = await done.wait()
    return _result(records, done, receipt)


def _batcher(platform: Platform) -> TurnBatcher[LookupCall, Started]:
    return batcher_for(
        platform,
        "lookup",
        lambda p, calls: _start_many(p, calls, on_loop=True),
    )
