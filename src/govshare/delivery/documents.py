"""Documents and e-licences (文书、证照类, SZ-16.4, NX-39): the provider stores the document
of a record (a PDF or OFD licence, a decision), and a consumer system holding a grant with
the ``file`` mode fetches it by the record's key, with the document's SHA-256 and the
platform's signature, so that it can stand in for the paper original.

- ``store_document`` (provider staff, or the provider's business system; LOAD_DATA on the
  provider department): the type is checked by the leading bytes (PDF, OFD, ...), the bytes
  are written content-addressed under ``<var>/documents/<sha256[:2]>/<sha256>`` before the
  row, and the row and its audit entry (STORE, SQ-25 存储) commit together.
- ``fetch_document`` (client system, mode ``file``): authorised by ``delivery.guard``, the
  newest document of the key (or the one named), its bytes checked against the stored
  SHA-256, audited (TRANSMIT) and receipted. The signature statement (compact,
  ``X-Platform-Signature``) is signed with the platform key over the document's SHA-256,
  the resource, the SHA-256 of the key asked for, the time, the call and its audit entry;
  ``check_signature`` (and ``POST /api/v1/delivery/documents/verify``) verifies it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries as catalog_queries
from govshare.catalog.model import DeliveryMode
from govshare.catalog.tables import resource, resource_version
from govshare.delivery import statements
from govshare.delivery.file_tables import delivery_document as doc_table
from govshare.delivery.guard import CallRequest, guard_for
from govshare.delivery.masking import key_ref
from govshare.delivery.model import CallHeaders
from govshare.delivery.receipts import SignedReceipt
from govshare.delivery.services.common import normalise_key
from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor
from govshare.kernel.clock import iso_utc, utcnow
from govshare.kernel.errors import Conflict, DomainError, NotFound, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.kernel.masking import SensitivityKind, mask
from govshare.platform import Platform
from govshare.sharing.attachments import sniff

MAX_BYTES = 20 * 1024 * 1024
STATEMENT_VERSION = 1
_UPPER_KEYS = ("id_card", "uscc", "org_code")


@dataclass(frozen=True)
class Document:
    id: str
    resource_id: str
    record_key: str
    filename: str
    content_type: str
    sha256: str
    size: int
    stored_path: str
    uploaded_by: str
    uploaded_at: datetime

    @property
    def masked_key(self) -> str:
        return str(mask(self.record_key, SensitivityKind.ID_CARD))


def _document(row: Any) -> Document:
    m = row._mapping
    return Document(**{k: m[k] for k in Document.__dataclass_fields__})


def documents_of(conn: Connection, resource_id: str, limit: int = 200) -> list[Document]:
    rows = conn.execute(
        select(doc_table)
        .where(doc_table.c.resource_id == resource_id)
        .order_by(doc_table.c.uploaded_at.desc(), doc_table.c.id.desc())
        .limit(limit)
    ).all()
    return [_document(r) for r in rows]


def count_documents(conn: Connection, resource_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(doc_table)
            .where(doc_table.c.resource_id == resource_id)
        ).scalar_one()
    )


@dataclass(frozen=True)
class FileResource:
    resource_id: str
    code: str
    name: str
    provider_department_id: str
    documents: int


def file_resources(conn: Connection, department_ids: set[str]) -> list[FileResource]:
    """The published resources of ``department_ids`` offered with the ``file`` mode."""
    if not department_ids:
        return []
    counts = (
        select(doc_table.c.resource_id, func.count().label("n"))
        .group_by(doc_table.c.resource_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            resource.c.id,
            resource.c.code,
            resource_version.c.name,
            resource.c.provider_department_id,
            resource_version.c.delivery_modes,
            counts.c.n,
        )
        .join(resource_version, resource_version.c.id == resource.c.published_version_id)
        .outerjoin(counts, counts.c.resource_id == resource.c.id)
        .where(resource.c.provider_department_id.in_(department_ids))
        .order_by(resource.c.code)
    ).all()
    return [
        FileResource(
            str(r.id), str(r.code), str(r.name), str(r.provider_department_id), int(r.n or 0)
        )
        for r in rows
        if DeliveryMode.FILE.value in json.loads(r.delivery_modes or "[]")
    ]


def _key_kind(conn: Connection, resource_id: str) -> str:
    """The identifier kind of the resource's key item (from its published version)."""
    version = catalog_queries.published_version(conn, resource_id)
    if version is None:
        return ""
    for item in version.entry.data_items:
        if item.identifier.value in _UPPER_KEYS:
            return item.identifier.value
    return ""


def _normalise(conn: Connection, resource_id: str, key: str | None) -> str:
    text = normalise_key(key)
    return text.upper() if _key_kind(conn, resource_id) in _UPPER_KEYS else text


def _clean_name(filename: str) -> str:
    name = Path((filename or "").replace("\\", "/")).name.strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    return name[:200] or "document"


def _write(store: Path, data: bytes) -> tuple[str, Path]:
    digest = hashlib.sha256(data).hexdigest()
    path = store / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return digest, path


def store_document(
    platform: Platform,
    resource_id: str,
    *,
    key: str | None,
    filename: str,
    data: bytes,
    actor: Actor,
) -> Document:
    """Store a document against a record key of a resource (audited STORE)."""
    settings = platform.settings
    with platform.db.read() as conn:
        res = catalog_queries.get_resource(conn, resource_id)
        dept = identity_queries.get_department(conn, res.provider_department_id)
        require(
            actor,
            Permission.LOAD_DATA,
            department_id=dept.id,
            jurisdiction_id=dept.jurisdiction_id,
        )
        version = catalog_queries.published_version(conn, resource_id)
        if version is None or DeliveryMode.FILE not in version.entry.delivery_modes:
            raise Conflict(
                "该资源未发布或共享方式不含文件/证照，不能存放文书",
                "the resource is not published with the file delivery mode",
                code="document_mode_missing",
            )
        record_key = _normalise(conn, resource_id, key)
    if not data:
        raise ValidationFailed("文件为空", "the file is empty", code="document_empty", field="file")
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            f"文件超过 {MAX_BYTES // (1024 * 1024)} MB",
            f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB",
            code="document_too_large",
            field="file",
        )
    name = _clean_name(filename)
    content_type = sniff(name, data)
    store = settings.documents_dir
    digest, path = _write(store, data)
    doc = Document(
        id=new_id(),
        resource_id=resource_id,
        record_key=record_key,
        filename=name,
        content_type=content_type,
        sha256=digest,
        size=len(data),
        stored_path=path.relative_to(settings.var_dir).as_posix(),
        uploaded_by=actor.name,
        uploaded_at=utcnow(),
    )
    with platform.db.transaction() as tx:
        tx.conn.execute(insert(doc_table).values(**doc.__dict__))
        audit.record(
            tx,
            actor,
            AuditAction.STORE,
            "delivery_document",
            doc.id,
            details={
                "resource": res.code,
                "key": doc.masked_key,
                "key_ref": key_ref(platform.keys, record_key),
                "filename": name,
                "content_type": content_type,
                "sha256": digest,
                "size": len(data),
            },
        )
    return doc


@dataclass(frozen=True)
class DeliveredDocument:
    document: Document
    path: Path
    signature: str  # compact statement (X-Platform-Signature)
    receipt: SignedReceipt
    headers: dict[str, str]


def _find(conn: Connection, resource_id: str, key: str, document_id: str | None) -> Document | None:
    q = select(doc_table).where(
        doc_table.c.resource_id == resource_id, doc_table.c.record_key == key
    )
    if document_id:
        q = q.where(doc_table.c.id == document_id)
    row = conn.execute(q.order_by(doc_table.c.uploaded_at.desc(), doc_table.c.id.desc())).first()
    return _document(row) if row is not None else None


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def not_found() -> DomainError:
    return NotFound(
        "该记录没有文书或证照", "no document for this record", code="document_not_found"
    )


def fetch_document(
    platform: Platform,
    grant_id: str,
    *,
    key: str | None,
    document_id: str | None,
    call: CallHeaders,
    actor: Actor,
) -> DeliveredDocument:
    """A record's document for a grant with the ``file`` mode (TRANSMIT, receipted)."""
    guard = guard_for(platform)
    with platform.db.read() as conn:
        auth = guard.authorise(conn, actor, CallRequest(grant_id, DeliveryMode.FILE, call))
        try:
            record_key = _normalise(conn, auth.grant.resource_id, key)
            doc = _find(conn, auth.grant.resource_id, record_key, document_id)
            if doc is None:
                raise not_found()
            path = platform.settings.var_dir / doc.stored_path
            if not path.is_file() or _file_sha256(path) != doc.sha256:
                raise Conflict(
                    "文书文件缺失或已损坏，请联系提供部门",
                    "the stored document is missing or damaged; contact the provider",
                    code="document_damaged",
                )
        except DomainError as exc:
            guard.fail(auth, exc)
    kind = _key_kind_of(platform, auth.grant.resource_id)
    entry, receipt = guard.complete(
        auth,
        action=AuditAction.TRANSMIT,
        keys=[record_key],
        rows=1,
        key_kind=kind,
        details={"document": doc.id, "sha256": doc.sha256},
    )
    statement = {
        "v": STATEMENT_VERSION,
        "document_id": doc.id,
        "sha256": doc.sha256,
        "size": doc.size,
        "content_type": doc.content_type,
        "filename": doc.filename,
        "resource": auth.grant.resource_code,
        "version_no": auth.grant.version_no,
        "key_sha256": hashlib.sha256(record_key.encode("utf-8")).hexdigest(),
        "grant_id": auth.grant.id,
        "call_id": auth.call_id,
        "at": iso_utc(entry.occurred_at),
        "audit_seq": entry.seq,
        "key_id": platform.keys.key_id,
    }
    signature = statements.sign(platform.keys, statements.DOCUMENT_DOMAIN, statement)
    return DeliveredDocument(
        document=doc,
        path=path,
        signature=signature,
        receipt=receipt,
        headers={
            **auth.response_headers(),
            "X-Call-Receipt": receipt.compact,
            "X-Document-SHA256": doc.sha256,
            "X-Document-Id": doc.id,
            "X-Platform-Signature": signature,
            "Cache-Control": "no-store",
        },
    )


def _key_kind_of(platform: Platform, resource_id: str) -> str:
    with platform.db.read() as conn:
        kind = _key_kind(conn, resource_id)
    return SensitivityKind.ID_CARD.value if kind == "id_card" else SensitivityKind.USCC.value


def check_signature(
    platform: Platform, signature: str, sha256: str | None = None
) -> statements.Checked:
    """Verify a document's signature statement, and optionally the document's SHA-256."""
    checked = statements.check(platform.keys, statements.DOCUMENT_DOMAIN, signature)
    if (
        checked.valid
        and checked.data is not None
        and sha256 is not None
        and sha256.strip().lower() != checked.data.get("sha256")
    ):
        return statements.Checked(False, checked.data, "the document's SHA-256 differs")
    return checked
