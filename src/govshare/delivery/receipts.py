"""Call receipts (调用记录凭证, SZ-16.4): one per data-service call, signed by the platform.

A receipt states the call id, the client system, the grant, the resource and version, the
items and mode, the SHA-256 of the keys asked for (``keys_sha256``: the consumer can
recompute it from its own request; the platform keeps only a keyed reference), the number
of records returned, the time, and the audit entry (``audit_seq`` and ``audit_hash``) that
records the call in the hash chain.

Encodings:

- compact (header ``X-Call-Receipt``): ``base64url(payload) "." base64url(signature)``
  where ``payload`` is the canonical JSON (sorted keys, no spaces, UTF-8);
- JSON (response body ``receipt``): the payload's fields plus ``signature``.

The signature is Ed25519 by the platform key over ``b"govshare-receipt:v1." + payload``;
the public key is at ``/.well-known/govshare/keys``. Changing any field, or the signature,
fails ``verify``. ``verify_against_audit`` also checks that the audit entry the receipt
names is in the chain with that hash and is about that call.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, select

from govshare.audit.keys import PlatformKeys, verify_signature
from govshare.audit.tables import audit_archive, audit_entry
from govshare.kernel.errors import ValidationFailed

VERSION = 1
DOMAIN = b"govshare-receipt:v1."
FIELDS = (
    "v",
    "call_id",
    "client_id",
    "client_system",
    "grant_id",
    "resource",
    "version_no",
    "items",
    "mode",
    "keys_sha256",
    "rows",
    "at",
    "audit_seq",
    "audit_hash",
    "key_id",
)


@dataclass(frozen=True)
class Receipt:
    call_id: str
    client_id: str  # the OAuth client id of the calling system
    client_system: str  # its name
    grant_id: str
    resource: str  # resource code
    version_no: int
    items: tuple[str, ...]
    mode: str
    keys_sha256: str
    rows: int
    at: str  # ISO 8601 UTC of the audit entry
    audit_seq: int
    audit_hash: str
    key_id: str
    v: int = VERSION

    def fields(self) -> dict[str, Any]:
        """The receipt's fields, ``FIELDS`` in order (items as a list)."""
        return {
            "v": self.v,
            "call_id": self.call_id,
            "client_id": self.client_id,
            "client_system": self.client_system,
            "grant_id": self.grant_id,
            "resource": self.resource,
            "version_no": self.version_no,
            "items": list(self.items),
            "mode": self.mode,
            "keys_sha256": self.keys_sha256,
            "rows": self.rows,
            "at": self.at,
            "audit_seq": self.audit_seq,
            "audit_hash": self.audit_hash,
            "key_id": self.key_id,
        }

    def payload(self) -> bytes:
        return _canonical(self.fields())


@dataclass(frozen=True)
class SignedReceipt:
    receipt: Receipt
    signature: str
    payload: bytes | None = field(default=None, compare=False, repr=False)  # when signed here

    @property
    def compact(self) -> str:
        return _b64(self.payload or self.receipt.payload()) + "." + self.signature

    def as_json(self) -> dict[str, Any]:
        data = self.receipt.fields()
        data["signature"] = self.signature
        return data


def _canonical(data: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8 (orjson writes byte for byte what ``json.dumps(data,
    ensure_ascii=False, sort_keys=True, separators=(",", ":"))`` writes, for every code
    point; a unit test holds it to that)."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def keys_digest(keys: Iterable[str]) -> str:
    """SHA-256 over the keys asked for, newline-joined in request order."""
    return hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()


def sign(platform_keys: PlatformKeys, receipt: Receipt) -> SignedReceipt:
    payload = receipt.payload()
    return SignedReceipt(receipt, platform_keys.sign(DOMAIN + payload), payload)


def _invalid(zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(zh, en, code="receipt_invalid", field="receipt")


def _receipt_of(data: Mapping[str, Any]) -> Receipt:
    if set(data) != set(FIELDS):
        raise _invalid("凭证字段不完整或有多余字段", "the receipt's fields are incomplete or extra")
    try:
        fields = dict(data)
        fields["items"] = tuple(str(i) for i in data["items"])
        if not isinstance(data["items"], list):
            raise TypeError("items")
        receipt = Receipt(**fields)
        for name in ("version_no", "rows", "audit_seq", "v"):
            if type(getattr(receipt, name)) is not int:
                raise TypeError(name)
    except (TypeError, ValueError) as exc:
        raise _invalid("凭证格式错误", "the receipt is malformed") from exc
    return receipt


def parse(token_or_json: str | Mapping[str, Any]) -> SignedReceipt:
    """A receipt in either encoding (not yet verified)."""
    if isinstance(token_or_json, Mapping):
        data = dict(token_or_json)
        signature = data.pop("signature", None)
        if not isinstance(signature, str):
            raise _invalid("凭证缺少签名", "the receipt has no signature")
        return SignedReceipt(_receipt_of(data), signature)
    text = token_or_json.strip()
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise _invalid("凭证格式错误", "the receipt is malformed") from exc
        if not isinstance(loaded, dict):
            raise _invalid("凭证格式错误", "the receipt is malformed")
        return parse(loaded)
    payload_b64, dot, signature = text.partition(".")
    if not dot or not payload_b64 or not signature:
        raise _invalid("凭证格式错误", "the receipt is malformed")
    try:
        raw = _unb64(payload_b64)
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid("凭证格式错误", "the receipt is malformed") from exc
    if not isinstance(data, dict):
        raise _invalid("凭证格式错误", "the receipt is malformed")
    receipt = _receipt_of(data)
    if receipt.payload() != raw:  # only the canonical encoding is ever signed
        raise _invalid("凭证内容被改动", "the receipt was altered")
    return SignedReceipt(receipt, signature)


@dataclass(frozen=True)
class Verification:
    valid: bool  # the signature holds over every field
    receipt: Receipt | None
    problem: str | None = None
    audit: str | None = None  # matches | missing | archived | differs (when checked)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"valid": self.valid, "problem": self.problem}
        if self.receipt is not None:
            out["receipt"] = self.receipt.fields()
        if self.audit is not None:
            out["audit"] = self.audit
        return out


def verify(platform_keys: PlatformKeys, token_or_json: str | Mapping[str, Any]) -> Verification:
    """Check a receipt's signature with the platform key (any change to any field fails)."""
    try:
        signed = parse(token_or_json)
    except ValidationFailed as exc:
        return Verification(False, None, exc.message_en)
    r = signed.receipt
    if r.key_id != platform_keys.key_id:
        return Verification(False, r, "signed by another key")
    if not verify_signature(platform_keys.public_raw, DOMAIN + r.payload(), signed.signature):
        return Verification(False, r, "the signature does not match the receipt's content")
    return Verification(True, r)


def verify_against_audit(conn: Connection, verification: Verification) -> Verification:
    """Also look the receipt's audit entry up in the chain."""
    r = verification.receipt
    if not verification.valid or r is None:
        return verification
    row = conn.execute(
        select(audit_entry.c.object_id, audit_entry.c.hash).where(audit_entry.c.seq == r.audit_seq)
    ).first()
    if row is None:
        archived = conn.execute(
            select(audit_archive.c.id).where(
                audit_archive.c.first_seq <= r.audit_seq, audit_archive.c.upto_seq >= r.audit_seq
            )
        ).first()
        state = "archived" if archived is not None else "missing"
        return Verification(True, r, None if archived else "no such audit entry", state)
    if row.hash != r.audit_hash or row.object_id != r.call_id:
        return Verification(True, r, "the audit entry differs from the receipt", "differs")
    return Verification(True, r, None, "matches")


def check(
    conn: Connection, platform_keys: PlatformKeys, token_or_json: str | Mapping[str, Any]
) -> Verification:
    """``verify`` and then ``verify_against_audit`` (what the CLI and the API run)."""
    return verify_against_audit(conn, verify(platform_keys, token_or_json))
