"""The pipelined upload (aggregation.pipeline): a large CSV bound for SQLite is read and
checked in a checker process while the ingest transaction writes the rows. The files here
are small, so the size threshold is lowered; each load is compared with the same file
loaded in process (same batch counts, same pool rows, row numbers and ``_seq``, same
quarantine), and every failure, in either process, leaves nothing loaded and no checker
process behind. Loads into an empty pool (its key index built after the rows) and into a
pool that holds rows (upserts) are both covered, and so are the key index itself, GBK
files, and XLSX (never pipelined)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from govshare.aggregation import ingest, pipeline
from govshare.aggregation.checking import Checked, CheckPlan
from govshare.aggregation.ingest import CHUNK
from govshare.aggregation.model import IngestResult
from govshare.aggregation.pipeline import CheckerFailed, Pipeline
from govshare.aggregation.pools import active_pool
from govshare.aggregation.readers import FileRejected, Records
from govshare.aggregation.tables import ingest_batch, quarantine_row
from govshare.platform import Platform
from tests.integration.aggregation.conftest import id_card, publish, write_csv
from tests.integration.catalog.conftest import City

DATA = Path(__file__).resolve().parents[2] / "data" / "ingest"
HEADER = ["姓名", "公民身份号码", "性别", "出生日期", "手机号码", "月收入"]
ROWS = 3 * CHUNK + 17


def key(n: int) -> str:
    return id_card("321302", f"19{50 + n % 50:02d}0{1 + n % 9}1{n % 9}", n % 1000)


def _x_key() -> str:
    """A valid number whose check character is X (sent in lower case below)."""
    return next(k for n in range(1000) if (k := id_card("321302", "19800101", n)).endswith("X"))


def _line(n: int) -> list[str]:
    """Row ``n``: mostly good; every few rows something a check rejects or cleans up, and a
    key repeated from earlier in the file (last one wins)."""
    row = [f"名{n}", key(n), "1" if n % 2 else "2", "1990-03-07", "13812345678", f"{n}.50"]
    kind = n % 53
    if kind == 1:
        row[1] = row[1][:17] + ("0" if row[1][17] != "0" else "1")  # wrong check character
    elif kind == 2:
        row[2] = "7"  # not in the code list
    elif kind == 3:
        row[3] = "1990-02-30"  # no such day
    elif kind == 4:
        row[0] = " 王\u3000"  # padded: cleaned up, not rejected
    elif kind == 5:
        row[1] = _x_key().lower()  # lower-case x: upper-cased
    elif kind == 6:
        row[3] = "19900307"  # another date form
    elif kind == 7:
        row = row[:3]  # a short row: the cells it lacks are empty
    elif kind == 8:
        row[4] = "1381234567"  # a digit short
    elif kind == 9:
        row[0] = "名" * 51  # too long
    elif kind == 10:
        row[1] = key(n - 600)  # a key repeated from earlier (upserted: last one wins)
    elif kind == 11:
        row[5] = "1,234.5"
    return row


def _big_csv(path: Path, rows: int = ROWS, encoding: str = "utf-8") -> Path:
    lines = [HEADER]
    for n in range(rows):
        lines.append(_line(n))
        if n == CHUNK + 5:
            lines.append([""] * 6)  # a blank line is skipped
    return write_csv(path, lines, encoding)


@pytest.fixture
def sqlite_city(sqlite_demo_platform: Platform) -> City:
    return City(sqlite_demo_platform)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Pipeline]:
    """Every pipeline an upload starts (the threshold lowered so that small files are)."""
    found: list[Pipeline] = []
    real = pipeline.start

    def spy(path: Path, plan: CheckPlan, records: Records) -> Pipeline | None:
        p = real(path, plan, records)
        if p is not None:
            found.append(p)
        return p

    monkeypatch.setattr(pipeline, "MIN_BYTES", 0)
    monkeypatch.setattr(pipeline, "start", spy)
    return found


@pytest.fixture
def from_checker(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rows of each chunk a loader took from a checker process."""
    taken: list[int] = []
    real = Pipeline.checked

    def counted(self: Pipeline) -> Iterator[Checked]:
        for chunk in real(self):
            taken.append(chunk.total)
            yield chunk

    monkeypatch.setattr(Pipeline, "checked", counted)
    return taken


def _in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "MIN_BYTES", 1 << 62)


def _pool_rows(city: City, resource_id: str) -> list[tuple[Any, ...]]:
    with city.db.read() as conn:
        pool = active_pool(conn, resource_id)
        assert pool is not None
        t = pool.table()
        cols = [t.c._row_id, t.c._seq, t.c._deleted, *(t.c[c.code] for c in pool.columns)]
        return [tuple(r) for r in conn.execute(select(*cols).order_by(t.c._row_id))]


def _quarantine(city: City, batch_id: str) -> list[tuple[Any, ...]]:
    with city.db.read() as conn:
        rows = conn.execute(
            select(quarantine_row.c.row_no, quarantine_row.c["values"], quarantine_row.c.errors)
            .where(quarantine_row.c.batch_id == batch_id)
            .order_by(quarantine_row.c.row_no)
        )
        return [(r[0], json.loads(r[1]), json.loads(r[2])) for r in rows]


def _summary(city: City, resource_id: str, result: IngestResult) -> dict[str, Any]:
    b = result.batch
    return {
        "counts": (b.rows_total, b.rows_loaded, b.rows_rejected, b.rows_deleted),
        "quality": (b.completeness, b.validity, b.uniqueness, b.quality_score),
        "status": b.status,
        "encoding": b.encoding,
        "rejected": [(r.row_no, r.values, r.errors) for r in result.rejected],
        "quarantine": _quarantine(city, b.id),
        "pool": _pool_rows(city, resource_id),
    }


def _batches(city: City, resource_id: str) -> int:
    with city.db.read() as conn:
        n = conn.execute(
            select(func.count())
            .select_from(ingest_batch)
            .where(ingest_batch.c.resource_id == resource_id)
        ).scalar_one()
    return int(n)


def _key_index(city: City, resource_id: str) -> list[str]:
    with city.db.read() as conn:
        pool = active_pool(conn, resource_id)
        assert pool is not None
        return list(
            conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"),
                {"t": pool.table_name},
            ).scalars()
        )


def _load(city: City, resource_id: str, path: Path, **kw: Any) -> IngestResult:
    return ingest.ingest_file(city.db, resource_id, path, actor=city.actor("ga_catalog"), **kw)


@pytest.mark.req("NX-27", "NX-29", "SQ-20")
@pytest.mark.parametrize("pool_state", ["empty", "holding rows"])
def test_a_pipelined_load_gives_what_a_load_in_process_gives(
    sqlite_city: City,
    started: list[Pipeline],
    from_checker: list[int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    pool_state: str,
) -> None:
    city = sqlite_city
    path = _big_csv(tmp_path / "big.csv")
    piped, local = publish(city, name="人口信息甲"), publish(city, name="人口信息乙")
    if pool_state == "holding rows":  # rows the file updates, and one it leaves alone
        pre = write_csv(
            tmp_path / "pre.csv",
            [HEADER[:2], ["旧名", key(3)], ["旧名", key(12)], ["留下", key(99_999)]],
        )
        _in_process(monkeypatch)
        for resource_id in (piped, local):
            _load(city, resource_id, pre)
        monkeypatch.setattr(pipeline, "MIN_BYTES", 0)

    chunks: list[int] = []
    got = _load(city, piped, path, progress=chunks.append)
    assert len(started) == 1 and not started[0].running() and sum(from_checker) == ROWS
    _in_process(monkeypatch)
    want = _load(city, local, path)
    assert len(started) == 1

    assert _summary(city, piped, got) == _summary(city, local, want)
    b = got.batch
    assert b.rows_rejected > 5 * 3 and b.rows_loaded + b.rows_rejected == ROWS
    assert sum(chunks) == b.rows_loaded and len(chunks) == -(-ROWS // CHUNK)
    assert len(_key_index(city, piped)) == 2  # the key's unique index and the _seq index


@pytest.mark.req("NX-29")
def test_a_file_error_met_by_the_checker_rolls_the_whole_batch_back(
    sqlite_city: City, started: list[Pipeline], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    city = sqlite_city
    resource_id = publish(city)
    # a batch whose only row was rejected leaves an empty pool (with its key index)
    nothing = write_csv(tmp_path / "nothing.csv", [HEADER[:2], ["无效", "1" * 18]])
    assert _load(city, resource_id, nothing).batch.rows_loaded == 0
    assert len(_key_index(city, resource_id)) == 2
    rows = 20 * CHUNK  # past the encoding sample: the checker meets the bad byte
    path = _big_csv(tmp_path / "bad.csv", rows=rows)
    with path.open("ab") as fh:  # GBK bytes after the UTF-8 rows: a bad byte
        fh.write("王五".encode("gbk") + b"," + key(1).encode() + b",1,,,\r\n")
    with pytest.raises(FileRejected) as piped:
        _load(city, resource_id, path)
    assert len(started) == 2 and not started[1].running()
    assert _batches(city, resource_id) == 1
    assert len(_key_index(city, resource_id)) == 2  # the key index dropped for it is back

    _in_process(monkeypatch)
    with pytest.raises(FileRejected) as local:
        _load(city, resource_id, path)
    for attr in ("code", "message_zh", "message_en", "field"):
        assert getattr(piped.value, attr) == getattr(local.value, attr), attr
    assert type(piped.value) is type(local.value)
    assert piped.value.field == f"row {rows + 3}"


@pytest.mark.req("NX-29")
def test_a_failure_in_the_loading_process_ends_the_checker_and_loads_nothing(
    sqlite_city: City, started: list[Pipeline], tmp_path: Path
) -> None:
    city = sqlite_city
    resource_id = publish(city)
    path = _big_csv(tmp_path / "big.csv", rows=40 * CHUNK)  # more than the pipe holds
    calls: list[int] = []

    def progress(n: int) -> None:
        calls.append(n)
        if len(calls) == 2:  # the checker is still at work (the pipe is full)
            assert started[0].running()
            raise RuntimeError("stopped by the test")

    with pytest.raises(RuntimeError, match="stopped by the test"):
        _load(city, resource_id, path, progress=progress)
    assert not started[0].running()
    assert _batches(city, resource_id) == 0
    with city.db.read() as conn:
        pool = active_pool(conn, resource_id)
    assert pool is None  # the pool created by the batch went with it
    b = _load(city, resource_id, path).batch  # and the file loads afterwards
    assert b.rows_loaded + b.rows_rejected == 40 * CHUNK


@pytest.mark.req("NX-29")
def test_a_checker_that_dies_fails_the_load(
    sqlite_city: City, started: list[Pipeline], tmp_path: Path
) -> None:
    city = sqlite_city
    resource_id = publish(city)
    path = _big_csv(tmp_path / "big.csv", rows=40 * CHUNK)  # more than the pipe holds

    def progress(n: int) -> None:
        if started[0].running():
            os.kill(started[0].pid, signal.SIGKILL)

    with pytest.raises(CheckerFailed):
        _load(city, resource_id, path, progress=progress)
    assert _batches(city, resource_id) == 0


@pytest.mark.req("NX-24", "NX-29")
def test_a_gbk_file_loads_through_the_checker(
    sqlite_city: City, started: list[Pipeline], from_checker: list[int], tmp_path: Path
) -> None:
    city = sqlite_city
    resource_id = publish(city)
    b = _load(city, resource_id, DATA / "population_gbk.csv").batch
    assert len(started) == 1 and b.encoding == "gbk" and b.rows_rejected == 0
    assert sum(from_checker) == b.rows_total
    path = _big_csv(tmp_path / "big_gbk.csv", encoding="gbk")
    other = publish(city, name="人口信息（GBK）")
    got = _load(city, other, path)
    assert len(started) == 2 and got.batch.encoding == "gbk"
    assert got.batch.rows_loaded + got.batch.rows_rejected == ROWS


@pytest.mark.req("NX-29")
def test_a_checker_started_for_another_plan_is_not_used(
    sqlite_city: City, from_checker: list[int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The pool or the day changed between the checker's start and the load: the loader
    checks the file itself, with the same result."""
    city = sqlite_city
    path = _big_csv(tmp_path / "big.csv")
    stale: list[Pipeline] = []

    def start_stale(path: Path, plan: CheckPlan, records: Records) -> Pipeline:
        p = Pipeline(path, dataclasses.replace(plan, today=plan.today - timedelta(days=1)), records)
        stale.append(p)
        return p

    monkeypatch.setattr(pipeline, "MIN_BYTES", 0)
    monkeypatch.setattr(pipeline, "start", start_stale)
    got_id = publish(city, name="人口信息甲")
    got = _load(city, got_id, path)
    assert len(stale) == 1 and not stale[0].running() and from_checker == []
    _in_process(monkeypatch)
    want_id = publish(city, name="人口信息乙")
    want = _load(city, want_id, path)
    assert _summary(city, got_id, got) == _summary(city, want_id, want)


@pytest.mark.req("NX-29")
def test_xlsx_and_postgresql_loads_check_in_process(
    city: City, started: list[Pipeline], tmp_path: Path
) -> None:
    resource_id = publish(city)
    b = _load(city, resource_id, DATA / "population.xlsx").batch
    assert b.encoding == "xlsx" and b.rows_loaded > 0 and started == []
    other = publish(city, name="人口信息（大）")
    _load(city, other, _big_csv(tmp_path / "big.csv"))
    postgres = city.db.engine.dialect.name == "postgresql"
    assert len(started) == (0 if postgres else 1)
