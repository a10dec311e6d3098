"""Cross-verification (核验, NX-14, NX-38): does the platform's record of a subject agree
with the values a consumer holds? Per item: match, mismatch or no_record. A stored value
never leaves, not even masked; verification has its own, stricter rate limit per grant and
a daily limit per subject, so that it cannot be used to guess values; every call is
audited (VERIFY) without the claimed values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection

from govshare.audit.model import AuditAction
from govshare.catalog.model import DeliveryMode
from govshare.delivery import errors
from govshare.delivery.guard import (
    Authorised,
    CallRequest,
    Completion,
    Guard,
)
from govshare.delivery.masking import plain
from govshare.delivery.model import CallHeaders, MaskLevel, VerifyOutcome
from govshare.delivery.receipts import SignedReceipt
from govshare.delivery.services.batch import batcher_for, only, start_calls, started
from govshare.delivery.services.common import Subject, normalise_key, subject
from govshare.identity.model import VerifiedClient
from govshare.kernel.actor import Actor
from govshare.kernel.turns import TurnBatcher
from govshare.platform import Platform

MAX_CLAIMS = 50
CLAIM_MAX = 500


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class VerifyResult:
    call_id: str
    grant_id: str
    resource: str
    version_no: int
    results: dict[str, VerifyOutcome]
    receipt: SignedReceipt
    headers: dict[str, str]


def _same(stored: Any, claimed: Any) -> bool:
    """Equality after the normalisation a clerk would apply: trimmed text, upper-case X in
    ID numbers, ISO dates, numbers by value."""
    if isinstance(stored, bool):
        return str(claimed).strip().lower() in (
            ("true", "1", "是") if stored else ("false", "0", "否")
        )
    if isinstance(stored, int | float | Decimal) and not isinstance(claimed, bool):
        try:
            return Decimal(str(stored)) == Decimal(str(claimed).strip())
        except InvalidOperation:
            return False
    if isinstance(stored, date | datetime):
        text = str(claimed).strip().replace("/", "-")
        if len(text) == 8 and text.isdigit():
            text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
        return bool(plain(stored) == text)
    return str(stored).strip().upper() == str(claimed).strip().upper()


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class VerifyCall:
    grant_id: str
    key: str | None
    claims: dict[str, Any]
    call: CallHeaders
    actor: Actor | VerifiedClient


Started = tuple[dict[str, VerifyOutcome], Completion]  # the outcomes, the queued audit


def _checked(guard: Guard, conn: Connection, auth: Authorised, c: VerifyCall) -> Subject:
    """The call's claims checked, its subject found and counted (refusals raise)."""
    if not c.claims:
        raise errors.claims_required()
    hidden = [i.code for i in auth.items if i.level is MaskLevel.SUPPRESSED]
    if hidden:  # a suppressed item is not disclosed, not even as match / mismatch
        raise errors.item_not_granted(hidden)
    if len(c.claims) > MAX_CLAIMS or any(
        v is None or len(str(v)) > CLAIM_MAX for v in c.claims.values()
    ):
        raise errors.claims_invalid()
    subj = subject(conn, auth, normalise_key(c.key))
    guard.check_subject(auth, subj.key)
    return subj


def _outcomes(claims: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, VerifyOutcome]:
    results: dict[str, VerifyOutcome] = {}
    for code, claimed in claims.items():
        stored = rows[0].get(code) if len(rows) == 1 else None
        if stored is None:
            results[code] = VerifyOutcome.NO_RECORD
        else:
            results[code] = (
                VerifyOutcome.MATCH if _same(stored, claimed) else VerifyOutcome.MISMATCH
            )
    return results


def _start_many(
    platform: Platform, calls: Sequence[VerifyCall], on_loop: bool = False
) -> list[Started | BaseException]:
    """Start ``calls`` in one read (``batch.start_calls``): each authorised and checked
    on its own, the records of the admitted ones read together (only the items claimed),
    each compared and audited on its own. One outcome per call, in order."""

    def finish(
        guard: Guard, c: VerifyCall, auth: Authorised, subj: Subject, rows: list[dict[str, Any]]
    ) -> Started:
        results = _outcomes(c.claims, rows)
        done = guard.submit(
            auth,
            action=AuditAction.VERIFY,
            keys=[subj.key],
            rows=len(rows),
            key_kind=subj.kind,
            # a list, not a mapping: audit details mask mapping keys named like "mobile"
            details={"outcomes": [[code, r.value] for code, r in results.items()]},
            on_loop=on_loop,
        )
        return results, done

    return start_calls(
        platform,
        calls,
        request=lambda c: CallRequest(
            c.grant_id, DeliveryMode.VERIFY, c.call, tuple(c.claims) or None
        ),
        admit=_checked,
        codes=lambda c, _auth: tuple(c.claims),
        limit=2,
        finish=finish,
        on_loop=on_loop,
    )


def _result(
    results: dict[str, VerifyOutcome], done: Completion, receipt: SignedReceipt
) -> VerifyResult:
    auth = done.auth
    return VerifyResult(
        call_id=auth.call_id,
        grant_id=auth.grant.id,
        resource=auth.grant.resource_code,
        version_no=auth.grant.version_no,
        results=results,
        receipt=receipt,
        headers={**auth.response_headers(), "X-Call-Receipt": receipt.compact},
    )


def verify(
    platform: Platform,
    grant_id: str,
    *,
    key: str | None,
    claims: dict[str, Any],
    call: CallHeaders,
    actor: Actor | VerifiedClient,
) -> VerifyResult:
    """Authorise, compare, audit (waits until durable) and receipt one verification."""
    results, done = only(_start_many(platform, [VerifyCall(grant_id, key, claims, call, actor)]))
    _, receipt = done.result()
    return _result(results, done, receipt)


async def verify_async(
    platform: Platform,
    grant_id: str,
    *,
    key: str | None,
    claims: dict[str, Any],
    call: CallHeaders,
    actor: Actor | VerifiedClient,
) -> VerifyResult:
    """``verify`` on an event loop, started together with the other calls of the loop's
    turn (``services.batch``); the durable-audit wait holds no thread."""
    call_ = VerifyCall(grant_id, key, claims, call, actor)
    results, done = await started(_batcher(platform).call(call_))
    _, receipt = await done.wait()
    return _result(results, done, receipt)


def _batcher(platform: Platform) -> TurnBatcher[VerifyCall, Started]:
    return batcher_for(
        platform,
        "verify",
        lambda p, calls: _start_many(p, calls, on_loop=True),
    )
