"""Call receipts (调用记录凭证, SZ-16.4): one per data-service call, signed by the platform.

A receipt states the call id, the client system, the grant, the resource and version, the
items and mode, the SHA-256 of the keys asked for (``keys_sha256``: the consumer can
recompute it from its own request; the platform keeps only a keyed reference), the number
of records returned, the time, and the audit entry (``audit_seq`` and ``audit_hash``) that
records the call in the hash chain.

Version 2 (what the platform issues): the receipts of calls answered together (the calls
of one event loop whose audit entries one flush made durable; a call alone is a batch of
one) are signed with ONE Ed25519 signature, over the root of an RFC 9162 Merkle
tree (``kernel.merkle``) of their payloads; each receipt carries its audit path. So:

- ``payload``: the canonical JSON of the fields (sorted keys, no spaces, UTF-8);
- its leaf: SHA-256(0x00 || ``b"govshare-receipt:v2."`` || payload);
- the signed message: ``b"govshare-receipt-batch:v2."`` || batch size (4 bytes, big
  endian) || the tree's root;
- ``batch``: the receipt's index in the batch, the batch size, and the audit path.

Whoever holds one receipt checks it alone: the leaf, the path up to the root, the
signature over the root (``verify``); nothing about the other calls of the batch is in
it but hashes, each over a payload with a random call id, so that none can be matched to a
guessed call. Changing any field, the path, the index, the size or the signature fails.

Encodings:

- compact (header ``X-Call-Receipt``): ``base64url(payload) "." base64url(signature) "."
  base64url(batch)``, where ``batch`` is index and size (4 bytes each, big endian) then
  the path's hashes (32 bytes each);
- JSON (response body ``receipt``): the payload's fields, ``signature``, and ``batch``:
  ``{"index": i, "size": n, "path": [hex, ...]}``.

Version 1 receipts (issued before) were signed one by one over ``b"govshare-receipt:v1."
+ payload``, with no batch; ``verify`` still checks them. The public key is at
``/.well-known/govshare/keys``. ``verify_against_audit`` also checks that the audit entry
the receipt names is in the chain with that hash and is about that call.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, select

from govshare.audit.keys import PlatformKeys, verify_signature
from govshare.audit.tables import audit_archive, audit_entry
from govshare.kernel import merkle
from govshare.kernel.errors import ValidationFailed

VERSION = 2
DOMAIN_V1 = b"govshare-receipt:v1."  # version 1: the signature is over this + payload
LEAF_DOMAIN = b"govshare-receipt:v2."  # version 2: the leaf is over this + payload
BATCH_DOMAIN = b"govshare-receipt-batch:v2."  # version 2: the signature is over the root
BATCH_MAX = 64  # receipts under one signature (an audit path of at most 6 hashes)
_INDEX_SIZE = struct.Struct(">II")
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


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
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


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class Batch:
    """Where a version 2 receipt sits in the batch its signature covers."""

    index: int
    size: int
    path: tuple[bytes, ...]  # the audit path, leaf upwards

    def encode(self) -> bytes:
        return _INDEX_SIZE.pack(self.index, self.size) + b"".join(self.path)

    @classmethod
    def decode(cls, raw: bytes) -> Batch:
        head, hashes = raw[: _INDEX_SIZE.size], raw[_INDEX_SIZE.size :]
        if len(head) != _INDEX_SIZE.size or len(hashes) % merkle.HASH_SIZE:
            raise ValueError("batch")
        index, size = _INDEX_SIZE.unpack(head)
        step = merkle.HASH_SIZE
        return cls(index, size, tuple(hashes[i : i + step] for i in range(0, len(hashes), step)))

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "size": self.size, "path": [p.hex() for p in self.path]}

    @classmethod
    def from_json(cls, data: Any) -> Batch:
        if not isinstance(data, Mapping) or set(data) != {"index", "size", "path"}:
            raise ValueError("batch")
        index, size, path = data["index"], data["size"], data["path"]
        if type(index) is not int or type(size) is not int or not isinstance(path, list):
            raise ValueError("batch")
        if not all(isinstance(p, str) and len(p) == 2 * merkle.HASH_SIZE for p in path):
            raise ValueError("batch")
        return cls(index, size, tuple(bytes.fromhex(p) for p in path))


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class SignedReceipt:
    receipt: Receipt
    signature: str
    batch: Batch | None = None  # version 2 (None: a version 1 receipt)
    payload: bytes | None = field(default=None, compare=False, repr=False)  # when signed here

    @property
    def compact(self) -> str:
        out = _b64(self.payload or self.receipt.payload()) + "." + self.signature
        return out if self.batch is None else out + "." + _b64(self.batch.encode())

    def as_json(self) -> dict[str, Any]:
        data = self.receipt.fields()
        data["signature"] = self.signature
        if self.batch is not None:
            data["batch"] = self.batch.as_json()
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


def _leaf(payload: bytes) -> bytes:
    return merkle.leaf_hash(LEAF_DOMAIN + payload)


def _batch_message(size: int, root: bytes) -> bytes:
    return BATCH_DOMAIN + size.to_bytes(4, "big") + root


def sign_batch(platform_keys: PlatformKeys, receipts: Sequence[Receipt]) -> list[SignedReceipt]:
    """Sign ``receipts`` (version 2), at most ``BATCH_MAX`` under one signature: one
    signed receipt each, in order."""
    out: list[SignedReceipt] = []
    for start in range(0, len(receipts), BATCH_MAX):
        chunk = receipts[start : start + BATCH_MAX]
        payloads = [r.payload() for r in chunk]
        size = len(chunk)
        root, paths = merkle.tree([_leaf(p) for p in payloads])
        signature = platform_keys.sign(_batch_message(size, root))
        out += [
            SignedReceipt(r, signature, Batch(i, size, tuple(path)), payload)
            for i, (r, payload, path) in enumerate(zip(chunk, payloads, paths, strict=True))
        ]
    return out


def sign(platform_keys: PlatformKeys, receipt: Receipt) -> SignedReceipt:
    """Sign one receipt (a batch of one)."""
    return sign_batch(platform_keys, [receipt])[0]


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
        batch = None
        if "batch" in data:
            try:
                batch = Batch.from_json(data.pop("batch"))
            except ValueError as exc:
                raise _invalid("凭证格式错误", "the receipt is malformed") from exc
        return _versioned(SignedReceipt(_receipt_of(data), signature, batch))
    text = token_or_json.strip()
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise _invalid("凭证格式错误", "the receipt is malformed") from exc
        if not isinstance(loaded, dict):
            raise _invalid("凭证格式错误", "the receipt is malformed")
        return parse(loaded)
    parts = text.split(".")
    if len(parts) not in (2, 3) or not all(parts):
        raise _invalid("凭证格式错误", "the receipt is malformed")
    payload_b64, signature = parts[0], parts[1]
    try:
        raw = _unb64(payload_b64)
        data = json.loads(raw.decode("utf-8"))
        batch = Batch.decode(_unb64(parts[2])) if len(parts) == 3 else None
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid("凭证格式错误", "the receipt is malformed") from exc
    if not isinstance(data, dict):
        raise _invalid("凭证格式错误", "the receipt is malformed")
    receipt = _receipt_of(data)
    if receipt.payload() != raw:  # only the canonical encoding is ever signed
        raise _invalid("凭证内容被改动", "the receipt was altered")
    return _versioned(SignedReceipt(receipt, signature, batch))


def _versioned(signed: SignedReceipt) -> SignedReceipt:
    """A version 2 receipt has its batch, a version 1 receipt none."""
    if (signed.receipt.v >= 2) != (signed.batch is not None):
        raise _invalid("凭证格式错误", "the receipt is malformed")
    return signed


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
    if r.v not in (1, VERSION):
        return Verification(False, r, f"receipt version {r.v} is unknown")
    if signed.batch is None:
        message = DOMAIN_V1 + r.payload()
    else:
        b = signed.batch
        root = merkle.root_from_path(b.index, b.size, _leaf(r.payload()), b.path)
        if root is None or b.size > BATCH_MAX:
            return Verification(False, r, "the receipt's batch path does not hold")
        message = _batch_message(b.size, root)
    if not verify_signature(platform_keys.public_raw, message, signed.signature):
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
