"""Write the bad-input corpus: malformed files and request bodies for every upload and import
endpoint, and ``corpus.json`` saying where each one goes and what must come back.

    .venv/bin/python tests/data/bad/make_corpus.py

Kept small on disk: the XLSX zip bomb unpacks to 256 MiB from about 250 KB; the inputs that
are big by nature (a 10 MB cell, a 33 MB JSON body, 10,001 pushed rows) are described here
and built at test time by ``generate(name)``.

Expectations (``expect``):
- ``reject``: a 4xx from ``status``; the error's ``field`` contains ``field`` when given (the
  row or column for a file, the body path for JSON) and nothing is stored;
- ``quarantine``: the file is readable but a row is not: the batch is stored with that row
  rejected (SQ-16: rejected rows are kept with their reasons), naming ``row`` and ``field``.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from govshare.kernel.identifiers import id_card_check_char, make_uscc

HERE = Path(__file__).resolve().parent
HEADER = ["姓名", "公民身份号码", "性别", "出生日期", "手机号码", "月收入"]
DEPT = "__DEPT__"  # replaced by a department id at test time
JURISDICTION = "__JURISDICTION__"


def id_card(seq: int, born: str = "19900307", area: str = "321302") -> str:
    first17 = f"{area}{born}{seq:03d}"
    return first17 + id_card_check_char(first17)


def row(name: str = "张三", idc: str | None = None, sex: str = "1") -> list[str]:
    return [name, idc or id_card(101), sex, "1990-03-07", "13812345678", "5000"]


def csv_text(rows: list[list[str]], nl: str = "\r\n") -> str:
    return nl.join(",".join(r) for r in rows) + nl


def xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def xlsx_with(parts: dict[str, bytes], base: bytes | None = None) -> bytes:
    """A copy of ``base`` (a sound workbook) with some parts replaced."""
    src = zipfile.ZipFile(io.BytesIO(base or xlsx([HEADER, row()])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, parts.pop(info.filename, None) or src.read(info))
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A workbook whose shared strings unpack to 256 MiB (about 1000:1)."""
    base = zipfile.ZipFile(io.BytesIO(xlsx([HEADER, row()])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for info in base.infolist():
            if info.filename == "xl/sharedStrings.xml":
                continue
            z.writestr(info.filename, base.read(info))
        big = 256 << 20
        head = (
            b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>'
        )
        tail = b"</t></si></sst>"
        info = zipfile.ZipInfo("xl/sharedStrings.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as fh:
            fh.write(head)
            chunk = b"A" * (1 << 20)
            for _ in range(big >> 20):
                fh.write(chunk)
            fh.write(tail)
    return out.getvalue()


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def body(**changes: Any) -> dict[str, Any]:
    """A catalog entry body that the API would accept, with ``changes``."""
    entry: dict[str, Any] = {
        "name": "坏输入测试资源",
        "classification": "department",
        "provider_department_id": DEPT,
        "summary": "测试",
        "data_items": [{"name": "姓名", "code": "name", "type": "string", "length": 50}],
    }
    entry.update(changes)
    return entry


def department(uscc: str) -> dict[str, Any]:
    return {
        "name": "坏输入测试部门",
        "short_name": "测试部门",
        "uscc": uscc,
        "jurisdiction_id": JURISDICTION,
    }


def j(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


GOOD_USCC = make_uscc("1", "1", "321300", "01417855")


def _uscc_with(pos: int, ch: str) -> str:
    return GOOD_USCC[:pos] + ch + GOOD_USCC[pos + 1 :]


Case = dict[str, Any]
CASES: list[Case] = []
FILES: dict[str, bytes] = {}


def case(file: str, data: bytes | None, endpoint: str, expect: str = "reject", **kw: Any) -> None:
    if data is not None:
        FILES[file] = data
    CASES.append({"file": file, "endpoint": endpoint, "expect": expect, **kw})


def build() -> None:
    CASES.clear()
    FILES.clear()
    good = csv_text([HEADER, row()])
    # --- CSV uploads: encodings, BOMs, NUL bytes, line endings, headers -----------------
    up = "pool_upload"
    case("csv_empty.csv", b"", up, status=[422], field="file")
    case("csv_only_bom.csv", b"\xef\xbb\xbf", up, status=[422], field="file")
    case("csv_bom_then_garbage.csv", b"\xef\xbb\xbf" + bytes(range(128, 256)) * 8, up, status=[422])
    case("csv_binary.csv", bytes((i * 37 + 11) % 256 for i in range(4096)), up, status=[422])
    case("csv_utf16_bom.csv", good.encode("utf-16"), up, status=[422], field="file")
    case("csv_utf32.csv", good.encode("utf-32"), up, status=[422], field="file")
    mixed = csv_text([HEADER] + [row(name="张三丰") for _ in range(5)]).encode()
    case(
        "csv_utf8_then_gbk_row.csv",
        mixed + ",".join(row(name="李四光")).encode("gbk") + b"\r\n",
        up,
        status=[422],
        field="row 7",
    )
    case(
        "csv_gbk_declared_utf8.csv",
        good.encode("gbk")[:-3] + b"\xff\xfe\r\n",  # GBK, then bytes no CJK codec decodes
        up,
        status=[422],
        content_type="text/csv; charset=utf-8",
    )
    case("csv_nul_in_header.csv", good.replace("性别", "性\x00别").encode(), up, status=[422])
    case(
        "csv_truncated_utf8.csv",
        (csv_text([HEADER]) + "张三,").encode()[:-2],
        up,
        status=[422],
    )
    case(
        "csv_bare_cr_in_field.csv",
        csv_text([HEADER, row()], nl="\n").replace("张三", "张\r三").encode(),
        up,
        status=[422],
        field="row",
    )
    case(
        "csv_unknown_header.csv",
        csv_text([[*HEADER, "血型"], [*row(), "A"]]).encode(),
        up,
        status=[422],
        field="column 7",
    )
    case(
        "csv_duplicate_header.csv",
        csv_text([[*HEADER, "姓名"], [*row(), "王五"]]).encode(),
        up,
        status=[422],
        field="column 7",
    )
    case(
        "csv_missing_id_column.csv",
        csv_text([["姓名", "性别"], ["张三", "1"]]).encode(),
        up,
        status=[422],
        field="header",
    )
    case(
        "csv_blank_header.csv",
        csv_text([[""] * 6, row()]).encode(),
        up,
        status=[422],
        field="header",
    )
    case("csv_header_only_newlines.csv", b"\r\n\n\r\n", up, status=[422])
    case("csv_wrong_extension.txt", good.encode(), up, status=[422], field="file")
    case(
        "csv_as_pdf.pdf",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n",
        up,
        status=[422],
        field="file",
    )
    # --- row-level values: kept in quarantine, naming row and field -----------------------
    bad_ids = {
        "id_bad_check_char": id_card(101)[:17] + ("0" if id_card(101)[17] != "0" else "1"),
        "id_feb_30": id_card(102, born="19900230"),
        "id_future_birth": id_card(103, born="20990101"),
        "id_born_1899": id_card(104, born="18991231"),
        "id_15_digits": "321302900307123",
        "id_19_digits": id_card(105) + "1",
        "id_area_00": id_card(106, area="001302"),
        "id_fullwidth_digits": "".join(chr(ord(c) + 0xFEE0) for c in id_card(107)),
        "id_superscript_digit": id_card(108)[:16] + "²" + id_card(108)[17],
        "id_letter_inside": id_card(109)[:10] + "AB" + id_card(109)[12:],
        "id_sql_injection": "' OR '1'='1' --",
    }
    for name, value in bad_ids.items():
        data = csv_text([HEADER, row(idc=id_card(110)), row(idc=value)]).encode()
        case(f"{name}.csv", data, up, "quarantine", row=3, field="id_card")
    formula = csv_text(
        [
            HEADER,
            row(name='=HYPERLINK("http://evil.example","点我")', idc="x"),
            row(name="+cmd|' /C calc'!A0", idc="y"),
            row(name="@SUM(1+1)", idc="z"),
        ]
    ).encode()
    case(
        "csv_formula_injection.csv", formula, up, "quarantine", row=2, field="id_card", formula=True
    )
    case("csv_10mb_cell.csv", None, up, status=[413, 422], generate="big_cell_csv")
    # --- XLSX uploads ----------------------------------------------------------------------
    sound = xlsx([HEADER, row()])
    case("xlsx_truncated.xlsx", sound[: len(sound) // 2], up, status=[422], field="file")
    case(
        "xlsx_random_after_pk.xlsx",
        b"PK\x03\x04" + bytes(range(256)) * 16,
        up,
        status=[422],
        field="file",
    )
    case("xlsx_csv_renamed.xlsx", good.encode(), up, status=[422], field="file")
    case("xlsx_zip_bomb.xlsx", zip_bomb(), up, status=[422], field="file", bomb=True)
    case(
        "xlsx_billion_laughs.xlsx",
        xlsx_with(
            {
                "xl/sharedStrings.xml": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b"<si><t>&lol2;</t></si></sst>"
            }
        ),
        up,
        status=[422],
        field="file",
    )
    case(
        "xlsx_broken_sheet_xml.xlsx",
        xlsx_with({"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row r='1'><c"}),
        up,
        status=[422],
    )
    case("xlsx_empty_sheet.xlsx", xlsx([]), up, status=[422], field="file")
    case(
        "xlsx_duplicate_header.xlsx",
        xlsx([[*HEADER, "姓名"], [*row(), "x"]]),
        up,
        status=[422],
        field="column 7",
    )
    case("xlsx_missing_header.xlsx", xlsx([["姓名"], ["张三"]]), up, status=[422], field="header")
    case(
        "xlsx_formula_cells.xlsx",
        xlsx([HEADER, row(), ["=1+1", "=A2", "1", "", "", ""]]),
        up,
        "quarantine",
        row=3,
        field="id_card",
    )
    # --- JSON Lines uploads -------------------------------------------------------------------
    line = j(dict(zip(HEADER, row(), strict=True)))
    case("jsonl_bad_line.jsonl", line + b"\n{not json\n", up, status=[422], field="row 2")
    case("jsonl_array_line.jsonl", line + b"\n[1,2,3]\n", up, status=[422], field="row 2")
    case(
        "jsonl_nested_value.jsonl",
        line + b'\n{"\xe5\xa7\x93\xe5\x90\x8d": {"a": 1}}\n',
        up,
        status=[422],
        field="row 2",
    )
    case("jsonl_unknown_key.jsonl", line + b'\n{"blood": "A"}\n', up, status=[422], field="row 2")
    case(
        "jsonl_gbk_declared_utf8.jsonl",
        line + b"\n" + json.dumps({"姓名": "李四"}, ensure_ascii=False).encode("gbk") + b"\n",
        up,
        status=[422],
        field="row 2",
        content_type="application/x-ndjson; charset=utf-8",
    )
    case(
        "jsonl_deep_nesting.jsonl",
        line + b"\n" + nested(10_000) + b"\n",
        up,
        status=[422],
        field="row 2",
    )
    # --- push API (JSON bodies) ----------------------------------------------------------------
    push = "pool_push"
    case("push_not_json.json", b"{upserts: [", push, status=[422])
    case("push_deep_nesting.json", b'{"upserts": ' + nested(50_000) + b"}", push, status=[422])
    case("push_not_object.json", b'"upserts"', push, status=[422])
    case("push_upserts_not_list.json", j({"upserts": "all"}), push, status=[422], field="upserts")
    case("push_row_not_object.json", j({"upserts": [1, 2]}), push, status=[422], field="upserts")
    case(
        "push_nested_value.json",
        j({"upserts": [{"姓名": {"$gt": ""}}]}),
        push,
        status=[422],
        field="upserts",
    )
    case(
        "push_extra_field.json", j({"upserts": [], "drop": True}), push, status=[422], field="drop"
    )
    case(
        "push_gbk_declared_utf8.json",
        json.dumps({"upserts": [{"姓名": "李四"}]}, ensure_ascii=False).encode("gbk"),
        push,
        status=[422],
        content_type="application/json; charset=utf-8",
    )
    case(
        "push_nul_bytes.json",
        j({"upserts": [dict(zip(HEADER, row(name="张\u0000三", idc=id_card(120)), strict=True))]}),
        push,
        "quarantine",
        row=1,
        field="name",
    )
    case("push_unknown_item.json", j({"upserts": [{"血型": "A"}]}), push, status=[422])
    case("push_oversized.json", None, push, status=[413], generate="push_oversized")
    case("push_too_many_rows.json", None, push, status=[413, 422], generate="push_many_rows")
    case(
        "push_as_form.txt",
        b"upserts=1",
        push,
        status=[422],
        content_type="application/x-www-form-urlencoded",
    )
    # --- catalog XLSX import -------------------------------------------------------------------
    imp = "catalog_import"
    case("catalog_import_truncated.xlsx", sound[: len(sound) // 3], imp, status=[422])
    case("catalog_import_not_the_template.xlsx", sound, imp, status=[422])
    case("catalog_import_zip_bomb.xlsx", None, imp, status=[422], reuse="xlsx_zip_bomb.xlsx")
    case("catalog_import_csv.xlsx", good.encode(), imp, status=[422])
    case(
        "catalog_import_billion_laughs.xlsx",
        None,
        imp,
        status=[422],
        reuse="xlsx_billion_laughs.xlsx",
    )
    case("catalog_import_bad_rows.xlsx", catalog_bad_rows(), imp, status=[422], rows=[2, 3])
    case(
        "catalog_import_as_json.txt",
        j({"file": "x"}),
        imp,
        status=[422],
        content_type="application/json",
    )
    # --- catalog JSON API ---------------------------------------------------------------------
    cat = "catalog_create"
    case("catalog_not_json.json", b"{'name': 1}", cat, status=[400, 422])
    case("catalog_deep_nesting.json", b'{"tags": ' + nested(10_000) + b"}", cat, status=[400, 422])
    case(
        "catalog_gbk_declared_utf8.json",
        json.dumps(body(), ensure_ascii=False).encode("gbk"),
        cat,
        status=[400, 422],
        content_type="application/json; charset=utf-8",
    )
    case("catalog_nul_in_name.json", j(body(name="坏\u0000名称")), cat, status=[422], field="name")
    case("catalog_name_too_long.json", j(body(name="长" * 5000)), cat, status=[422], field="name")
    case(
        "catalog_wrong_enum.json",
        j(body(classification="secret")),
        cat,
        status=[422],
        field="classification",
    )
    case(
        "catalog_items_not_list.json",
        j(body(data_items={"a": 1})),
        cat,
        status=[422],
        field="data_items",
    )
    case(
        "catalog_bad_item_code.json",
        j(body(data_items=[{"name": "x", "code": "Robert'); DROP TABLE catalog_resource;--"}])),
        cat,
        status=[422],
        field="data_items",
    )
    case(
        "catalog_as_form.txt",
        b"name=x",
        cat,
        status=[422],
        content_type="application/x-www-form-urlencoded",
    )
    case(
        "catalog_as_xml.xml",
        b"<entry><name>x</name></entry>",
        cat,
        status=[422],
        content_type="application/xml",
    )
    # --- departments: USCC checks ---------------------------------------------------------------
    dep = "department_create"
    usccs = {
        "uscc_check_char": GOOD_USCC[:17] + ("0" if GOOD_USCC[17] != "0" else "1"),
        "uscc_letter_o": _uscc_with(9, "O"),
        "uscc_17_chars": GOOD_USCC[:17],
        "uscc_fullwidth": "".join(chr(ord(c) + 0xFEE0) for c in GOOD_USCC),
        "uscc_registration_0": "0" + GOOD_USCC[1:],
        "uscc_org_check_digit": GOOD_USCC[:16]
        + ("0" if GOOD_USCC[16] != "0" else "1")
        + GOOD_USCC[17],
        "uscc_sql_injection": "1' OR 1=1 --",
    }
    for name, value in usccs.items():
        case(f"{name}.json", j(department(value)), dep, status=[422], field="uscc")


# Big inputs, built at test time ------------------------------------------------------------
def _big_cell_csv() -> bytes:
    return csv_text([HEADER, row(name="大" * ((10 << 20) // 3))]).encode()


def _push_oversized() -> bytes:
    filler = "填" * ((33 << 20) // 3)
    return j({"upserts": [{"姓名": filler}]})


def _push_many_rows() -> bytes:
    return j({"deletes": [str(i) for i in range(10_001)]})


def catalog_bad_rows() -> bytes:
    """The import template with two entries: one without a classification, one whose
    classification and update cycle are not in the lists."""
    from openpyxl import load_workbook

    from govshare.catalog.importer import build_template

    wb = load_workbook(io.BytesIO(build_template(None)))
    ws = wb["目录条目"]
    headers = [str(c.value or "") for c in ws[1]]

    def put(r: int, header: str, value: str) -> None:
        col = next(i for i, h in enumerate(headers, start=1) if h.startswith(header))
        ws.cell(row=r, column=col, value=value)

    put(2, "资源名称", "缺少分类的资源")
    put(3, "资源名称", "<script>alert(1)</script>")
    put(3, "资源分类", "机密")
    put(3, "更新周期", "每秒")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


GENERATORS: dict[str, Callable[[], bytes]] = {
    "big_cell_csv": _big_cell_csv,
    "push_oversized": _push_oversized,
    "push_many_rows": _push_many_rows,
}


def generate(name: str) -> bytes:
    return GENERATORS[name]()


def main() -> None:
    build()
    for old in HERE.iterdir():
        if old.name not in ("make_corpus.py", "__pycache__") and old.is_file():
            old.unlink()
    for name, data in FILES.items():
        (HERE / name).write_bytes(data)
    (HERE / "corpus.json").write_text(
        json.dumps(CASES, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"{len(CASES)} cases, {len(FILES)} files, {sum(map(len, FILES.values()))} bytes")


if __name__ == "__main__":
    main()
