"""Signed statements of the platform: the manifest of a batch export and the signature
of a delivered document (文书、证照, SZ-16.4, NX-39).

A statement is a JSON object signed, like a call receipt, with the platform's Ed25519 key
(public key at ``/.well-known/govshare/keys``). Its compact form is
``base64url(payload) "." base64url(signature)``, where ``payload`` is the canonical JSON
(sorted keys, no spaces, UTF-8) and the signature covers ``domain + payload``; the domain
(``govshare-export-manifest:v1.`` or ``govshare-document:v1.``) keeps a statement of one
kind from passing as another. Any change to the payload or the signature fails ``check``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from govshare.audit.keys import PlatformKeys, verify_signature

MANIFEST_DOMAIN = b"govshare-export-manifest:v1."
DOCUMENT_DOMAIN = b"govshare-document:v1."


def canonical(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(keys: PlatformKeys, domain: bytes, data: Mapping[str, Any]) -> str:
    """The compact signed form of ``data``."""
    payload = canonical(data)
    return _b64(payload) + "." + keys.sign(domain + payload)


def signature_of(keys: PlatformKeys, domain: bytes, data: Mapping[str, Any]) -> str:
    """The detached signature over ``data``'s canonical form (for a stored manifest)."""
    return keys.sign(domain + canonical(data))


@dataclass(frozen=True)
class Checked:
    valid: bool
    data: dict[str, Any] | None
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "problem": self.problem, "statement": self.data}


def check(keys: PlatformKeys, domain: bytes, compact: str) -> Checked:
    """Verify a compact statement; the payload must be canonical and the key the platform's."""
    payload_b64, dot, signature = compact.strip().partition(".")
    if not dot or not payload_b64 or not signature:
        return Checked(False, None, "malformed")
    try:
        raw = base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return Checked(False, None, "malformed")
    if not isinstance(data, dict) or canonical(data) != raw:
        return Checked(False, None, "malformed")
    if data.get("key_id") != keys.key_id:
        return Checked(False, data, "signed by another key")
    if not verify_signature(keys.public_raw, domain + raw, signature):
        return Checked(False, data, "the signature does not match the content")
    return Checked(True, data)


def check_detached(
    keys: PlatformKeys, domain: bytes, data: Mapping[str, Any], signature: str
) -> Checked:
    """Verify a statement given as a JSON object and its detached signature."""
    return check(keys, domain, _b64(canonical(data)) + "." + signature)
