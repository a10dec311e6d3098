"""Real files as government departments send them (tests/data/ingest, made by make.py):
CSV in UTF-8, UTF-8 with a BOM, GBK and GB18030 (with characters outside GBK), an XLSX and a
JSON Lines file all load with the right encoding detected; a file that mixes encodings is
rejected naming the row, and nothing of it loads."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from govshare.aggregation import ingest
from govshare.aggregation.model import BatchStatus
from govshare.aggregation.pools import active_pool
from govshare.aggregation.readers import SAMPLE_BYTES, FileRejected
from govshare.aggregation.tables import ingest_batch
from tests.integration.aggregation.conftest import id_card
from tests.integration.catalog.conftest import City

DATA = Path(__file__).resolve().parents[2] / "data" / "ingest"
OUTSIDE_GBK = {"刘䶮", "张𠮷"}  # U+4DAE (Ext. A) and U+20BB7 (Ext. B, four bytes in GB18030)


def _names(city: City, resource_id: str) -> set[str]:
    with city.db.read() as conn:
        pool = active_pool(conn, resource_id)
        assert pool is not None
        t = pool.table()
        return {r.name for r in conn.execute(select(t.c.name)).all()}


def _expected(name: str, encoding: str) -> list[list[str]]:
    text = (DATA / name).read_bytes().decode(encoding)
    return list(csv.reader(io.StringIO(text)))[1:]


@pytest.mark.req("SQ-16", "NX-24", "NX-29")
@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("population_utf8.csv", "utf-8"),
        ("population_utf8_bom.csv", "utf-8-sig"),
        ("population_gbk.csv", "gbk"),
        ("population_gb18030.csv", "gb18030"),
    ],
)
def test_real_csv_files_load_with_their_encoding_detected(
    city: City, population: str, name: str, encoding: str
) -> None:
    result = ingest.ingest_file(city.db, population, DATA / name, actor=city.actor("ga_catalog"))
    b = result.batch
    expected = _expected(name, encoding)
    assert b.status is BatchStatus.LOADED and b.encoding == encoding
    assert (b.rows_total, b.rows_loaded, b.rows_rejected) == (len(expected), len(expected), 0)
    assert b.file_name == name and len(b.file_sha256) == 64
    # every name arrives intact, keyed by its 公民身份号码
    with city.db.read() as conn:
        pool = active_pool(conn, population)
        assert pool is not None
        t = pool.table()
        stored = {r.id_card: r.name for r in conn.execute(select(t.c.id_card, t.c.name)).all()}
    assert stored == {r[1]: r[0] for r in expected}


@pytest.mark.req("SQ-16", "NX-24")
def test_gb18030_characters_outside_gbk_survive_the_round_trip(city: City, population: str) -> None:
    raw = (DATA / "population_gb18030.csv").read_bytes()
    with pytest.raises(UnicodeEncodeError):  # the file really needs GB18030
        raw.decode("gb18030").encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("gbk")
    ingest.ingest_file(
        city.db, population, DATA / "population_gb18030.csv", actor=city.actor("ga_catalog")
    )
    assert _names(city, population) >= OUTSIDE_GBK
    gbk = (DATA / "population_gbk.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):  # and the GBK file is not UTF-8 in disguise
        gbk.decode("utf-8")
    assert "堃" in gbk.decode("gbk")  # GBK, outside GB2312


def _mixed(path: Path, bad_row: int) -> Path:
    """A UTF-8 export with a GBK row pasted in at ``bad_row`` (the header is row 1)."""
    head, *good = (DATA / "population_utf8.csv").read_bytes().split(b"\r\n")[:-1]
    gbk_row = (DATA / "population_gbk.csv").read_bytes().split(b"\r\n")[1]
    lines = [head]
    for n in range(2, bad_row):
        name = good[n % len(good)].split(b",", 1)[0]
        lines.append(name + b"," + _key(n) + b",1,1990-01-01,13812345678,5000.00")
    lines.append(gbk_row)
    lines += [good[0], good[1]]
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return path


def _key(n: int) -> bytes:
    return id_card("321302", f"19{50 + n % 50:02d}0{1 + n % 9}1{n % 9}", n % 1000).encode()


def _nothing_loaded(city: City, resource_id: str) -> None:
    with city.db.read() as conn:
        batches = conn.execute(
            select(func.count())
            .select_from(ingest_batch)
            .where(ingest_batch.c.resource_id == resource_id)
        ).scalar_one()
        pool = active_pool(conn, resource_id)
    assert batches == 0 and pool is None  # not even the pool was created


@pytest.mark.req("SQ-16", "NX-29")
@pytest.mark.parametrize("bad_row", [5000, 20000])
def test_a_file_mixing_utf8_and_gbk_is_rejected_naming_the_row(
    city: City, population: str, tmp_path: Path, bad_row: int
) -> None:
    path = _mixed(tmp_path / "mixed.csv", bad_row)
    # 5000: inside the sample the encoding is decided on; 20000: beyond it, met while loading
    lines = path.read_bytes().split(b"\r\n")
    assert (len(b"\r\n".join(lines[: bad_row - 1])) < SAMPLE_BYTES) == (bad_row == 5000)
    with pytest.raises(FileRejected) as err:
        ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog"))
    assert err.value.field == f"row {bad_row}"
    assert f"第{bad_row}行" in err.value.message_zh and f"row {bad_row}" in err.value.message_en
    _nothing_loaded(city, population)  # the rows before it are not half-loaded


@pytest.mark.req("SQ-16", "NX-29")
def test_a_gbk_file_is_not_taken_for_a_broken_utf8_file(
    city: City, population: str, tmp_path: Path
) -> None:
    # ASCII header (item codes), GBK rows: still detected as GBK, not "row 2 is bad UTF-8"
    rows = (DATA / "population_gbk.csv").read_bytes().split(b"\r\n")
    path = tmp_path / "codes.csv"
    path.write_bytes(b"\r\n".join([b"name,id_card,sex,birth_date,mobile,income", *rows[1:]]))
    b = ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog")).batch
    assert b.encoding == "gbk" and b.rows_loaded == len(rows) - 2
    assert {"李堃", "王喆", "陈镕"} <= _names(city, population)


@pytest.mark.req("SQ-16", "NX-29")
@pytest.mark.parametrize(
    ("name", "encoding"), [("population.xlsx", "xlsx"), ("population.jsonl", "utf-8")]
)
def test_xlsx_and_json_lines_files_load(
    city: City, population: str, name: str, encoding: str
) -> None:
    result = ingest.ingest_file(city.db, population, DATA / name, actor=city.actor("ga_catalog"))
    b = result.batch
    assert b.status is BatchStatus.LOADED and b.encoding == encoding
    assert b.rows_rejected == 0 and b.rows_loaded == b.rows_total >= 10
    with city.db.read() as conn:
        pool = active_pool(conn, population)
        assert pool is not None
        t = pool.table()
        rows = conn.execute(select(t.c.name, t.c.sex, t.c.birth_date, t.c.income)).all()
    assert {"张伟", "王芳"} <= {r.name for r in rows}
    assert {r.sex for r in rows} == {"1", "2"}  # typed cells (numbers) become codes
    if name.endswith("xlsx"):  # date cells become dates, number cells decimals
        assert all(r.birth_date is not None and r.income is not None for r in rows)
        assert min(r.birth_date for r in rows).year == 1960
    again = ingest.ingest_file(city.db, population, DATA / name, actor=city.actor("ga_catalog"))
    assert again.duplicate and again.batch.id == b.id
