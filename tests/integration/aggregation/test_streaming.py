"""Streaming upload: a 200,000-row CSV (over 20 MB) is read and loaded without ever being
held in memory. SQLite only: the subject is the reader and the chunked loader.

Two measurements, because tracemalloc slows every allocation down about tenfold here (a
fully traced 200,000-row load would take minutes):

- the reader, traced with tracemalloc end to end: its peak stays a small fraction of the
  file (reading the file whole, or keeping its rows, would show at once);
- the full load, untraced: the number of live Python objects (``sys.getallocatedblocks``)
  sampled at every committed chunk stays flat, so no rows are kept from chunk to chunk.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from govshare.aggregation import ingest
from govshare.aggregation.ingest import CHUNK
from govshare.aggregation.pools import active_pool
from govshare.aggregation.readers import open_reader
from govshare.catalog.model import DataItemInput, ItemType
from govshare.platform import Platform
from tests.integration.aggregation.conftest import ITEMS, id_card, publish
from tests.integration.catalog.conftest import City

ROWS = 200_000
MiB = 1 << 20
NARROW = (
    ITEMS[0],  # 姓名
    ITEMS[1],  # 公民身份号码
    DataItemInput(
        name="户籍地址", code="address", type=ItemType.STRING, length=200, sensitivity="address"
    ),
)


def _lines(count: int) -> Iterator[str]:
    yield "姓名,公民身份号码,户籍地址\r\n"
    first = date(1950, 1, 1)
    for i in range(count):
        born = first + timedelta(days=i % 18_000)
        seq = (i // 18_000) * 2 + i % 2  # unique keys
        yield (
            f"张{'伟芳娜敏静丽强磊军洋'[i % 10]}{'明华平'[i % 3]},"
            f"{id_card('321322', f'{born:%Y%m%d}', seq)},"
            f"江苏省宿迁市沭阳县沭城街道人民路{i % 900 + 1}号阳光花园{i % 40 + 1}幢"
            f"{i % 3 + 1}单元{i % 30 + 1}0{i % 4 + 1}室\r\n"
        )


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stream") / "population.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.writelines(_lines(ROWS))
    assert path.stat().st_size > 20 * MiB
    return path


@pytest.mark.req("NX-29")
def test_reading_a_200k_row_csv_never_holds_the_file(big_csv: Path) -> None:
    size = big_csv.stat().st_size
    tracemalloc.start()
    try:
        reader = open_reader(big_csv, "csv", list(NARROW))
        count = last = 0
        for row_no, row in reader.rows:
            count, last = count + 1, row_no
            assert row["id_card"]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (count, last, reader.encoding) == (ROWS, ROWS + 1, "utf-8")
    print(f"\nread {size / MiB:.1f} MiB; peak traced Python memory {peak / MiB:.1f} MiB")
    # the encoding sample (1 MiB, and its decoded text) and one row at a time: a fraction of
    # the file (its bytes alone would be 22 MiB, its rows as Python objects far more)
    assert peak < 8 * MiB < size / 2.5


@pytest.mark.req("NX-29")
def test_loading_a_200k_row_csv_keeps_python_memory_flat(
    sqlite_demo_platform: Platform, big_csv: Path
) -> None:
    city = City(sqlite_demo_platform)
    resource_id = publish(city, name="户籍人口信息（流式）", items=NARROW)
    blocks: list[int] = []  # live Python objects after each committed chunk
    loaded = [0]

    def progress(n: int) -> None:
        loaded[0] += n
        blocks.append(sys.getallocatedblocks())

    result = ingest.ingest_file(
        city.db, resource_id, big_csv, actor=city.actor("ga_catalog"), progress=progress
    )
    b = result.batch
    assert (b.rows_total, b.rows_loaded, b.rows_rejected) == (ROWS, ROWS, 0)
    assert loaded[0] == ROWS and len(blocks) == ROWS // CHUNK
    with city.db.read() as conn:
        pool = active_pool(conn, resource_id)
        assert pool is not None
        assert conn.execute(select(func.count()).select_from(pool.table())).scalar_one() == ROWS
    # from the 5th chunk (caches warm) to the last, 180,000 more rows went through; keeping
    # them would add millions of objects (a dict and three strings per row at least)
    growth = max(blocks[4:]) - blocks[4]
    print(f"\nlive objects: {blocks[4]} after 5 chunks, growth after that {growth}")
    assert growth < 20_000
