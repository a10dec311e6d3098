"""Call receipts (调用记录凭证, SZ-16.4) on both databases: every call gets one, signed by
the platform; it names the call's audit entry; changing any field breaks it; the CLI and
the check function agree."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from govshare.cli.main import app
from govshare.config import get_settings
from govshare.delivery import receipts
from govshare.delivery.receipts import FIELDS, keys_digest
from govshare.delivery.services import lookup, verify
from tests.integration.delivery.conftest import HEADERS, P1, Delivery

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
    payload = {k: v for k, v in data.items() if k != "signature"}
    raw = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert not receipts.verify(keys, b64(raw.encode()) + "." + signed.signature).valid


@pytest.mark.req("SZ-16.4")
def test_forged_and_malformed_receipts_fail(delivery: Delivery) -> None:
    signed = issued(delivery).receipt
    keys = delivery.platform.keys
    payload, _, sig = signed.compact.partition(".")
    other = issued(delivery).receipt.signature
    for bad in (
        payload + "." + other,  # another receipt's signature
        payload + "." + sig[:-2] + ("AA" if not sig.endswith("AA") else "BB"),
        payload,
        "not a receipt",
        b64(b'{"a":1}') + "." + sig,
        b64(b"[1]") + "." + sig,
        "{}",
        {**signed.as_json(), "extra": 1},
        {k: v for k, v in signed.as_json().items() if k != "rows"},
    ):
        result = receipts.verify(keys, bad)  # type: ignore[arg-type]
        assert not result.valid and result.problem


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
