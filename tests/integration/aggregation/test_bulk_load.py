"""The bulk load path of an upload (aggregation.loading), on each database and on both of
its PostgreSQL routes: COPY straight into an empty pool (keys seen earlier in the batch held
back and upserted after), and COPY into a staging table merged into a pool that holds rows.
Files span several chunks, so that repeats, rejects and errors cross chunk boundaries."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from govshare.aggregation import ingest
from govshare.aggregation.ingest import CHUNK
from govshare.aggregation.pools import active_pool
from govshare.aggregation.readers import MAX_CELL_CHARS, FileRejected
from govshare.aggregation.tables import data_pool, ingest_batch, quarantine_row
from tests.integration.aggregation.conftest import id_card, write_csv
from tests.integration.catalog.conftest import City

HEADER = ["姓名", "公民身份号码", "性别", "出生日期", "手机号码", "月收入"]
ODD_NAME = '王\t"引号",\\反斜杠\\N'  # tab, quotes, comma, backslashes: COPY must keep them


def key(n: int) -> str:
    return id_card("321302", f"19{60 + n % 40:02d}0{1 + n % 9}1{n % 9}", n % 1000)


def _preload(city: City, population: str, tmp_path: Path) -> dict[str, str]:
    """Two rows the big file will overwrite and one it leaves alone."""
    rows = [["旧名0", key(0)], ["旧名1", key(1)], ["留下", key(8_999)]]
    path = write_csv(tmp_path / "pre.csv", [HEADER[:2], *rows])
    ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog"))
    return {k: name for name, k in rows}


def _pool(city: City, population: str) -> dict[str, tuple[str, int, str]]:
    with city.db.read() as conn:
        pool = active_pool(conn, population)
        assert pool is not None
        t = pool.table()
        return {
            r.id_card: (r.name, r._seq, r._updated_batch_id)
            for r in conn.execute(select(t.c.id_card, t.c.name, t.c._seq, t.c._updated_batch_id))
        }


def _last_seq(city: City, population: str) -> int:
    with city.db.read() as conn:
        seq = conn.execute(
            select(data_pool.c.last_seq).where(data_pool.c.resource_id == population)
        ).scalar()
    return int(seq or 0)


@pytest.mark.req("SQ-20", "NX-29")
@pytest.mark.parametrize("pool_state", ["empty", "holding rows"])
def test_a_key_repeated_in_a_file_keeps_its_last_row(
    city: City, population: str, tmp_path: Path, pool_state: str
) -> None:
    before = _preload(city, population, tmp_path) if pool_state == "holding rows" else {}
    seq0 = _last_seq(city, population)
    distinct = 2 * CHUNK + 11
    total = 3 * CHUNK + 7  # keys 0 .. total - distinct - 1 come twice, a chunk or more apart
    lines = [HEADER]
    for n in range(total):
        name = ODD_NAME if n == total - 1 else f"名{n}"
        lines.append([name, key(n % distinct), "1", "1990-03-07", "13812345678", f"{n}.50"])
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(lines)

    b = ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog")).batch

    assert (b.rows_total, b.rows_loaded, b.rows_rejected) == (total, total, 0)
    assert b.uniqueness == pytest.approx(distinct / total)
    rows = _pool(city, population)
    last = {key(n % distinct): n for n in range(total)}  # the last row of each key
    for k, n in last.items():
        name, seq, batch = rows[k]
        assert name == (ODD_NAME if n == total - 1 else f"名{n}"), k
        assert (seq, batch) == (seq0 + n + 1, b.id)
    untouched = set(before) - set(last)
    assert {k: rows[k][0] for k in untouched} == {k: before[k] for k in untouched}
    assert len(rows) == len(last) + len(untouched)
    assert _last_seq(city, population) == seq0 + total
    with city.db.read() as conn:
        count = conn.execute(
            select(data_pool.c.row_count).where(data_pool.c.resource_id == population)
        ).scalar_one()
    assert count == len(rows)


@pytest.mark.req("NX-27", "NX-29")
def test_more_bad_rows_than_a_chunk_are_all_quarantined(
    city: City, population: str, tmp_path: Path
) -> None:
    total = 3 * CHUNK
    lines = [HEADER]
    for n in range(total):
        sex = "7" if n % 2 else "1"  # every other row: not in the code list
        lines.append([f"名{n}", key(n), sex, "", "", ""])
    path = write_csv(tmp_path / "half.csv", lines)
    result = ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog"))
    b = result.batch
    assert (b.rows_loaded, b.rows_rejected) == (total // 2, total // 2)
    assert len(result.rejected) == 1000 and result.rejected[0].row_no == 3  # file row 3
    with city.db.read() as conn:
        quarantined = conn.execute(
            select(quarantine_row.c.row_no).where(quarantine_row.c.batch_id == b.id)
        ).scalars()
        assert sorted(quarantined) == list(range(3, total + 2, 2))
    assert sorted(r[0] for r in _pool(city, population).values()) == sorted(
        f"名{n}" for n in range(0, total, 2)
    )


@pytest.mark.req("NX-29")
@pytest.mark.parametrize("pool_state", ["empty", "holding rows"])
def test_a_file_failing_after_several_chunks_leaves_the_pool_as_it_was(
    city: City, population: str, tmp_path: Path, pool_state: str
) -> None:
    before = _preload(city, population, tmp_path) if pool_state == "holding rows" else {}
    good = [[f"名{n}", key(n), "1", "", "", ""] for n in range(3 * CHUNK)]
    path = write_csv(tmp_path / "bad.csv", [HEADER, *good])
    with path.open("ab") as fh:  # a cell over the CSV field limit: the reader gives up
        fh.write(b"x" * (MAX_CELL_CHARS + 2) + b"," + key(1).encode() + b",1,,,\r\n")
    with pytest.raises(FileRejected):
        ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog"))
    with city.db.read() as conn:
        batches = conn.execute(
            select(func.count())
            .select_from(ingest_batch)
            .where(ingest_batch.c.resource_id == population)
        ).scalar_one()
    assert batches == (1 if before else 0)
    if before:
        assert {k: v[0] for k, v in _pool(city, population).items()} == before
    # the same connections serve the next load
    fixed = write_csv(tmp_path / "fixed.csv", [HEADER, *good])
    b = ingest.ingest_file(city.db, population, fixed, actor=city.actor("ga_catalog")).batch
    assert b.rows_loaded == 3 * CHUNK
    assert len(_pool(city, population)) == 3 * CHUNK + (1 if before else 0)
