"""Documents and e-licences (文书、证照类) on both databases: the provider stores a document
against a record key (audited STORE), a consumer system with the file mode fetches it with
its SHA-256 and the platform's signature (which verifies, and fails once anything is
changed), receipted and audited; the refusals; the demo's licence PDFs."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from govshare.aggregation import ingest
from govshare.audit.tables import audit_entry
from govshare.catalog.model import DataItemInput, DeliveryMode, IdentifierKind, ItemType
from govshare.delivery import documents, receipts
from govshare.demo.documents import minimal_pdf, seed_demo_documents
from govshare.demo.seed import demo_uscc
from govshare.kernel.errors import DomainError
from tests.integration.aggregation.conftest import publish as publish_resource
from tests.integration.catalog.conftest import City
from tests.integration.delivery.conftest import (
    HEADERS,
    P1,
    P2,
    Delivery,
    grant,
    population_resource,
)
from tests.integration.delivery.files_support import files_delivery

PDF = minimal_pdf(["Residence certificate", "Demo"])


@pytest.fixture
def d(demo_platform: Any) -> Delivery:
    return files_delivery(City(demo_platform))


def store(d: Delivery, key: str = P1, data: bytes = PDF, user: str = "ga_catalog") -> Any:
    return documents.store_document(
        d.platform,
        d.resource_id,
        key=key,
        filename="证明.pdf",
        data=data,
        actor=d.city.actor(user),
    )


def fetch(d: Delivery, key: str = P1, **kw: Any) -> documents.DeliveredDocument:
    return documents.fetch_document(
        d.platform,
        d.grant_id,
        key=key,
        document_id=kw.pop("document_id", None),
        call=HEADERS,
        actor=kw.pop("actor", d.client),
    )


def test_minimal_pdf_is_well_formed() -> None:
    assert PDF.startswith(b"%PDF-1.4") and PDF.rstrip().endswith(b"%%EOF")
    start = int(re.findall(rb"startxref\n(\d+)", PDF)[-1])
    assert PDF[start:].startswith(b"xref\n0 6\n")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n ", PDF)]
    assert len(offsets) == 5
    for n, off in enumerate(offsets, start=1):  # every entry points at its object
        assert PDF[off:].startswith(f"{n} 0 obj".encode())
    length = int(re.search(rb"/Length (\d+)", PDF).group(1))  # type: ignore[union-attr]
    stream = PDF.split(b"stream\n", 1)[1].split(b"\nendstream", 1)[0]
    assert len(stream) == length and b"(Residence certificate) Tj" in stream


@pytest.mark.req("SZ-16.4", "NX-39", "SQ-25")
def test_stored_document_is_delivered_with_hash_and_signature(d: Delivery) -> None:
    doc = store(d, key=P1.lower())  # the key is normalised (x → X)
    assert doc.sha256 == hashlib.sha256(PDF).hexdigest() and doc.content_type == "application/pdf"
    assert (d.platform.settings.var_dir / doc.stored_path).read_bytes() == PDF
    got = fetch(d)
    assert got.path.read_bytes() == PDF
    h = got.headers
    assert h["X-Document-SHA256"] == hashlib.sha256(PDF).hexdigest()
    checked = documents.check_signature(d.platform, h["X-Platform-Signature"], doc.sha256)
    assert checked.valid and checked.data is not None
    s = checked.data
    assert s["sha256"] == doc.sha256 and s["document_id"] == doc.id
    assert s["key_sha256"] == hashlib.sha256(P1.upper().encode()).hexdigest()
    assert s["grant_id"] == d.grant_id and s["call_id"] == got.receipt.receipt.call_id
    assert P1 not in h["X-Platform-Signature"] and P1 not in json.dumps(s)
    # tampering: another document's hash, an edited statement, a bad signature
    assert not documents.check_signature(d.platform, h["X-Platform-Signature"], "0" * 64).valid
    payload, sig = h["X-Platform-Signature"].split(".")
    edited = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    edited["resource"] = "321300-XX-99999"
    forged = base64.urlsafe_b64encode(
        json.dumps(edited, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    )
    assert not documents.check_signature(d.platform, forged.decode().rstrip("=") + "." + sig).valid
    flipped = sig[:5] + ("B" if sig[5] != "B" else "C") + sig[6:]
    assert not documents.check_signature(d.platform, payload + "." + flipped).valid
    # the call is receipted and audited as a transmission; the upload as storage
    with d.platform.db.read() as conn:
        assert receipts.check(conn, d.platform.keys, h["X-Call-Receipt"]).audit == "matches"
        stored = conn.execute(select(audit_entry).where(audit_entry.c.object_id == doc.id)).one()
        sent = conn.execute(
            select(audit_entry).where(audit_entry.c.object_id == got.receipt.receipt.call_id)
        ).one()
    assert stored.action == "store" and P1 not in stored.details
    assert sent.action == "transmit" and json.loads(sent.details)["document"] == doc.id
    assert got.receipt.receipt.mode == "file" and got.receipt.receipt.rows == 1


@pytest.mark.req("NX-39")
def test_newest_document_by_default_and_a_given_one(d: Delivery) -> None:
    old = store(d)
    new = store(d, data=minimal_pdf(["Residence certificate", "Renewed"]))
    assert fetch(d).document.id == new.id
    assert fetch(d, document_id=old.id).path.read_bytes() == PDF
    with pytest.raises(DomainError) as other_key:
        fetch(d, key=P2, document_id=old.id)
    assert other_key.value.code == "document_not_found"


@pytest.mark.req("YX-25", "HB-24", "SQ-24")
def test_document_refusals(d: Delivery) -> None:
    with pytest.raises(DomainError) as outsider:
        store(d, user="rs_user")  # not the provider's staff
    assert outsider.value.code == "forbidden"
    with pytest.raises(DomainError) as not_pdf:
        store(d, data=b"MZ\x90\x00 executable")
    assert not_pdf.value.code == "attachment_type"
    with pytest.raises(DomainError) as empty:
        store(d, data=b"")
    assert empty.value.code == "document_empty"
    no_file_mode = population_resource(d.city)  # query / verify / batch only
    with pytest.raises(DomainError) as mode_missing:
        documents.store_document(
            d.platform,
            no_file_mode,
            key=P1,
            filename="a.pdf",
            data=PDF,
            actor=d.city.actor("ga_catalog"),
        )
    assert mode_missing.value.code == "document_mode_missing"
    with pytest.raises(DomainError) as missing:
        fetch(d)
    assert missing.value.code == "document_not_found"
    doc = store(d)
    with pytest.raises(DomainError) as other:
        fetch(d, actor=d.other_client)
    assert other.value.code == "grant_not_yours"
    query_only = grant(d.city, d.resource_id)
    with pytest.raises(DomainError) as mode:
        documents.fetch_document(
            d.platform, query_only, key=P1, document_id=None, call=HEADERS, actor=d.client
        )
    assert mode.value.code == "mode_not_granted"
    # a damaged file is refused rather than served with a signature it no longer matches
    (d.platform.settings.var_dir / doc.stored_path).write_bytes(PDF + b"tampered")
    with pytest.raises(DomainError) as damaged:
        fetch(d)
    assert damaged.value.code == "document_damaged"


LICENCE_ITEMS = (
    DataItemInput(name="证照编号", code="licence_no", type=ItemType.STRING, length=64),
    DataItemInput(
        name="统一社会信用代码",
        code="uscc",
        type=ItemType.STRING,
        length=18,
        identifier=IdentifierKind.USCC,
        required=True,
    ),
    DataItemInput(name="企业名称", code="enterprise_name", type=ItemType.STRING, length=200),
    DataItemInput(name="发证日期", code="issued_on", type=ItemType.DATE),
)


@pytest.mark.req("NX-39")
def test_demo_licences_are_stored_once(demo_platform: Any) -> None:
    city = City(demo_platform)
    rid = publish_resource(
        city,
        name="营业执照电子证照",
        items=LICENCE_ITEMS,
        dept="行政审批局",
        user="xzsp_admin",
        delivery_modes=(DeliveryMode.QUERY, DeliveryMode.FILE),
    )
    codes = [demo_uscc("321302", i) for i in (1, 2)]
    rows = [
        {
            "licence_no": f"YYZZ-{i}",
            "uscc": c,
            "enterprise_name": f"企业{i}",
            "issued_on": "2024-05-01",
        }
        for i, c in enumerate(codes)
    ]
    ingest.push_rows(city.db, rid, rows, [], actor=city.actor("xzsp_admin"), idempotency_key="l")
    assert seed_demo_documents(demo_platform) == 2
    assert seed_demo_documents(demo_platform) == 0  # once
    with demo_platform.db.read() as conn:
        stored = documents.documents_of(conn, rid)
    assert sorted(doc.record_key for doc in stored) == sorted(codes)
    for doc in stored:
        data = (demo_platform.settings.var_dir / doc.stored_path).read_bytes()
        assert data.startswith(b"%PDF-") and doc.record_key.encode() in data
        assert hashlib.sha256(data).hexdigest() == doc.sha256
