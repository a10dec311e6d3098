"""Data services for client systems (数据服务): lookup, verification and receipt checks.

Every delivery call carries the client system's bearer token (``POST /oauth/token``), the
grant id in the path, and the headers ``X-Purpose`` (the grant's purpose code, SQ-21),
``X-End-User`` (the civil servant acting) and ``X-Case-Number`` (办件编号); non-ASCII header
values are sent percent-encoded UTF-8. Each answer carries its signed call receipt in the
``X-Call-Receipt`` header and the ``receipt`` field (SZ-16.4); while the resource retires,
``Deprecation`` and ``Sunset`` headers give the cut-off (SZ-19).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from govshare.delivery import receipts
from govshare.delivery.guard import call_headers
from govshare.delivery.services import lookup as lookup_service
from govshare.delivery.services import verify as verify_service
from govshare.identity.model import VerifiedClient
from govshare.identity.policy import Permission
from govshare.kernel.actor import Actor
from govshare.platform import Platform
from govshare.web.deps import PlatformDep, policy
from govshare.web.routes.delivery_common import (
    CALL_HEADERS_OPENAPI,
    GUARD_ERRORS,
    Answer,
    Client,
    ReceiptOut,
    errors,
    receipted_answer,
)

router = APIRouter(tags=["delivery"])


class LookupOut(BaseModel):
    call_id: str
    grant_id: str
    resource: str
    version_no: int
    found: bool
    records: list[dict[str, Any]]
    masking: dict[str, str] = Field(
        description="each item's level: masked, raw, pseudonym or suppressed"
    )
    receipt: ReceiptOut

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "call_id": "01JD5X3Q7W2Y8Z9A0B1C2D3E4F",
                    "grant_id": "01JD5W0000000000000000GRNT",
                    "resource": "321300-GA-00001",
                    "version_no": 1,
                    "found": True,
                    "records": [{"name": "张*", "mobile": "138****5678"}],
                    "masking": {"name": "masked", "mobile": "masked"},
                    "receipt": {"call_id": "01JD5X3Q7W2Y8Z9A0B1C2D3E4F", "...": "..."},
                }
            ]
        }
    )


@router.get(
    "/api/v1/delivery/grants/{grant_id}/records",
    response_model=LookupOut,
    responses=GUARD_ERRORS,
    openapi_extra=CALL_HEADERS_OPENAPI,
    summary="Lookup (联机查询): a subject's granted items, masked",
)
async def lookup(
    grant_id: str,
    request: Request,
    platform: PlatformDep,
    actor: Client,
    key: Annotated[
        str | None,
        Query(
            max_length=64,
            description="the subject's key: 身份证号, 统一社会信用代码 or the resource's "
            "other identifier (the data pool's key)",
            examples=["321302199003071234"],
        ),
    ] = None,
    items: Annotated[
        str | None,
        Query(
            description="comma-separated item codes to return (default: every granted item)",
            examples=["name,mobile"],
        ),
    ] = None,
) -> Response:
    """Only granted items leave, each at its granted masking level (NX-12). Audited
    (QUERY) and receipted (SZ-16.4)."""
    return (await run_lookup(platform, grant_id, key, items, request.headers, actor)).response()


async def run_lookup(
    platform: Platform,
    grant_id: str,
    key: str | None,
    items: str | None,
    headers: Mapping[str, str],
    caller: Actor | VerifiedClient,
) -> Answer:
    """The lookup call itself (this route, and ``web.lane`` for bearer-token calls)."""
    wanted = tuple(c.strip() for c in items.split(",") if c.strip()) if items else None
    result = await lookup_service.lookup_async(
        platform, grant_id, key=key, items=wanted, call=call_headers(headers), actor=caller
    )
    return receipted_answer(
        result,
        result.headers,
        found=bool(result.records),
        records=result.records,
        masking=result.masking,
    )


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=64, description="the subject's key (the data pool's key)")
    claims: dict[str, Any] = Field(description="item code -> the value the consumer holds")


class VerifyOut(BaseModel):
    call_id: str
    grant_id: str
    resource: str
    version_no: int
    results: dict[str, str] = Field(description="item code -> match | mismatch | no_record")
    receipt: ReceiptOut


VERIFY_EXAMPLE = {
    "key": "321302199003071234",
    "claims": {"name": "张三", "mobile": "13812345678"},
}


@router.post(
    "/api/v1/delivery/grants/{grant_id}/verify",
    response_model=VerifyOut,
    responses=GUARD_ERRORS,
    openapi_extra=CALL_HEADERS_OPENAPI,
    summary="Verify (核验): match / mismatch / no_record per claimed item",
)
async def verify(
    grant_id: str,
    request: Request,
    platform: PlatformDep,
    actor: Client,
    body: Annotated[
        VerifyIn,
        Body(openapi_examples={"person": {"summary": "a resident", "value": VERIFY_EXAMPLE}}),
    ],
) -> Response:
    """Never returns a stored value (NX-14, NX-38). Rate-limited more strictly than
    lookup, limited per subject per day, audited (VERIFY) and receipted."""
    answer = await run_verify(platform, grant_id, body.key, body.claims, request.headers, actor)
    return answer.response()


async def run_verify(
    platform: Platform,
    grant_id: str,
    key: str,
    claims: dict[str, Any],
    headers: Mapping[str, str],
    caller: Actor | VerifiedClient,
) -> Answer:
    """The verification call itself (this route, and ``web.lane`` for bearer-token calls)."""
    result = await verify_service.verify_async(
        platform, grant_id, key=key, claims=claims, call=call_headers(headers), actor=caller
    )
    return receipted_answer(
        result, result.headers, results={c: r.value for c, r in result.results.items()}
    )


class ReceiptCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt: str | dict[str, Any] = Field(
        description="the X-Call-Receipt header value, or the body's receipt object"
    )


class ReceiptCheckOut(BaseModel):
    valid: bool = Field(description="the platform's signature holds over every field")
    problem: str | None
    audit: str | None = Field(
        default=None,
        description="the named audit entry: matches, differs, archived or missing",
    )
    receipt: dict[str, Any] | None = None


@router.post(
    "/api/v1/receipts/verify",
    response_model=ReceiptCheckOut,
    responses=errors(s422="request_invalid"),
    dependencies=[policy(Permission.PUBLIC, csrf=False)],
    summary="Check a call receipt (调用记录凭证)",
)
def verify_receipt(
    body: Annotated[
        ReceiptCheckIn,
        Body(
            openapi_examples={
                "compact": {
                    "summary": "the X-Call-Receipt header value",
                    "value": {"receipt": "eyJhdCI6IjIwMjYtMTEtMjFUMDI6MDA6MDAuMDAwMDAwWiIs...sig"},
                }
            }
        ),
    ],
    platform: PlatformDep,
) -> ReceiptCheckOut:
    """Anyone holding a receipt may check it (it proves a call, it discloses no data):
    the signature by the platform key, and the audit entry it names (SZ-16.4)."""
    with platform.db.read() as conn:
        checked = receipts.check(conn, platform.keys, body.receipt)
    return ReceiptCheckOut(**checked.as_json())
