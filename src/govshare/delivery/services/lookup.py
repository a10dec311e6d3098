"""Lookup (联机查询/接口): the records of one subject, only the granted items, each masked
at its granted level (NX-12 least-necessary fields, SZ-16.4 receipt per call)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from govshare.audit.model import AuditAction
from govshare.catalog.model import DeliveryMode
from govshare.delivery.guard import CallRequest, Completion, guard_for
from govshare.delivery.model import CallHeaders
from govshare.delivery.queries import find_records
from govshare.delivery.receipts import SignedReceipt
from govshare.delivery.services.common import normalise_key, subject
from govshare.identity.model import VerifiedClient
from govshare.kernel.actor import Actor
from govshare.kernel.errors import DomainError
from govshare.platform import Platform

MAX_RECORDS = 100


@dataclass(frozen=True)
class LookupResult:
    call_id: str
    grant_id: str
    resource: str
    version_no: int
    records: list[dict[str, Any]]
    masking: dict[str, str]  # item code -> level
    receipt: SignedReceipt
    headers: dict[str, str]  # receipt, deprecation / sunset


def _start(
    platform: Platform,
    grant_id: str,
    key: str | None,
    items: tuple[str, ...] | None,
    call: CallHeaders,
    actor: Actor | VerifiedClient,
    on_loop: bool = False,
) -> tuple[list[dict[str, Any]], Completion]:
    guard = guard_for(platform)
    with platform.db.read(snapshot=False) as conn:
        auth = guard.authorise(conn, actor, CallRequest(grant_id, DeliveryMode.QUERY, call, items))
        try:
            subj = subject(conn, auth, normalise_key(key))
            rows = find_records(conn, subj.pool, subj.where(), auth.plan.codes, MAX_RECORDS)
        except DomainError as exc:
            guard.fail(auth, exc)
    records = [auth.plan.apply(r) for r in rows]
    done = guard.submit(
        auth,
        action=AuditAction.QUERY,
        keys=[subj.key],
        rows=len(records),
        key_kind=subj.kind,
        on_loop=on_loop,
    )
    return records, done


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
        masking={code: level.value for code, level in auth.plan.levels.items()},
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
    records, done = _start(platform, grant_id, key, items, call, actor)
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
    """``lookup`` on an event loop: the same steps; the wait for the durable audit entry
    (group commit) holds no thread."""
    records, done = _start(platform, grant_id, key, items, call, actor, on_loop=True)
    _, receipt = await done.wait()
    return _result(records, done, receipt)
