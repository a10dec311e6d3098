"""Generate the ingest test files in this folder (run once; the outputs are committed):

    .venv/bin/python tests/data/ingest/make.py

Each file holds the same kind of rows for the test ``population`` resource (姓名, 公民身份号码,
性别, 出生日期, 手机号码, 月收入 — see tests/integration/aggregation/conftest.py):

- population_utf8.csv       UTF-8 without a BOM
- population_utf8_bom.csv   UTF-8 with a BOM (what Excel writes as "CSV UTF-8")
- population_gbk.csv        GBK (what Excel writes on a Chinese Windows), with characters
                            outside GB2312 but inside GBK (堃, 喆, 镕)
- population_gb18030.csv    GB18030 with characters outside GBK: 䶮 (U+4DAE, CJK Ext. A)
                            and 𠮷 (U+20BB7, CJK Ext. B, a four-byte sequence)
- population.xlsx           typed cells (dates, numbers), header by item name
- population.jsonl          JSON Lines, keys by item name or code, typed values

The script checks what it writes: the GBK file is not valid UTF-8, and the GB18030 file
cannot be encoded in GBK.
"""

from __future__ import annotations

import json
import re
import zipfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODIFIED = rb"<dcterms:modified\1>2026-01-01T00:00:00Z<"
HEADER = ["姓名", "公民身份号码", "性别", "出生日期", "手机号码", "月收入"]
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_card(area: str, born: str, seq: int) -> str:
    first17 = f"{area}{born}{seq:03d}"
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, _W, strict=True)) % 11]


def rows(names: list[str], first_seq: int) -> list[list[str]]:
    out = []
    areas = ["321302", "321311", "321322", "321323", "321324"]
    for i, name in enumerate(names):
        year, month, day = 1960 + (i * 7) % 45, 1 + (i * 5) % 12, 1 + (i * 11) % 28
        sex = "1" if i % 2 == 0 else "2"
        seq = first_seq + i * 2 + (1 if sex == "1" else 0)
        out.append(
            [
                name,
                id_card(areas[i % 5], f"{year}{month:02d}{day:02d}", seq),
                sex,
                f"{year}-{month:02d}-{day:02d}",
                f"13{(i * 37) % 10}{(5271234 + i * 7919) % 10**8:08d}",
                f"{3000 + i * 450}.50",
            ]
        )
    return out


COMMON = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄丽", "周杰", "吴霞"]
FILES: dict[str, tuple[str, list[str], int]] = {
    "population_utf8.csv": ("utf-8", [*COMMON, "徐明", "孙艳"], 100),
    "population_utf8_bom.csv": ("utf-8-sig", [*COMMON, "马超", "朱红"], 200),
    "population_gbk.csv": ("gbk", [*COMMON, "李堃", "王喆", "陈镕"], 300),
    "population_gb18030.csv": ("gb18030", [*COMMON, "刘䶮", "张𠮷"], 400),
}


def write_csv(name: str, encoding: str, data: list[list[str]]) -> bytes:
    text = "\r\n".join(",".join(r) for r in [HEADER, *data]) + "\r\n"
    raw = text.encode(encoding)
    (HERE / name).write_bytes(raw)
    return raw


def write_xlsx(data: list[list[str]]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("人口")
    ws.append(HEADER)
    for r in data:
        born = datetime.strptime(r[3], "%Y-%m-%d")
        ws.append([r[0], r[1], int(r[2]), born, int(r[4]), float(r[5])])
    wb.properties.created = wb.properties.modified = datetime(2026, 1, 1)
    path = HERE / "population.xlsx"
    wb.save(path)
    # fixed zip timestamps, so that regenerating gives the same bytes
    with zipfile.ZipFile(path) as z:
        entries = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, payload in entries:
            info.date_time = (2026, 1, 1, 0, 0, 0)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time
                payload = re.sub(rb"<dcterms:modified([^>]*)>[^<]*<", MODIFIED, payload)
            z.writestr(info, payload)


def write_jsonl(data: list[list[str]]) -> None:
    lines = []
    for i, r in enumerate(data):
        if i % 2:  # keys by code
            obj = {"name": r[0], "id_card": r[1], "sex": r[2], "birth_date": r[3]}
        else:  # keys by item name, typed values
            obj = {"姓名": r[0], "公民身份号码": r[1], "性别": int(r[2]), "月收入": float(r[5])}
        lines.append(json.dumps(obj, ensure_ascii=False))
    (HERE / "population.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    for name, (encoding, names, seq) in FILES.items():
        raw = write_csv(name, encoding, rows(names, seq))
        if encoding == "gbk":
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                raise SystemExit("the GBK file must not be valid UTF-8")
        if encoding == "gb18030":
            try:
                raw.decode("gb18030").encode("gbk")
            except UnicodeEncodeError:
                pass
            else:
                raise SystemExit("the GB18030 file must hold characters outside GBK")
    write_xlsx(rows([*COMMON, "何平", "高洁"], 500))
    write_jsonl(rows(COMMON, 600))


if __name__ == "__main__":
    main()
