"""The one masking module (脱敏). Every sensitive value shown, logged or audited passes here.

Kinds match the data-item sensitivity kinds of the catalog. ``mask`` keeps just enough
to recognise a value (the way a bank statement shows a card number); ``fingerprint``
gives a keyed-free stable hash for correlating log lines without revealing the value.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any


class SensitivityKind(StrEnum):
    NONE = "none"
    ID_CARD = "id_card"
    NAME = "name"
    MOBILE = "mobile"
    BANK_CARD = "bank_card"
    ADDRESS = "address"
    EMAIL = "email"
    USCC = "uscc"
    SECRET = "secret"  # noqa: S105 - a kind, not a secret


def _keep(value: str, head: int, tail: int, fill: str = "*") -> str:
    if len(value) <= head + tail:
        return fill * len(value)
    return value[:head] + fill * (len(value) - head - tail) + (value[-tail:] if tail else "")


def mask(value: Any, kind: SensitivityKind | str) -> Any:
    if value is None:
        return None
    kind = SensitivityKind(kind)
    s = str(value)
    if kind is SensitivityKind.NONE:
        return value
    if kind is SensitivityKind.SECRET:
        return "******"
    if kind is SensitivityKind.ID_CARD:
        return _keep(s, 6, 4)  # 110105********1234
    if kind is SensitivityKind.NAME:
        return s[:1] + "*" * max(len(s) - 1, 1)
    if kind is SensitivityKind.MOBILE:
        return _keep(s, 3, 4)
    if kind is SensitivityKind.BANK_CARD:
        return _keep(s, 4, 4)
    if kind is SensitivityKind.ADDRESS:
        return s[:6] + "****" if len(s) > 6 else "****"
    if kind is SensitivityKind.EMAIL:
        local, _, domain = s.partition("@")
        return (local[:1] + "***@" + domain) if domain else "***"
    if kind is SensitivityKind.USCC:
        return s  # a legal person's code is public registration data
    raise ValueError(kind)


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


# Detail keys that are never recorded verbatim, whatever the caller passes.
_SECRET_KEYS = {"password", "secret", "client_secret", "token", "access_token", "password_hash"}
_KEY_KINDS: dict[str, SensitivityKind] = {
    "id_card": SensitivityKind.ID_CARD,
    "id_number": SensitivityKind.ID_CARD,
    "mobile": SensitivityKind.MOBILE,
    "phone": SensitivityKind.MOBILE,
    "contact_phone": SensitivityKind.MOBILE,
    "bank_card": SensitivityKind.BANK_CARD,
    "email": SensitivityKind.EMAIL,
    "contact_email": SensitivityKind.EMAIL,
    "address": SensitivityKind.ADDRESS,
}


def mask_details(details: dict[str, Any]) -> dict[str, Any]:
    """Mask a details mapping for audit entries and logs (recursively)."""
    out: dict[str, Any] = {}
    for key, value in details.items():
        if key in _SECRET_KEYS:
            out[key] = "******"
        elif isinstance(value, dict):
            out[key] = mask_details(value)
        elif key in _KEY_KINDS and value not in (None, ""):
            out[key] = mask(value, _KEY_KINDS[key])
        else:
            out[key] = value
    return out
