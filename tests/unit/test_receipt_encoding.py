"""A receipt's canonical payload is written by orjson; it must be, byte for byte, the JSON
the receipt format specifies (sorted keys, no spaces, UTF-8, ``json.dumps(...,
ensure_ascii=False, sort_keys=True, separators=(",", ":"))``), so that receipts signed
before and after the change, and checkers written against the format, all agree."""

from __future__ import annotations

import json

from govshare.delivery.receipts import Receipt, _canonical


def _spec(data: dict[str, object]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def test_canonical_payload_matches_the_format_for_every_kind_of_character() -> None:
    points = [*range(0x300), 0x2028, 0x2029, 0xFEFF, 0xFFFF, *range(0x300, 0x110000, 97)]
    for cp in points:
        if 0xD800 <= cp < 0xE000:
            continue  # lone surrogates cannot be encoded as UTF-8 at all
        value = f'a{chr(cp)}"\\b'
        data = {"client_system": value, "items": [value, "x"], "rows": 3, "v": 1}
        assert _canonical(data) == _spec(data), hex(cp)


def test_receipt_payload_is_the_sorted_fields() -> None:
    r = Receipt(
        call_id="c",
        client_id="cs_1",
        client_system="人社业务系统\n\t",
        grant_id="g",
        resource="R-1",
        version_no=2,
        items=("name", "mobile"),
        mode="query",
        keys_sha256="0" * 64,
        rows=1,
        at="2026-11-21T02:00:00.000000Z",
        audit_seq=9_007_199_254_740_993,
        audit_hash="f" * 64,
        key_id="k1",
    )
    assert r.payload() == _spec(r.fields())
    assert list(r.fields()) == [
        "v", "call_id", "client_id", "client_system", "grant_id", "resource", "version_no",
        "items", "mode", "keys_sha256", "rows", "at", "audit_seq", "audit_hash", "key_id",
    ]  # fmt: skip
