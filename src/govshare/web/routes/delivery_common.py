"""What the client-system delivery routes (``delivery_api``, ``delivery_files``) share: the
client policy, the call headers as documented parameters, the refusal tables for OpenAPI,
the receipt model and the fields every receipted answer starts with."""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from fastapi import Header
from pydantic import BaseModel, Field

from govshare.delivery.receipts import SignedReceipt
from govshare.identity.policy import Permission
from govshare.kernel.actor import Actor
from govshare.web.deps import policy
from govshare.web.routes.api import ErrorResponse

Client = Annotated[Actor, policy(Permission.CLIENT_API)]
Purpose = Annotated[
    str | None,
    Header(
        alias="X-Purpose",
        description="the grant's purpose code (administrative_basis, work_reference, "
        "verification, collaboration); must equal the granted purpose",
        examples=["administrative_basis"],
    ),
]
EndUser = Annotated[
    str | None,
    Header(
        alias="X-End-User",
        description="the civil servant using the data (percent-encoded UTF-8)",
        examples=["%E5%91%A8%E4%BA%BA%E7%A4%BE"],
    ),
]
CaseNumber = Annotated[
    str | None,
    Header(
        alias="X-Case-Number",
        description="the case or business number (办件编号) the call serves",
        examples=["RS-2026-000123"],
    ),
]


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
    signature: str = Field(description="Ed25519 (base64url) by the platform key")


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
