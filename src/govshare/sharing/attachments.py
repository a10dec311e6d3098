"""Attachments of applications and grants: supporting documents, the signed security
agreement (YX-21, SZ-11) and the destruction certificate (SZ-27).

The bytes are stored content-addressed under ``<var>/attachments/<sha256>`` (written before
the row, so a rolled-back transaction leaves at most an unreferenced file, never a row
without its bytes); the row keeps the name, type, size and hash, and the upload is audited
in the same transaction. Only the types a government office exchanges are accepted, checked
by their leading bytes rather than by the declared type."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from sqlalchemy import insert

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries as catalog_queries
from govshare.kernel.actor import Actor
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import Forbidden, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.sharing import queries
from govshare.sharing.model import Attachment, AttachmentKind
from govshare.sharing.services import party_side
from govshare.sharing.tables import attachment
from govshare.storage.engine import Database, Transaction

MAX_BYTES = 20 * 1024 * 1024

# Leading bytes → the content type stored (PDF, PNG, JPEG; OFD, DOCX and XLSX are ZIP).
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"PK\x03\x04", "application/zip"),
)
_ZIP_TYPES = {
    ".ofd": "application/ofd",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".zip": "application/zip",
}


def sniff(filename: str, data: bytes) -> str:
    """The content type of an accepted file, or ValidationFailed."""
    for magic, ctype in _SIGNATURES:
        if data.startswith(magic):
            if ctype == "application/zip":
                ext = Path(filename).suffix.lower()
                if ext not in _ZIP_TYPES:
                    break
                return _ZIP_TYPES[ext]
            return ctype
    raise ValidationFailed(
        "仅接受 PDF、OFD、PNG、JPEG、DOCX、XLSX 或 ZIP 文件",
        "only PDF, OFD, PNG, JPEG, DOCX, XLSX or ZIP files are accepted",
        code="attachment_type",
        field="file",
    )


def _clean_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name.strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    return name[:200] or "attachment"


def store_path(store_dir: Path, sha256: str) -> Path:
    return store_dir / sha256[:2] / sha256


def _write(store_dir: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    path = store_path(store_dir, digest)
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
    return digest


def _may_attach(tx: Transaction, actor: Actor, owner_kind: str, owner_id: str) -> None:
    """Parties of the application or grant (consumer, provider) and the authority."""
    if owner_kind == "application":
        app = queries.get_application(tx.conn, owner_id)
        consumer, provider_id = app.consumer_department_id, app.provider_department_id
    elif owner_kind == "grant":
        g = queries.get_grant(tx.conn, owner_id)
        consumer = g.consumer_department_id
        provider_id = catalog_queries.get_resource(tx.conn, g.resource_id).provider_department_id
    else:
        raise ValidationFailed("附件归属无效", "bad attachment owner", code="attachment_owner")
    if party_side(tx, actor, consumer, provider_id) is not None:
        return
    raise Forbidden("无权上传该附件", "not a party to this application or grant", code="forbidden")


def add_attachment(
    db: Database,
    store_dir: Path,
    *,
    owner_kind: str,
    owner_id: str,
    kind: AttachmentKind,
    filename: str,
    data: bytes,
    actor: Actor,
) -> Attachment:
    if not data:
        raise ValidationFailed(
            "文件为空", "the file is empty", code="attachment_empty", field="file"
        )
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            "文件超过 20 MB", "the file exceeds 20 MB", code="attachment_too_large", field="file"
        )
    ctype = sniff(filename, data)
    name = _clean_name(filename)
    with db.transaction() as tx:
        _may_attach(tx, actor, owner_kind, owner_id)
        digest = _write(store_dir, data)
        aid = new_id()
        tx.conn.execute(
            insert(attachment).values(
                id=aid,
                owner_kind=owner_kind,
                owner_id=owner_id,
                kind=kind.value,
                filename=name,
                content_type=ctype,
                size=len(data),
                sha256=digest,
                uploaded_by=actor.name,
                uploaded_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.ATTACH,
            f"share_{owner_kind}",
            owner_id,
            details={"attachment": aid, "kind": kind.value, "sha256": digest, "size": len(data)},
        )
        return queries.get_attachment(tx.conn, aid)


def read_attachment(
    db: Database, store_dir: Path, attachment_id: str, *, actor: Actor
) -> tuple[Attachment, bytes]:
    """The attachment and its bytes, for a party of its application or grant; the bytes
    are checked against the stored hash."""
    with db.read() as conn:
        att = queries.get_attachment(conn, attachment_id)
        _may_attach(Transaction(conn), actor, att.owner_kind, att.owner_id)
    data = store_path(store_dir, att.sha256).read_bytes()
    if hashlib.sha256(data).hexdigest() != att.sha256:
        raise ValidationFailed(
            "附件文件已损坏", "the stored file does not match its hash", code="attachment_corrupt"
        )
    return att, data
