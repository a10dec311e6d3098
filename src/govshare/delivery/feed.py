"""Feed (订阅/增量): the changes of a grant's pool since a cursor, so that a consumer system
keeps its copy current without full exports.

Every write to a data pool gives the row a new, higher ``_seq`` (per pool), and a delete
leaves a tombstone (``_deleted``) with its own ``_seq``; so the rows with ``_seq > cursor``
in ``_seq`` order are exactly the changes since the cursor, each row once in its latest
state. An upsert carries the record (the granted items, each masked at its granted level,
SQ-26); a delete carries only the key, masked per the grant's plan (a grant that does not
include the key item gets an empty key: grant the key at ``pseudonym`` level to link rows
without disclosing it). ``next_cursor`` is the last change's ``_seq``; ``has_more`` says
that another page is waiting. Each call is authorised for the ``feed`` mode, audited
(TRANSMIT, SQ-25 传输) and receipted through ``delivery.guard``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from govshare.audit.model import AuditAction
from govshare.catalog.model import DeliveryMode
from govshare.delivery import errors
from govshare.delivery.guard import CallRequest, guard_for
from govshare.delivery.model import CallHeaders
from govshare.delivery.queries import grant_pool
from govshare.delivery.receipts import SignedReceipt
from govshare.kernel.actor import Actor
from govshare.kernel.errors import DomainError, ValidationFailed
from govshare.kernel.masking import SensitivityKind
from govshare.platform import Platform

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000


@dataclass(frozen=True)
class FeedResult:
    call_id: str
    grant_id: str
    resource: str
    version_no: int
    cursor: int
    next_cursor: int
    has_more: bool
    changes: list[
        dict[str, Any]
    ]  # {"seq", "op": "upsert", "record"} | {"seq", "op": "delete", "key"}
    masking: dict[str, str]
    key_items: list[str]
    receipt: SignedReceipt
    headers: dict[str, str]


def _invalid(field: str, zh: str, en: str) -> DomainError:
    return ValidationFailed(zh, en, code=f"{field}_invalid", field=field)


def changes(
    platform: Platform,
    grant_id: str,
    *,
    cursor: int | None,
    limit: int | None,
    call: CallHeaders,
    actor: Actor,
) -> FeedResult:
    guard = guard_for(platform)
    since = 0 if cursor is None else cursor
    size = DEFAULT_LIMIT if limit is None else limit
    with platform.db.read() as conn:
        auth = guard.authorise(conn, actor, CallRequest(grant_id, DeliveryMode.FEED, call))
        try:
            if since < 0:
                raise _invalid("cursor", "游标不能为负数", "the cursor cannot be negative")
            if not 1 <= size <= MAX_LIMIT:
                raise _invalid(
                    "limit",
                    f"每次最多取{MAX_LIMIT}条变更",
                    f"the limit must be between 1 and {MAX_LIMIT}",
                )
            pool = grant_pool(conn, auth.grant)
            if pool is None:
                raise errors.no_pool()
            table = pool.table()
            wanted = [table.c[c] for c in auth.plan.codes if c in table.c]
            rows = conn.execute(
                select(table.c._seq, table.c._deleted, *wanted)
                .where(table.c._seq > since)
                .order_by(table.c._seq)
                .limit(size + 1)
            ).all()
        except DomainError as exc:
            guard.fail(auth, exc)
    has_more = len(rows) > size
    rows = rows[:size]
    key_items = [k for k in pool.key_columns if k in auth.plan.levels]
    out: list[dict[str, Any]] = []
    for r in rows:
        values = r._asdict()
        masked = auth.plan.apply(values)
        seq = int(values["_seq"])
        if values["_deleted"]:
            out.append({"seq": seq, "op": "delete", "key": {k: masked[k] for k in key_items}})
        else:
            out.append({"seq": seq, "op": "upsert", "record": masked})
    next_cursor = out[-1]["seq"] if out else since
    _, receipt = guard.complete(
        auth,
        action=AuditAction.TRANSMIT,
        keys=[f"cursor:{since}"],
        rows=len(out),
        key_kind=SensitivityKind.NONE.value,
        details={"cursor": since, "next_cursor": next_cursor},
    )
    return FeedResult(
        call_id=auth.call_id,
        grant_id=auth.grant.id,
        resource=auth.grant.resource_code,
        version_no=auth.grant.version_no,
        cursor=since,
        next_cursor=next_cursor,
        has_more=has_more,
        changes=out,
        masking={code: level.value for code, level in auth.plan.levels.items()},
        key_items=key_items,
        receipt=receipt,
        headers={**auth.response_headers(), "X-Call-Receipt": receipt.compact},
    )
