"""Data services for client systems, continued (see ``delivery_api`` for the call headers,
receipts and refusal codes): batch exports (批量交换), the change feed (订阅/增量) and
documents / e-licences (文书、证照类, SZ-16.4, NX-39), with the public checks of export
manifests and document signatures, and the provider's document upload."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from govshare.delivery import documents as documents_service
from govshare.delivery import export as export_service
from govshare.delivery import feed as feed_service
from govshare.delivery.guard import call_headers
from govshare.identity.policy import Permission
from govshare.jobs.queue import make_queue
from govshare.kernel.actor import Actor
from govshare.kernel.clock import iso_utc
from govshare.kernel.errors import ValidationFailed
from govshare.platform import Platform
from govshare.web.deps import PlatformDep, policy
from govshare.web.routes.delivery_common import (
    GUARD_ERRORS,
    CaseNumber,
    Client,
    EndUser,
    Purpose,
    ReceiptOut,
    call_fields,
    errors,
)

router = APIRouter(tags=["delivery"])

LoadData = Annotated[Actor, policy(Permission.LOAD_DATA)]

EXPORT_ERRORS = {
    **GUARD_ERRORS,
    **errors(
        s404="grant_not_found, export_not_found (another department's job is not found)",
        s409="delivery_no_data, export_not_ready",
        s410="resource_retired; export_link_invalid, export_link_expired, export_expired",
        s422="purpose_required, end_user_required, case_number_required, header_too_long, "
        "export_format_invalid, export_encoding_invalid",
    ),
}


# Batch exports --------------------------------------------------------------------------
class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str = Field(default="csv", description="csv, xlsx, jsonl or parquet")
    encoding: str | None = Field(
        default=None,
        description="CSV only: utf-8 (default), utf-8-bom (for Excel) or gbk",
    )
    items: list[str] | None = Field(
        default=None, description="item codes to export (default: every granted item)"
    )


class ExportOut(BaseModel):
    job_id: str
    grant_id: str
    resource: str
    version_no: int
    format: str
    encoding: str
    state: str = Field(description="queued, running, done, failed or expired")
    requested_at: str
    finished_at: str | None = None
    expires_at: str | None = None
    rows: int | None = None
    size: int | None = None
    sha256: str | None = None
    download_url: str | None = Field(
        default=None, description="signed link; valid until expires_at (with the client token)"
    )
    manifest: dict[str, Any] | None = Field(
        default=None, description="row count, SHA-256, grant, version, items, format, time"
    )
    manifest_signature: str | None = Field(
        default=None,
        description="Ed25519 (base64url) by the platform key over "
        "b'govshare-export-manifest:v1.' + the manifest's canonical JSON",
    )
    production_receipt: str | None = Field(
        default=None, description="the signed receipt of the copy the job made (rows)"
    )
    error: dict[str, Any] | None = None
    receipt: ReceiptOut | None = Field(
        default=None, description="the receipt of this request (POST only)"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": "01JD5X9K2M3N4P5Q6R7S8T9V0W",
                    "grant_id": "01JD5W0000000000000000GRNT",
                    "resource": "321300-GA-00001",
                    "version_no": 1,
                    "format": "csv",
                    "encoding": "utf-8-bom",
                    "state": "done",
                    "requested_at": "2026-11-21T02:00:00.000000Z",
                    "finished_at": "2026-11-21T02:00:04.000000Z",
                    "expires_at": "2026-11-22T02:00:04.000000Z",
                    "rows": 100000,
                    "size": 7340032,
                    "sha256": "9f2c…",
                    "download_url": "/api/v1/delivery/exports/01JD5X9K…/file?token=…",
                    "manifest": {"rows": 100000, "sha256": "9f2c…", "...": "..."},
                    "manifest_signature": "x3Y…",
                }
            ]
        }
    )


def _export_out(platform: Platform, job: export_service.ExportJob) -> ExportOut:
    token = export_service.link_token(platform.settings, job)
    error = None
    if job.error_code:
        error = {"code": job.error_code, **json.loads(job.error or "{}")}
    return ExportOut(
        job_id=job.id,
        grant_id=job.grant_id,
        resource=job.resource_code,
        version_no=job.version_no,
        format=job.format.value,
        encoding=job.encoding,
        state=job.state.value,
        requested_at=iso_utc(job.requested_at),
        finished_at=iso_utc(job.finished_at) if job.finished_at else None,
        expires_at=iso_utc(job.expires_at) if job.expires_at else None,
        rows=job.rows,
        size=job.size,
        sha256=job.sha256,
        download_url=(
            f"/api/v1/delivery/exports/{job.id}/file?token={quote(token)}" if token else None
        ),
        manifest=job.manifest,
        manifest_signature=job.manifest_signature,
        production_receipt=job.receipt,
        error=error,
    )


def _enqueue(request: Request) -> export_service.Enqueue:
    """The job queue's export task (the app's queue; the embedded one on first use)."""
    queue = getattr(request.app.state, "queue", None)
    if queue is None:
        platform: Platform = request.app.state.platform
        queue = request.app.state.queue = make_queue(platform.settings, platform=platform)
    enqueue: export_service.Enqueue = queue.export
    return enqueue


EXPORT_EXAMPLE = {"format": "csv", "encoding": "utf-8-bom"}


@router.post(
    "/api/v1/delivery/grants/{grant_id}/exports",
    status_code=202,
    response_model=ExportOut,
    responses=EXPORT_ERRORS,
    summary="Batch export (批量交换): queue an export of the grant's data",
)
def request_export(
    grant_id: str,
    request: Request,
    response: Response,
    platform: PlatformDep,
    actor: Client,
    body: Annotated[
        ExportIn,
        Body(
            openapi_examples={
                "csv": {"summary": "CSV with a BOM, for Excel", "value": EXPORT_EXAMPLE},
                "parquet": {"summary": "Parquet", "value": {"format": "parquet"}},
            }
        ),
    ],
    x_purpose: Purpose = None,
    x_end_user: EndUser = None,
    x_case_number: CaseNumber = None,
) -> ExportOut:
    """For grants with the ``batch`` mode. The job runs on the job queue: poll
    ``GET /api/v1/delivery/exports/{job_id}`` until ``done``, then download. Only granted
    items leave, each at its granted masking level (SQ-26). Audited (EXPORT) and receipted."""
    done = export_service.request_export(
        platform,
        grant_id,
        fmt=body.format,
        encoding=body.encoding,
        items=tuple(body.items) if body.items is not None else None,
        call=call_headers(request.headers),
        actor=actor,
        enqueue=_enqueue(request),
    )
    response.headers.update(done.headers)
    with platform.db.read() as conn:
        job = export_service.get_job(conn, done.job.id) or done.job
    out = _export_out(platform, job)
    out.receipt = ReceiptOut(**done.receipt.as_json())
    return out


@router.get(
    "/api/v1/delivery/exports/{job_id}",
    response_model=ExportOut,
    responses=errors(s401="no valid client-system token", s404="export_not_found"),
    summary="An export job's state, manifest and download link",
)
def export_status(job_id: str, platform: PlatformDep, actor: Client) -> ExportOut:
    return _export_out(platform, export_service.job_for(platform, job_id, actor=actor))


@router.get(
    "/api/v1/delivery/exports/{job_id}/file",
    response_class=FileResponse,
    responses={
        200: {
            "description": "the export file (X-Export-SHA256, X-Call-Receipt)",
            "content": {"application/octet-stream": {}},
        },
        **EXPORT_ERRORS,
    },
    summary="Download an export (signed link that expires)",
)
def export_file(
    job_id: str,
    request: Request,
    platform: PlatformDep,
    actor: Client,
    token: Annotated[str | None, Query(max_length=200, description="the link's token")] = None,
    x_purpose: Purpose = None,
    x_end_user: EndUser = None,
    x_case_number: CaseNumber = None,
) -> FileResponse:
    """Needs the client token, the call headers and the unexpired signed link. Audited
    (TRANSMIT) and receipted."""
    got = export_service.download(
        platform, job_id, token=token, call=call_headers(request.headers), actor=actor
    )
    return FileResponse(
        got.path,
        media_type=got.media_type,
        filename=got.filename,
        headers=got.headers,
    )


class ManifestCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    manifest: dict[str, Any]
    signature: str = Field(max_length=200)
    sha256: str | None = Field(
        default=None, max_length=64, description="the downloaded file's SHA-256, to compare"
    )


class SignatureCheckOut(BaseModel):
    valid: bool
    problem: str | None
    statement: dict[str, Any] | None = None


@router.post(
    "/api/v1/delivery/manifests/verify",
    response_model=SignatureCheckOut,
    responses=errors(s422="request_invalid"),
    dependencies=[policy(Permission.PUBLIC, csrf=False)],
    summary="Check an export manifest's signature (and the file's SHA-256)",
)
def verify_manifest(body: ManifestCheckIn, platform: PlatformDep) -> SignatureCheckOut:
    checked = export_service.check_manifest(platform, body.manifest, body.signature, body.sha256)
    return SignatureCheckOut(**checked.as_json())


# Feed -----------------------------------------------------------------------------------
class FeedOut(BaseModel):
    call_id: str
    grant_id: str
    resource: str
    version_no: int
    cursor: int
    next_cursor: int = Field(description="pass it as `cursor` on the next call")
    has_more: bool
    changes: list[dict[str, Any]] = Field(
        description='{"seq", "op": "upsert", "record"} or {"seq", "op": "delete", "key"}'
    )
    masking: dict[str, str]
    key_items: list[str] = Field(description="the key items a delete carries")
    receipt: ReceiptOut

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "call_id": "01JD5XA0000000000000000CAL",
                    "grant_id": "01JD5W0000000000000000GRNT",
                    "resource": "321300-GA-00001",
                    "version_no": 1,
                    "cursor": 0,
                    "next_cursor": 2,
                    "has_more": False,
                    "changes": [
                        {"seq": 1, "op": "upsert", "record": {"name": "张*", "id_card": "…"}},
                        {"seq": 2, "op": "delete", "key": {"id_card": "321302********1234"}},
                    ],
                    "masking": {"name": "masked", "id_card": "masked"},
                    "key_items": ["id_card"],
                    "receipt": {"call_id": "01JD5XA0000000000000000CAL", "...": "..."},
                }
            ]
        }
    )


@router.get(
    "/api/v1/delivery/grants/{grant_id}/changes",
    response_model=FeedOut,
    responses={
        **GUARD_ERRORS,
        **errors(
            s422="purpose_required, end_user_required, case_number_required, "
            "cursor_invalid, limit_invalid"
        ),
    },
    summary="Feed (订阅/增量): changes since a cursor, deletes included",
)
def changes(
    grant_id: str,
    request: Request,
    response: Response,
    platform: PlatformDep,
    actor: Client,
    cursor: Annotated[
        int | None, Query(description="the last `next_cursor` (0 or absent: from the start)")
    ] = None,
    limit: Annotated[int | None, Query(description="changes per page, 1–1000 (500)")] = None,
    x_purpose: Purpose = None,
    x_end_user: EndUser = None,
    x_case_number: CaseNumber = None,
) -> FeedOut:
    """For grants with the ``feed`` mode. Audited (TRANSMIT) and receipted."""
    result = feed_service.changes(
        platform,
        grant_id,
        cursor=cursor,
        limit=limit,
        call=call_headers(request.headers),
        actor=actor,
    )
    response.headers.update(result.headers)
    return FeedOut(
        **call_fields(result),
        cursor=result.cursor,
        next_cursor=result.next_cursor,
        has_more=result.has_more,
        changes=result.changes,
        masking=result.masking,
        key_items=result.key_items,
    )


# Documents ------------------------------------------------------------------------------
@router.get(
    "/api/v1/delivery/grants/{grant_id}/documents",
    response_class=FileResponse,
    responses={
        200: {
            "description": "the document's bytes, with X-Document-SHA256, "
            "X-Platform-Signature and X-Call-Receipt",
            "content": {"application/pdf": {}, "application/ofd": {}},
        },
        **GUARD_ERRORS,
        **errors(
            s404="grant_not_found, document_not_found",
            s409="document_damaged",
        ),
    },
    summary="Document / e-licence (文书、证照): a record's stored document, signed",
)
def document(
    grant_id: str,
    request: Request,
    platform: PlatformDep,
    actor: Client,
    key: Annotated[
        str | None,
        Query(
            max_length=64,
            description="the record's key (统一社会信用代码, 身份证号, ...)",
            examples=["91321300MA1X2Y3Z4A"],
        ),
    ] = None,
    document_id: Annotated[
        str | None, Query(max_length=26, description="a given document (default: the newest)")
    ] = None,
    x_purpose: Purpose = None,
    x_end_user: EndUser = None,
    x_case_number: CaseNumber = None,
) -> FileResponse:
    """For grants with the ``file`` mode. The ``X-Platform-Signature`` statement binds the
    document's SHA-256 to the resource, the key and the time; check it at
    ``POST /api/v1/delivery/documents/verify``. Audited (TRANSMIT) and receipted."""
    got = documents_service.fetch_document(
        platform,
        grant_id,
        key=key,
        document_id=document_id,
        call=call_headers(request.headers),
        actor=actor,
    )
    return FileResponse(
        got.path,
        media_type=got.document.content_type,
        filename=got.document.filename,
        headers=got.headers,
    )


class DocumentCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signature: str = Field(max_length=4000, description="the X-Platform-Signature value")
    sha256: str | None = Field(
        default=None, max_length=64, description="the SHA-256 of the bytes received"
    )


@router.post(
    "/api/v1/delivery/documents/verify",
    response_model=SignatureCheckOut,
    responses=errors(s422="request_invalid"),
    dependencies=[policy(Permission.PUBLIC, csrf=False)],
    summary="Check a document's platform signature (and its SHA-256)",
)
def verify_document(body: DocumentCheckIn, platform: PlatformDep) -> SignatureCheckOut:
    checked = documents_service.check_signature(platform, body.signature, body.sha256)
    return SignatureCheckOut(**checked.as_json())


class DocumentOut(BaseModel):
    id: str
    resource_id: str
    key: str = Field(description="the record key, masked")
    filename: str
    content_type: str
    sha256: str
    size: int
    uploaded_by: str
    uploaded_at: str


async def read_upload(file: UploadFile) -> bytes:
    data = await file.read(documents_service.MAX_BYTES + 1)
    if len(data) > documents_service.MAX_BYTES:
        raise ValidationFailed(
            "文件超过 20 MB", "the file is larger than 20 MB", code="document_too_large"
        )
    return data


@router.post(
    "/api/v1/resources/{resource_id}/documents",
    status_code=201,
    response_model=DocumentOut,
    responses=errors(
        s401="not signed in",
        s403="forbidden: not the provider's staff or business system",
        s404="no such resource",
        s409="document_mode_missing",
        s422="key_required, key_invalid, document_empty, document_too_large, attachment_type",
    ),
    summary="Store a document against a record (provider)",
)
async def upload_document(
    resource_id: str,
    platform: PlatformDep,
    actor: LoadData,
    key: Annotated[str, Form(max_length=64, description="the record's key")],
    file: Annotated[UploadFile, File(description="PDF, OFD, PNG, JPEG, DOCX or ZIP")],
) -> DocumentOut:
    """The provider's staff (or its business system) store a document (audited STORE)."""
    data = await read_upload(file)
    doc = await run_in_threadpool(
        documents_service.store_document,
        platform,
        resource_id,
        key=key,
        filename=file.filename or "document",
        data=data,
        actor=actor,
    )
    return DocumentOut(
        id=doc.id,
        resource_id=doc.resource_id,
        key=doc.masked_key,
        filename=doc.filename,
        content_type=doc.content_type,
        sha256=doc.sha256,
        size=doc.size,
        uploaded_by=doc.uploaded_by,
        uploaded_at=iso_utc(doc.uploaded_at),
    )
