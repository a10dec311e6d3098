"""The faster encodings of the data-service hot path (issue 7) give exactly what the plain
ones gave: ids, UTC timestamps, audit details JSON and keyed key references."""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from govshare.audit.keys import PlatformKeys
from govshare.audit.model import canonical_json, details_json
from govshare.delivery import masking
from govshare.kernel import ids
from govshare.kernel.clock import iso_utc

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _reference_id(value: int) -> str:
    """A ULID written five bits at a time, least significant first (the old way)."""
    out = []
    for _ in range(26):
        out.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(out))


def test_new_id_writes_the_ulid_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    for _ in range(500):
        millis, noise = rng.getrandbits(48), rng.randbytes(10)
        monkeypatch.setattr(ids.time, "time", lambda m=millis: m / 1000)
        monkeypatch.setattr(ids.os, "urandom", lambda n, b=noise: b)
        stamp = int((millis / 1000) * 1000)  # what new_id reads back from time.time()
        got = ids.new_id()
        assert got == _reference_id((stamp << 80) | int.from_bytes(noise, "big"))
    monkeypatch.undo()
    first = ids.new_id()
    time.sleep(0.002)
    assert ids.new_id()[:10] > first[:10]  # time-sortable


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 21, 7, 8, 9, 123456, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, 8, 0, 0, 5, tzinfo=timezone(timedelta(hours=8))),
        datetime(2026, 6, 30, 23, 59, 59, 999999),  # naive: taken as UTC
    ],
)
def test_iso_utc_is_the_strftime_text(moment: datetime) -> None:
    as_utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    assert iso_utc(moment) == as_utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize(
    "details",
    [
        {},
        {"grant": "01J", "items": ["name", "id_card"], "rows": 3, "keys": ["3213**"]},
        {"b": 1, "a": {"z": None, "y": [True, False, 0, -7]}, "中文": "张三 \u2028 \x1f \x7f"},
        {"quote": '"', "backslash": "\\", "nl": "a\nb", "tab": "\t", "emoji": "😀"},
        {"day": datetime(2026, 1, 2).date(), "at": datetime(2026, 1, 2, 3, tzinfo=UTC)},
        {"big": 2**70, "float": 0.1, "exact": 1.5},
    ],
)
def test_details_json_is_the_canonical_json(details: dict[str, object]) -> None:
    assert details_json(details) == canonical_json(details)


def test_key_ref_is_the_keyed_hmac() -> None:
    keys = PlatformKeys(Ed25519PrivateKey.generate())
    secret = masking._secret(keys, b"key-ref:v1")
    for value in ("321302199003071234", "91320000MA1XXXXXX", "张三", ""):
        plain = hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:32]
        assert masking.key_ref(keys, value) == plain
