"""Masking for every delivery path and every UI preview (脱敏).

The rules per sensitivity kind live in ONE place, ``govshare.kernel.masking.mask`` (the
kernel also masks audit details and logs, and must not depend on this package); this
module is the API the data services, exports, feeds and page previews use:

- ``MaskLevel`` per granted item: ``masked`` (the kind's rule), ``raw`` (only when the
  grant says so), ``pseudonym`` (HMAC-SHA256 keyed per consumer department with a secret
  derived from the platform key: stable, so that a consumer can link records, and not
  reversible), ``suppressed`` (null).
- ``compile_plan(items, pseudonym_key=...)`` turns a grant's items into a ``MaskPlan``: one
  precompiled callable per item, so a call masks a row with a dict comprehension.
  ``plan.apply(row)`` returns only the planned items: an item that is not planned never
  leaves (least-necessary fields, NX-12).
- ``preview(value, kind)`` is what a page shows of a sensitive value.
- ``pseudonym_key(keys, consumer_department_id)`` and ``key_ref(keys, value)``: the keyed
  digests used for pseudonyms and for naming a looked-up key in the audit log without
  revealing it (an unkeyed hash of an ID number is brute-forced in seconds).

A value that is not JSON-native (date, datetime, Decimal) leaves as ISO text / a decimal
string, so that masked and raw outputs have one shape.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from govshare.audit.keys import PlatformKeys
from govshare.delivery.model import GrantedItem, MaskLevel
from govshare.kernel.masking import SensitivityKind, mask, rule_for

Masker = Callable[[Any], Any]
PSEUDONYM_HEX = 24  # 96 bits: collisions are negligible at any realistic pool size


def plain(value: Any) -> Any:
    """A pool value as JSON: dates as ISO text, decimals as exact strings."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


@lru_cache(maxsize=64)
def _secret(keys: PlatformKeys, label: bytes) -> bytes:
    """A 256-bit secret for ``label``, derived from the platform's private key (so that it
    survives restarts and needs no extra setting, and rotates with the key)."""
    from cryptography.hazmat.primitives import serialization

    raw = keys.private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return hmac.new(raw, b"govshare:" + label, hashlib.sha256).digest()


@lru_cache(maxsize=4096)
def pseudonym_key(keys: PlatformKeys, consumer_department_id: str) -> bytes:
    """The HMAC key of one consumer department's pseudonyms: two consumers cannot join
    their pseudonyms, one consumer's pseudonyms stay stable across calls and exports."""
    return hmac.new(
        _secret(keys, b"pseudonym:v1"), consumer_department_id.encode(), hashlib.sha256
    ).digest()


def pseudonymise(key: bytes, value: Any) -> str | None:
    if value is None:
        return None
    text = str(plain(value))
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def key_ref(keys: PlatformKeys, value: str) -> str:
    """A keyed reference to a looked-up key for audit entries and statistics."""
    return hmac.new(
        _secret(keys, b"key-ref:v1"), value.encode("utf-8"), hashlib.sha256
    ).hexdigest()[:32]


def preview(value: Any, kind: SensitivityKind | str) -> Any:
    """What a page shows of a value: the masked form (pages never show raw values)."""
    return plain(mask(value, kind))


def masker(kind: SensitivityKind | str, level: MaskLevel, *, pseudonym: bytes | None) -> Masker:
    """The callable that turns a pool value into what leaves the platform."""
    kind = SensitivityKind(kind)
    if level is MaskLevel.SUPPRESSED:
        return lambda _value: None
    if level is MaskLevel.RAW:
        return plain
    if level is MaskLevel.PSEUDONYM:
        if pseudonym is None:
            raise ValueError("a pseudonym level needs the consumer's pseudonym key")
        key = pseudonym
        return lambda value: pseudonymise(key, value)
    if kind is SensitivityKind.NONE or kind is SensitivityKind.USCC:
        return plain

    rule = rule_for(kind)

    def masked(value: Any) -> Any:
        return None if value is None else rule(plain(value))

    return masked


@dataclass(frozen=True)
class MaskPlan:
    """One precompiled masker per granted item, in the grant's order."""

    steps: tuple[tuple[str, Masker], ...]
    levels: Mapping[str, MaskLevel]

    def apply(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The planned items of ``row``, masked (items not in the plan never appear)."""
        return {code: fn(row.get(code)) for code, fn in self.steps}

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.steps)


def compile_plan(items: Iterable[GrantedItem], *, pseudonym_key: bytes | None = None) -> MaskPlan:
    steps: list[tuple[str, Masker]] = []
    levels: dict[str, MaskLevel] = {}
    for item in items:
        steps.append((item.code, masker(item.sensitivity, item.level, pseudonym=pseudonym_key)))
        levels[item.code] = item.level
    return MaskPlan(tuple(steps), levels)


def level_of(text: str | None) -> MaskLevel:
    """A grant item's level; anything unknown fails closed (suppressed)."""
    try:
        return MaskLevel(text or MaskLevel.MASKED.value)
    except ValueError:
        return MaskLevel.SUPPRESSED
