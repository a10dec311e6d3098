"""What the client-system delivery routes (``delivery_api``, ``delivery_files``) share: the
client policy, the call headers as documented parameters, the refusal tables for OpenAPI,
the receipt model and the fields every receipted answer starts with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Protocol

import orjson
from fastapi import Header
from fastapi.responses import Response
from pydantic import BaseModel, Field

from govshare.delivery.receipts import SignedReceipt
from govshare.identity.policy import Permission
from govshare.kernel.actor import Actor
from govshare.web.deps import policy
from govshare.web.routes.api import ErrorResponse

Client = Annotated[Actor, policy(Permission.CLIENT_API)]
_CALL_HEADERS = (
    (
        "X-Purpose",
        "the grant's purpose code (administrative_basis, work_reference, "
        "verification, collaboration); must equal the granted purpose",
        "administrative_basis",
    ),
    (
        "X-End-User",
        "the civil servant using the data (percent-encoded UTF-8)",
        "%E5%91%A8%E4%BA%BA%E7%A4%BE",
    ),
    ("X-Case-Number", "the case or business number (办件编号) the call serves", "RS-2026-000123"),
)
_P, _E, _C = _CALL_HEADERS
Purpose = Annotated[str | None, Header(alias=_P[0], description=_P[1], examples=[_P[2]])]
EndUser = Annotated[str | None, Header(alias=_E[0], description=_E[1], examples=[_E[2]])]
CaseNumber = Annotated[str | None, Header(alias=_C[0], description=_C[1], examples=[_C[2]])]
# The same headers documented without a parameter to solve: the hot paths (lookup,
# verify) read them from the request once, in ``guard.call_headers``.
CALL_HEADERS_OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "name": name,
            "in": "header",
            "required": False,
            "description": text,
            "schema": {"type": "string", "maxLength": 100},
            "example": example,
        }
        for name, text, example in _CALL_HEADERS
    ]
}


def errors(**by_status: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` from ``s404="codes ..."`` keywords."""
    return {
        int(status.removeprefix("s")): {"model": ErrorResponse, "description": text}
        for status, text in by_status.items()
    }


GUARD_ERRORS = errors(
    s401="token_invalid, token_expired, client_revoked: no valid client-system token",
    s403="grant_not_yours, grant_wrong_client, grant_pending_agreement, grant_suspended, "
    "grant_revoked, grant_expired, mode_not_granted, item_not_granted, purpose_mismatch",
    s404="grant_not_found",
    s409="delivery_no_data (no data pool yet), delivery_not_keyed (no identifier item)",
    s410="resource_retired: the transition has ended; the body names the replacement "
    "(`replacement`) and the cut-off (`cut_off`) (SZ-27)",
    s422="purpose_required, end_user_required, case_number_required, header_too_long, "
    "key_required, key_invalid, claims_required, claims_invalid",
    s429="rate_limited (per minute, `retry_after` seconds), quota_exceeded (per day), "
    "verify_attempts_exceeded (one subject verified too often today)",
)


class ReceiptBatchOut(BaseModel):
    index: int = Field(description="the receipt's place among those signed together")
    size: int = Field(description="how many receipts the signature covers")
    path: list[str] = Field(description="RFC 9162 audit path to the signed root (hex, leaf up)")


class ReceiptOut(BaseModel):
    v: int
    call_id: str
    client_id: str
    client_system: str
    grant_id: str
    resource: str
    version_no: int
    items: list[str]
    mode: str
    keys_sha256: str = Field(description="SHA-256 of the keys asked for, newline-joined")
    rows: int
    at: str
    audit_seq: int
    audit_hash: str
    key_id: str
    signature: str = Field(
        description="Ed25519 (base64url) by the platform key; from v2 over the root of the "
        "receipts signed together"
    )
    batch: ReceiptBatchOut | None = Field(
        default=None, description="v2: where this receipt sits under the signature"
    )


class CallResult(Protocol):
    """A delivery service's answer to one receipted call (lookup, verify, feed)."""

    @property
    def call_id(self) -> str: ...
    @property
    def grant_id(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def version_no(self) -> int: ...
    @property
    def receipt(self) -> SignedReceipt: ...


def call_fields(result: CallResult) -> dict[str, Any]:
    """The fields every receipted answer carries: the call, the grant, the resource version
    and the signed receipt."""
    return {
        "call_id": result.call_id,
        "grant_id": result.grant_id,
        "resource": result.resource,
        "version_no": result.version_no,
        "receipt": ReceiptOut(**result.receipt.as_json()),
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # as pydantic writes a Decimal in JSON
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


@dataclass(frozen=True, slots=True)
class Answer:
    """A receipted answer: its JSON body and its headers (the receipt, deprecation and
    sunset). The routes return it as a ``Response``; ``web.lane`` sends it as it is."""

    body: bytes
    headers: dict[str, str]

    def response(self) -> Response:
        return Response(self.body, media_type="application/json", headers=self.headers)


def receipted_answer(result: CallResult, headers: dict[str, str], **fields: Any) -> Answer:
    """A receipted answer serialised in one step (orjson): the hot delivery paths return
    it directly instead of validating a response model they built themselves; the route
    still declares that model, which documents (and the API tests check) the same shape."""
    data = {
        "call_id": result.call_id,
        "grant_id": result.grant_id,
        "resource": result.resource,
        "version_no": result.version_no,
        **fields,
        "receipt": result.receipt.as_json(),
    }
    body = orjson.dumps(data, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
    return Answer(body, headers)
