"""Call receipts (调用记录凭证, SZ-16.4) on both databases: every call gets one, signed by
the platform; it names the call's audit entry; changing any field breaks it; the CLI and
the check function agree. The receipts of calls answered in one turn of an event loop
share one signature over a Merkle root, and each still verifies alone; version 1
receipts, signed one by one, still verify."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from typer.testing import CliRunner

from govshare.cli.main import app
from govshare.config import get_settings
from govshare.delivery import receipts
from govshare.delivery.guard import guard_for
from govshare.delivery.receipts import DOMAIN_V1, FIELDS, Batch, SignedReceipt, _unb64, keys_digest
from govshare.delivery.services import lookup, verify
from tests.integration.delivery.conftest import HEADERS, P1, Delivery, look

runner = CliRunner()


def issued(d: Delivery) -> lookup.LookupResult:
    return lookup.lookup(d.platform, d.grant_id, key=P1, items=None, call=HEADERS, actor=d.client)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tampered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, list):
        return [*value, "income"]
    return str(value)[:-1] + ("0" if not str(value).endswith("0") else "1")


@pytest.mark.req("SZ-16.4", "SZ-11")
def test_every_call_gets_a_receipt_that_names_its_audit_entry(delivery: Delivery) -> None:
    result = issued(delivery)
    r = result.receipt.receipt
    assert result.headers["X-Call-Receipt"] == result.receipt.compact
    assert (r.call_id, r.grant_id, r.mode, r.rows) == (
        result.call_id,
        delivery.grant_id,
        "query",
        1,
    )
    assert r.client_id == delivery.client.id and r.client_system == "人社业务系统"
    assert r.keys_sha256 == keys_digest([P1]) and P1 not in result.receipt.compact
    assert r.key_id == delivery.platform.keys.key_id
    with delivery.platform.db.read() as conn:
        checked = receipts.check(conn, delivery.platform.keys, result.receipt.compact)
        by_json = receipts.check(conn, delivery.platform.keys, result.receipt.as_json())
    assert checked.valid and checked.audit == "matches" and checked.receipt == r
    assert by_json.valid and by_json.audit == "matches"
    v = verify.verify(
        delivery.platform,
        delivery.grant_id,
        key=P1,
        claims={"name": "欧阳娜娜"},
        call=HEADERS,
        actor=delivery.client,
    )
    assert v.receipt.receipt.mode == "verify" and v.receipt.receipt.audit_seq > r.audit_seq


@pytest.mark.req("SZ-16.4")
@pytest.mark.parametrize("field", [f for f in FIELDS if f != "v"])
def test_changing_any_field_fails_verification(delivery: Delivery, field: str) -> None:
    signed = issued(delivery).receipt
    keys = delivery.platform.keys
    data = signed.as_json()
    data[field] = tampered(data[field])
    assert not receipts.verify(keys, data).valid
    # the same change in the compact form, re-encoded canonically
    payload = {k: v for k, v in data.items() if k not in ("signature", "batch")}
    raw = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    batch = signed.compact.split(".")[2]
    assert receipts.verify(keys, signed.compact).valid
    assert not receipts.verify(keys, f"{b64(raw.encode())}.{signed.signature}.{batch}").valid


@pytest.mark.req("SZ-16.4")
def test_forged_and_malformed_receipts_fail(delivery: Delivery) -> None:
    signed = issued(delivery).receipt
    keys = delivery.platform.keys
    payload, sig, batch = signed.compact.split(".")
    other = issued(delivery).receipt.signature
    for bad in (
        f"{payload}.{other}.{batch}",  # another receipt's signature
        f"{payload}.{sig[:-2]}{'AA' if not sig.endswith('AA') else 'BB'}.{batch}",
        f"{payload}.{sig}",  # a version 2 receipt without its batch
        f"{payload}.{sig}.{batch}.{batch}",
        f"{payload}.{sig}.{batch[:-3]}",
        payload,
        "not a receipt",
        b64(b'{"a":1}') + "." + sig,
        b64(b"[1]") + "." + sig,
        "{}",
        {**signed.as_json(), "extra": 1},
        {k: v for k, v in signed.as_json().items() if k != "rows"},
        {k: v for k, v in signed.as_json().items() if k != "batch"},
        {**signed.as_json(), "batch": {"index": 0, "size": 1}},
        {**signed.as_json(), "batch": {"index": 0, "size": 1, "path": ["zz"]}},
    ):
        result = receipts.verify(keys, bad)  # type: ignore[arg-type]
        assert not result.valid and result.problem


def answered_together(d: Delivery, n: int) -> list[lookup.LookupResult]:
    """``n`` lookups on one event loop at once (the HTTP path)."""

    async def run() -> list[lookup.LookupResult]:
        return await asyncio.gather(*(look(d) for _ in range(n)))

    return asyncio.run(run())


def signed_together(d: Delivery, n: int) -> list[SignedReceipt]:
    """The receipts of ``n`` calls whose entries are durable, signed together (as when one
    flush settles them on the event loop, ``Guard._durable``)."""
    guard = guard_for(d.platform)
    call = lookup.LookupCall(d.grant_id, P1, None, HEADERS, d.client)
    started = lookup._start_many(d.platform, [call] * n)
    pairs = []
    for outcome in started:
        assert not isinstance(outcome, BaseException)
        done = outcome[1]
        entry, _ = done.result()
        pairs.append((done, entry))
    return guard.sign_together(pairs)


@pytest.mark.req("SZ-16.4")
def test_receipts_of_one_flush_share_one_signature_and_each_verifies_alone(
    delivery: Delivery,
) -> None:
    signed = signed_together(delivery, 5)
    keys = delivery.platform.keys
    assert len({s.signature for s in signed}) == 1  # one signature for the five
    assert [(s.batch.index, s.batch.size) for s in signed if s.batch] == [(i, 5) for i in range(5)]
    assert len({s.receipt.call_id for s in signed}) == 5
    with delivery.platform.db.read() as conn:
        for s in signed:
            for form in (s.compact, s.as_json()):
                checked = receipts.check(conn, keys, form)
                assert checked.valid and checked.audit == "matches", checked.problem
                assert checked.receipt == s.receipt
    first, second = signed[0], signed[1]
    assert first.batch is not None and second.batch is not None
    for batch in (
        dataclasses.replace(first.batch, index=1),  # another place in the batch
        dataclasses.replace(first.batch, size=4),
        dataclasses.replace(first.batch, size=6),
        dataclasses.replace(first.batch, path=first.batch.path[:-1]),
        dataclasses.replace(first.batch, path=(b"\0" * 32, *first.batch.path[1:])),
        second.batch,  # another receipt's path
    ):
        moved = SignedReceipt(first.receipt, first.signature, batch)
        for form in (moved.compact, moved.as_json()):
            assert not receipts.verify(keys, form).valid
    # one receipt's fields under another's place in the batch
    swapped = SignedReceipt(second.receipt, first.signature, first.batch)
    assert not receipts.verify(keys, swapped.compact).valid


@pytest.mark.req("SZ-16.4")
def test_calls_answered_at_once_over_the_loop_get_receipts_that_verify(
    delivery: Delivery,
) -> None:
    results = answered_together(delivery, 6)
    by_signature: dict[str, list[Batch]] = {}
    with delivery.platform.db.read() as conn:
        for r in results:
            s = r.receipt
            assert r.headers["X-Call-Receipt"] == s.compact and s.batch is not None
            by_signature.setdefault(s.signature, []).append(s.batch)
            checked = receipts.check(conn, delivery.platform.keys, s.compact)
            assert checked.valid and checked.audit == "matches", checked.problem
            assert checked.receipt is not None and checked.receipt.call_id == r.call_id
    # however the flushes fell, each signature covers a whole batch, each place once
    for batches in by_signature.values():
        assert sorted(b.index for b in batches) == list(range(batches[0].size))


@pytest.mark.req("SZ-16.4")
def test_version_1_receipts_signed_one_by_one_still_verify(delivery: Delivery) -> None:
    keys = delivery.platform.keys
    old = dataclasses.replace(issued(delivery).receipt.receipt, v=1)
    v1 = SignedReceipt(old, keys.sign(DOMAIN_V1 + old.payload()))
    assert v1.compact.count(".") == 1 and "batch" not in v1.as_json()
    with delivery.platform.db.read() as conn:
        for form in (v1.compact, v1.as_json()):
            checked = receipts.check(conn, keys, form)
            assert checked.valid and checked.audit == "matches", checked.problem
    changed = dataclasses.replace(old, rows=old.rows + 1)
    assert not receipts.verify(keys, SignedReceipt(changed, v1.signature).compact).valid
    # a version 1 receipt given a batch is not one the platform issued
    assert not receipts.verify(keys, {**v1.as_json(), "batch": Batch(0, 1, ()).as_json()}).valid


def documented_check() -> str:
    """The offline check docs/delivery.md gives a consumer (its Python block in section 6)."""
    text = (Path(__file__).resolve().parents[3] / "docs" / "delivery.md").read_text("utf-8")
    section = text[text.index("## 6. Receipts") :]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.req("SZ-16.4")
def test_the_documented_offline_check_verifies_real_receipts(delivery: Delivery) -> None:
    code = documented_check()
    public_key = Ed25519PublicKey.from_public_bytes(delivery.platform.keys.public_raw)
    signed = [*signed_together(delivery, 3), issued(delivery).receipt]

    def run(receipt: str) -> dict[str, Any]:
        scope: dict[str, Any] = {"receipt": receipt, "public_key": public_key, "unb64": _unb64}
        exec(compile(code, "docs/delivery.md", "exec"), scope)
        return dict(scope["fields"])

    for s in signed:
        assert run(s.compact)["call_id"] == s.receipt.call_id
    payload, sig, batch = signed[1].compact.split(".")
    forged = [
        f"{signed[0].compact.split('.')[0]}.{sig}.{batch}",  # another call's fields
        f"{payload}.{sig}.{signed[2].compact.split('.')[2]}",  # another call's path
    ]
    for bad in forged:
        with pytest.raises((InvalidSignature, AssertionError)):
            run(bad)


@pytest.fixture
def cli(delivery: Delivery, monkeypatch: pytest.MonkeyPatch) -> Iterator[Delivery]:
    settings = delivery.platform.settings
    monkeypatch.setenv("GOVSHARE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GOVSHARE_VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    yield delivery
    get_settings.cache_clear()


@pytest.mark.req("SZ-16.4")
def test_receipt_verify_command(cli: Delivery) -> None:
    signed = issued(cli).receipt
    ok = runner.invoke(app, ["receipt", "verify", signed.compact])
    assert ok.exit_code == 0, ok.output
    assert "receipt valid" in ok.stdout and signed.receipt.call_id in ok.stdout
    assert "matches" in ok.stdout
    as_json = runner.invoke(app, ["receipt", "verify", "-"], input=json.dumps(signed.as_json()))
    assert as_json.exit_code == 0, as_json.output
    data = signed.as_json()
    data["rows"] = 1000
    bad = runner.invoke(app, ["receipt", "verify", json.dumps(data)])
    assert bad.exit_code == 1 and "INVALID" in bad.output
