"""Upload ingest: encodings, header mapping, validation and quarantine, atomic batches,
idempotent re-upload, lineage and audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from govshare.aggregation import ingest
from govshare.aggregation.model import BatchStatus
from govshare.aggregation.pools import active_pool
from govshare.aggregation.readers import FileRejected
from govshare.audit.queries import AuditFilter, list_entries
from govshare.kernel.errors import Forbidden
from tests.integration.aggregation.conftest import id_card, write_csv
from tests.integration.catalog.conftest import City

HEADER = ["姓名", "公民身份号码", "性别", "出生日期", "手机号码", "月收入"]


@pytest.mark.req("SQ-16", "NX-24", "NX-29", "SQ-25")
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_loads(
    city: City, population: str, tmp_path: Path, encoding: str
) -> None:
    rows = [
        HEADER,
        ["张三", id_card(seq=101), "1", "1990-03-07", "13812345678", "5000.50"],
        ["李四", id_card(seq=102), "2", "1991/01/02", "", ""],
    ]
    if encoding == "gb18030":
        rows.append(["䶮㐀", id_card(seq=103), "9", "19920304", "", "1"])  # outside GBK
    path = write_csv(tmp_path / "p.csv", rows, encoding)
    result = ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog"))
    b = result.batch
    assert not result.duplicate and b.status is BatchStatus.LOADED
    assert b.encoding == encoding and b.rows_loaded == len(rows) - 1 and b.rows_rejected == 0
    with city.db.read() as conn:
        pool = active_pool(conn, population)
        assert pool is not None
        t = pool.table()
        names = {r.name for r in conn.execute(select(t.c.name)).all()}
        audit = {e.action for e in list_entries(conn, AuditFilter(object_id=b.id)).entries}
    assert "张三" in names and "李四" in names
    assert {"collect", "clean"} <= audit


@pytest.mark.req("SQ-16", "NX-27", "HB-17")
def test_bad_rows_are_quarantined_with_reasons_and_good_rows_load(
    city: City, population: str, tmp_path: Path
) -> None:
    good = id_card(seq=201)
    rows = [
        HEADER,
        ["王五", good, "1", "1990-03-07", "13812345678", "1"],
        ["", id_card(seq=202), "1", "", "", ""],  # name required
        ["赵六", good[:17] + ("0" if good[17] != "0" else "1"), "1", "", "", ""],  # check char
        ["孙七", id_card(seq=204), "5", "1990-02-30", "12345", "abc"],
    ]  # 4 errors
    path = write_csv(tmp_path / "p.csv", rows)
    result = ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog"))
    b = result.batch
    assert (b.rows_total, b.rows_loaded, b.rows_rejected) == (4, 1, 3)
    by_row = {r.row_no: {e.field: e.code for e in r.errors} for r in result.rejected}
    assert by_row[3] == {"name": "required"}
    assert by_row[4] == {"id_card": "id_card_check_char"}
    assert by_row[5] == {
        "sex": "code_list",
        "birth_date": "type",
        "mobile": "mobile",
        "income": "type",
    }
    for r in result.rejected:  # no raw identifier in any message
        for e in r.errors:
            assert good[:17] not in e.message_en
    assert 0 < b.quality_score < 100


@pytest.mark.req("HB-17", "NX-29")
def test_same_file_twice_is_a_no_op(city: City, population: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [HEADER, ["张三", id_card(seq=301), "1", "", "", ""]])
    first = ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog"))
    again = ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog"))
    assert again.duplicate and again.batch.id == first.batch.id


def test_unknown_column_and_missing_key_column_are_refused(
    city: City, population: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "a.csv", [["姓名", "公民身份号码", "血型"], ["x", "y", "z"]])
    with pytest.raises(FileRejected) as err:
        ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog"))
    assert "血型" in err.value.message_zh and err.value.field == "column 3"
    path = write_csv(tmp_path / "b.csv", [["姓名"], ["x"]])
    with pytest.raises(FileRejected) as err:
        ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog"))
    assert "公民身份号码" in err.value.message_zh


def test_only_the_provider_loads(city: City, population: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [HEADER, ["张三", id_card(seq=401), "1", "", "", ""]])
    with pytest.raises(Forbidden):
        ingest.ingest_file(city.db, population, path, actor=city.actor("rs_admin"))


@pytest.mark.req("SQ-20", "NX-13")
def test_upsert_by_identifier_and_delete(city: City, population: str) -> None:
    key = id_card(seq=501)
    actor = city.actor("ga_catalog")
    r1 = ingest.push_rows(
        city.db,
        population,
        [{"姓名": "旧名", "公民身份号码": key}],
        [],
        actor=actor,
        idempotency_key="k1",
    )
    r2 = ingest.push_rows(
        city.db,
        population,
        [{"name": "新名", "id_card": key}],
        [],
        actor=actor,
        idempotency_key="k2",
    )
    dup = ingest.push_rows(
        city.db,
        population,
        [{"name": "又一名", "id_card": key}],
        [],
        actor=actor,
        idempotency_key="k2",
    )
    assert dup.duplicate and dup.batch.id == r2.batch.id
    with city.db.read() as conn:
        pool = active_pool(conn, population)
        assert pool is not None
        t = pool.table()
        rows = conn.execute(select(t.c.name, t.c._batch_id, t.c._updated_batch_id)).all()
    assert [(r.name, r._batch_id, r._updated_batch_id) for r in rows] == [
        ("新名", r1.batch.id, r2.batch.id)
    ]
    r3 = ingest.push_rows(city.db, population, [], [key], actor=actor, idempotency_key="k3")
    assert r3.batch.rows_deleted == 1
    with city.db.read() as conn:
        deleted = conn.execute(select(t.c._deleted, t.c._seq)).one()
    assert deleted._deleted is True
