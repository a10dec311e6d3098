"""Batch exports (批量交换) on both databases: every format round-trips with the grant's
masking (no raw value of a masked item in any file), the signed manifest verifies and any
tampering fails, the expiring link, the clean-up, the audit trail, and the refusals."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from govshare.audit.tables import audit_entry
from govshare.delivery import export, receipts
from govshare.delivery.export import ExportJob, JobState
from govshare.delivery.masking import compile_plan
from govshare.delivery.model import GrantedItem, MaskLevel
from govshare.kernel.clock import set_clock, utcnow
from govshare.kernel.errors import DomainError
from tests.integration.catalog.conftest import City
from tests.integration.delivery.conftest import HEADERS, ROWS, Delivery
from tests.integration.delivery.files_support import (
    LEVELS,
    SECRETS,
    exported,
    files_delivery,
    inline,
)

SENSITIVITY = {
    "name": "name",
    "id_card": "id_card",
    "birth_date": "none",
    "mobile": "mobile",
    "address": "address",
    "email": "email",
}


@pytest.fixture
def d(demo_platform: Any) -> Delivery:
    return files_delivery(City(demo_platform))


def expected_rows() -> list[dict[str, Any]]:
    """The seeded rows as the grant's plan masks them (computed independently of the job)."""
    plan = compile_plan(
        [GrantedItem(c, MaskLevel(level), SENSITIVITY[c]) for c, level in LEVELS.items()]
    )
    return [plan.apply(r) for r in ROWS]


def run(d: Delivery, fmt: str, encoding: str | None = None) -> ExportJob:
    job = exported(d, fmt, encoding)
    assert job.state is JobState.DONE, (job.error_code, job.error)
    return job


def path_of(d: Delivery, job: ExportJob) -> Path:
    assert job.filename
    return d.platform.settings.exports_dir / job.filename


def read_back(path: Path, fmt: str, encoding: str = "utf-8") -> list[dict[str, Any]]:
    if fmt == "csv":
        text = path.read_bytes().decode({"utf-8-bom": "utf-8-sig"}.get(encoding, encoding))
        return [
            {k: (v if v != "" else None) for k, v in r.items()}
            for r in csv.DictReader(io.StringIO(text))
        ]
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    if fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        rows = list(wb["data"].iter_rows(values_only=True))
        width = len(rows[0])  # read-only mode drops trailing empty cells
        return [dict(zip(rows[0], r + (None,) * (width - len(r)), strict=True)) for r in rows[1:]]
    import pyarrow.parquet as pq

    return list(pq.read_table(path).to_pylist())


def all_text(path: Path, fmt: str) -> str:
    """Everything a reader of the file can see, as text (cells of the workbook, values of
    the Parquet columns, the bytes of the text formats)."""
    if fmt in ("csv", "jsonl"):
        return path.read_bytes().decode("utf-8-sig", errors="replace")
    return json.dumps(read_back(path, fmt), ensure_ascii=False, default=str)


@pytest.mark.req("SQ-18", "SQ-26", "HB-24")
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl", "parquet"])
def test_every_format_round_trips_masked(d: Delivery, fmt: str) -> None:
    job = run(d, fmt)
    path = path_of(d, job)
    got = read_back(path, fmt)
    assert got == expected_rows()
    assert job.rows == len(ROWS) and job.size == path.stat().st_size
    # no raw value of a masked or suppressed item appears anywhere in the file
    text = all_text(path, fmt)
    for secret in SECRETS:
        assert secret not in text, (fmt, secret)
    assert "1990-03-07" in text  # the item granted raw leaves raw
    # only granted items: the ungranted income never appears
    assert "income" not in text and "8000.50" not in text


@pytest.mark.req("SQ-18")
def test_csv_encodings(d: Delivery) -> None:
    bom = path_of(d, run(d, "csv", "utf-8-bom")).read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf")
    gbk = path_of(d, run(d, "csv", "gbk")).read_bytes()
    assert "张*".encode("gbk") in gbk and not gbk.startswith(b"\xef\xbb\xbf")
    assert read_back(path_of(d, run(d, "csv", "gbk")), "csv", "gbk") == expected_rows()
    with pytest.raises(DomainError) as bad:
        run(d, "xlsx", "gbk")
    assert bad.value.code == "export_encoding_invalid"
    with pytest.raises(DomainError) as bad:
        run(d, "pdf")
    assert bad.value.code == "export_format_invalid"


@pytest.mark.req("SZ-16.4")
def test_manifest_signature_verifies_and_tampering_fails(d: Delivery) -> None:
    job = run(d, "jsonl")
    assert job.manifest is not None and job.manifest_signature
    m, sig = job.manifest, job.manifest_signature
    file_sha = export._digest(path_of(d, job))[0]
    assert m["sha256"] == file_sha and m["rows"] == 2 and m["grant_id"] == d.grant_id
    assert [i["masking"] for i in m["items"]] == list(LEVELS.values())
    assert export.check_manifest(d.platform, m, sig, file_sha).valid
    for field, value in (("rows", 3), ("sha256", "0" * 64), ("grant_id", "X"), ("format", "csv")):
        assert not export.check_manifest(d.platform, {**m, field: value}, sig).valid, field
    flipped = sig[:10] + ("B" if sig[10] != "B" else "C") + sig[11:]
    assert not export.check_manifest(d.platform, m, flipped).valid
    # a file that is not the one the manifest names
    assert not export.check_manifest(d.platform, m, sig, "f" * 64).valid
    # the production call's receipt holds the rows and names its audit entry
    assert job.receipt
    with d.platform.db.read() as conn:
        checked = receipts.check(conn, d.platform.keys, job.receipt)
    assert checked.valid and checked.audit == "matches"
    assert checked.receipt is not None and checked.receipt.rows == 2
    assert checked.receipt.mode == "batch" and checked.receipt.audit_seq == m["audit_seq"]


@pytest.mark.req("SQ-24", "SQ-25", "SZ-16.4")
def test_download_link_expires_and_the_file_is_destroyed(d: Delivery) -> None:
    job = run(d, "csv")
    token = export.link_token(d.platform.settings, job)
    got = export.download(d.platform, job.id, token=token, call=HEADERS, actor=d.client)
    assert got.path.read_bytes().startswith(b"name,id_card")
    with d.platform.db.read() as conn:
        assert receipts.check(conn, d.platform.keys, got.headers["X-Call-Receipt"]).valid
    # a forged or altered token
    for bad in (None, "x", token + "0", token.replace(job.id, "0" * 26)):  # type: ignore[operator]
        with pytest.raises(DomainError) as refused:
            export.download(d.platform, job.id, token=bad, call=HEADERS, actor=d.client)
        assert refused.value.code == "export_link_invalid"
    later = utcnow() + timedelta(seconds=d.platform.settings.export_link_ttl + 1)
    set_clock(lambda: later)
    try:
        with pytest.raises(DomainError) as expired:
            export.download(d.platform, job.id, token=token, call=HEADERS, actor=d.client)
        assert expired.value.code == "export_link_expired" and expired.value.status == 410
        assert export.clean_expired(d.platform) == [job.id]
        assert export.clean_expired(d.platform) == []  # once
    finally:
        set_clock(None)
    assert not got.path.exists()
    assert export.job_for(d.platform, job.id, actor=d.client).state is JobState.EXPIRED
    with d.platform.db.read() as conn:
        actions = [
            (r.action, r.object_type)
            for r in conn.execute(select(audit_entry).order_by(audit_entry.c.seq)).all()
            if r.object_id in (job.id, job.call_id) or job.id in r.details
        ]
        refusals = conn.execute(
            select(audit_entry.c.details).where(audit_entry.c.action == "access_denied")
        ).all()
    # SQ-25: the request (export), the copy it made, its transmission, its destruction
    assert [a for a, _ in actions] == ["export", "copy", "transmit", "destroy"]
    codes = [json.loads(r.details)["code"] for r in refusals]
    assert codes.count("export_link_invalid") == 4 and "export_link_expired" in codes


@pytest.mark.req("HB-24", "YX-25")
def test_export_refusals(d: Delivery, city_grant: tuple[Delivery, str]) -> None:
    # a grant without the batch mode (query and verify only)
    _, query_grant = city_grant
    with pytest.raises(DomainError) as no_batch:
        export.request_export(
            d.platform,
            query_grant,
            fmt="csv",
            encoding=None,
            items=None,
            call=HEADERS,
            actor=d.client,
            enqueue=inline(d.platform),
        )
    assert no_batch.value.code == "mode_not_granted"
    # another department's system: neither the grant nor the job
    with pytest.raises(DomainError) as not_yours:
        export.request_export(
            d.platform,
            d.grant_id,
            fmt="csv",
            encoding=None,
            items=None,
            call=HEADERS,
            actor=d.other_client,
            enqueue=inline(d.platform),
        )
    assert not_yours.value.code == "grant_not_yours"
    job = run(d, "csv")
    token = export.link_token(d.platform.settings, job)
    for call in (
        lambda: export.job_for(d.platform, job.id, actor=d.other_client),
        lambda: export.download(
            d.platform, job.id, token=token, call=HEADERS, actor=d.other_client
        ),
    ):
        with pytest.raises(DomainError) as hidden:
            call()
        assert hidden.value.code == "export_not_found"
    # an item the grant lacks
    with pytest.raises(DomainError) as item:
        export.request_export(
            d.platform,
            d.grant_id,
            fmt="csv",
            encoding=None,
            items=("income",),
            call=HEADERS,
            actor=d.client,
            enqueue=inline(d.platform),
        )
    assert item.value.code == "item_not_granted"


@pytest.fixture
def city_grant(d: Delivery) -> tuple[Delivery, str]:
    from tests.integration.delivery.conftest import grant

    return d, grant(d.city, d.resource_id)  # query + verify


@pytest.mark.req("NX-41")
def test_revocation_bites_between_request_and_run_and_download(d: Delivery) -> None:
    queued: list[str] = []
    done = export.request_export(
        d.platform,
        d.grant_id,
        fmt="csv",
        encoding=None,
        items=None,
        call=HEADERS,
        actor=d.client,
        enqueue=queued.append,
    )
    assert queued == [done.job.id] and done.job.state is JobState.QUEUED
    d.set_grant(status="suspended")
    job = export.run_export(d.platform, done.job.id)
    assert job.state is JobState.FAILED and job.error_code == "grant_suspended"
    assert not list(d.platform.settings.exports_dir.glob(f"{job.id}*"))
    assert export.run_export(d.platform, done.job.id).state is JobState.FAILED  # idempotent
    d.set_grant(status="active")
    ready = run(d, "csv")
    d.set_grant(status="revoked")
    with pytest.raises(DomainError) as revoked:
        export.download(
            d.platform,
            ready.id,
            token=export.link_token(d.platform.settings, ready),
            call=HEADERS,
            actor=d.client,
        )
    assert revoked.value.code == "grant_revoked"


def test_gbk_refuses_characters_it_cannot_encode(demo_platform: Any) -> None:
    rows = [dict(ROWS[1], name="𠀀三")]  # outside GBK; masked keeps the first character
    d = files_delivery(City(demo_platform), rows)
    done = export.request_export(
        d.platform,
        d.grant_id,
        fmt="csv",
        encoding="gbk",
        items=None,
        call=HEADERS,
        actor=d.client,
        enqueue=inline(d.platform),
    )
    job = export.job_for(d.platform, done.job.id, actor=d.client)
    assert job.state is JobState.FAILED and job.error_code == "export_not_gbk"
    assert "name" in (job.error or "") and not list(d.platform.settings.exports_dir.glob("*.csv"))
    assert (
        export.job_for(d.platform, run(d, "csv", "utf-8").id, actor=d.client).state is JobState.DONE
    )
