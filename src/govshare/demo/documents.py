"""Demo documents: a few small, valid PDF licences stored against the records of the demo's
营业执照电子证照 resource (行政审批局), through the ordinary document service (audited
STORE), so that a consumer system granted the ``file`` mode can fetch them.

The PDFs are written here byte by byte (PDF 1.4, one page, Helvetica, a correct
cross-reference table); their text is ASCII (the standard fonts carry no Chinese glyphs)."""

from __future__ import annotations

from sqlalchemy import select

from govshare.catalog import queries as catalog_queries
from govshare.delivery import documents
from govshare.delivery.queries import pool_for_version
from govshare.identity import queries as identity_queries
from govshare.platform import Platform

LICENCE_RESOURCE = "营业执照电子证照"
UPLOADER = "xzsp_admin"
COUNT = 3


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines`` (ASCII)."""
    body = ["BT", "/F1 14 Tf", "72 760 Td", "18 TL"]
    for line in lines:
        body.append(f"({_escape(line.encode('ascii', 'replace').decode())}) Tj T*")
    body.append("ET")
    stream = "\n".join(body).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def seed_demo_documents(platform: Platform) -> int:
    """Store a licence PDF for the first few records of the demo licence resource; returns
    how many were stored (0 when the resource, its data or the uploader is missing, or
    when it has documents already)."""
    with platform.db.read() as conn:
        res = next(
            (
                r
                for r in documents.file_resources(
                    conn, {d.id for d in identity_queries.list_departments(conn)}
                )
                if r.name == LICENCE_RESOURCE
            ),
            None,
        )
        user = identity_queries.user_by_username(conn, UPLOADER)
        if res is None or user is None or res.documents:
            return 0
        actor = identity_queries.actor_for_user(conn, user.id)
        resource = catalog_queries.get_resource(conn, res.resource_id)
        version = catalog_queries.published_version(conn, res.resource_id)
        pool = pool_for_version(conn, res.resource_id, version.version_no) if version else None
        if actor is None or pool is None or len(pool.key_columns) != 1:
            return 0
        table = pool.table()
        key = table.c[pool.key_columns[0]]
        wanted = [c for c in ("licence_no", "issued_on") if c in table.c]
        rows = conn.execute(
            select(key, *[table.c[c] for c in wanted])
            .where(table.c._deleted.is_(False))
            .order_by(table.c._row_id)
            .limit(COUNT)
        ).all()
    for r in rows:
        values = r._asdict()
        record_key = str(values[pool.key_columns[0]])
        pdf = minimal_pdf(
            [
                "Business licence (electronic copy)",
                f"Unified social credit code: {record_key}",
                f"Licence no.: {values.get('licence_no', '')}",
                f"Issued on: {values.get('issued_on', '')}",
                f"Resource: {resource.code}",
                "Issuer: Suqian Administrative Approval Bureau (demo)",
            ]
        )
        documents.store_document(
            platform,
            res.resource_id,
            key=record_key,
            filename=f"business-licence-{record_key}.pdf",
            data=pdf,
            actor=actor,
        )
    return len(rows)
