"""Quarantined rows: the CSV download (UTF-8 with BOM, reasons in Chinese, formula cells
neutralised, provider only, audited) and the fix-and-resubmit path."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from govshare.aggregation import ingest, quarantine
from govshare.aggregation import queries as agg_queries
from govshare.aggregation.readers import IGNORED_HEADERS
from govshare.audit.queries import AuditFilter, list_entries
from govshare.kernel.errors import Conflict, Forbidden
from tests.integration.aggregation.conftest import id_card, write_csv
from tests.integration.catalog.conftest import City

HEADER = ["姓名", "公民身份号码", "性别", "出生日期", "手机号码", "月收入"]


def _bad_batch(city: City, population: str, tmp_path: Path) -> tuple[str, dict[str, str]]:
    keys = {str(n): id_card(seq=n) for n in (601, 602, 603, 604)}
    bad_key = keys["602"][:17] + ("0" if keys["602"][17] != "0" else "1")
    rows = [
        HEADER,
        ["好人", keys["601"], "1", "", "", ""],
        ['=HYPERLINK("http://x")', keys["603"], "5", "", "", "-5"],  # code list
        ["+cmd", bad_key, "1", "", "", ""],  # check char
        ["@SUM(A1)", keys["604"], "1", "", "12345", ""],  # mobile
        ["-2+3", id_card(seq=605), "1", "1990-02-30", "", ""],  # date
    ]
    path = write_csv(tmp_path / "bad.csv", rows)
    result = ingest.ingest_file(city.db, population, path, actor=city.actor("ga_catalog"))
    assert (result.batch.rows_loaded, result.batch.rows_rejected) == (1, 4)
    return result.batch.id, {"bad": bad_key, **keys}


def _download(city: City, batch_id: str, user: str = "ga_catalog") -> bytes:
    out = io.BytesIO()
    quarantine.export_csv(city.db, batch_id, out, actor=city.actor(user))
    return out.getvalue()


@pytest.mark.req("HB-17", "NX-27", "SQ-25")
def test_quarantine_csv_has_bom_reasons_and_neutralised_cells(
    city: City, population: str, tmp_path: Path
) -> None:
    batch_id, keys = _bad_batch(city, population, tmp_path)
    data = _download(city, batch_id)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens it as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["原行号", *HEADER, "错误原因"]
    by_row = {r[0]: r for r in rows[1:]}
    assert set(by_row) == {"3", "4", "5", "6"}
    assert by_row["3"][1] == '\'=HYPERLINK("http://x")'
    assert by_row["3"][6] == "-5"  # a plain number is data, not a formula
    assert by_row["4"][1] == "'+cmd" and by_row["4"][2] == keys["bad"]
    assert by_row["5"][1] == "'@SUM(A1)"
    assert by_row["6"][1] == "'-2+3"
    assert by_row["3"][-1] == "性别：不在代码表中"
    assert "公民身份号码" in by_row["4"][-1] and "手机号码" in by_row["5"][-1]
    assert "出生日期" in by_row["6"][-1]
    with city.db.read() as conn:
        batch = agg_queries.get_batch(conn, batch_id)
        entries = list_entries(conn, AuditFilter(object_id=batch_id)).entries
    # NX-27: the error record names the responsible producer (department and person)
    assert batch.department_id == city.depts["公安局"].id and batch.actor_name == "ga_catalog"
    exports = [e for e in entries if e.action == "export"]
    assert len(exports) == 1 and exports[0].actor_name == "ga_catalog"
    assert keys["bad"] not in exports[0].details  # identifiers never in the audit details


def test_neutralise_rules() -> None:
    for text in ("=1+1", "+1+1", "-1+1", "@A1", "\tx", "\rx", "=cmd|' /C calc'!A0"):
        assert quarantine.neutralise(text) == "'" + text
    for text in ("-5", "+86", "-0.5", "1e3", "张三", "", "a=b"):
        assert quarantine.neutralise(text) == text
    assert {quarantine.ROW_NO_HEADER, quarantine.ERRORS_HEADER} <= IGNORED_HEADERS


def test_only_the_provider_downloads_quarantined_rows(
    city: City, population: str, tmp_path: Path
) -> None:
    batch_id, _ = _bad_batch(city, population, tmp_path)
    for user in ("admin", "rs_admin"):  # the authority sees reasons, never the raw values
        with pytest.raises(Forbidden):
            _download(city, batch_id, user)
    assert _download(city, batch_id, "ga_admin").count(b"\n") == 5


@pytest.mark.req("HB-17", "NX-27")
def test_fixed_file_resubmits_as_downloaded_and_resolves_rows(
    city: City, population: str, tmp_path: Path
) -> None:
    batch_id, _ = _bad_batch(city, population, tmp_path)
    rows = list(csv.reader(io.StringIO(_download(city, batch_id).decode("utf-8-sig"))))
    # fix two of the four rows in place, keep the 原行号 and 错误原因 columns
    by_row = {r[0]: r for r in rows[1:]}
    by_row["3"][3] = "1"  # 性别
    by_row["3"][1] = "王五"
    by_row["5"][5] = "13812345678"  # 手机号码
    by_row["5"][1] = "赵六"
    partial = tmp_path / "fixed.csv"
    with partial.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    done = quarantine.resubmit(city.db, batch_id, partial, actor=city.actor("ga_catalog"))
    second = done.result.batch
    assert (second.rows_loaded, second.rows_rejected) == (2, 2)
    # rows 3 and 5 fixed (their identifiers loaded); 4 and 6 still wrong: carried forward
    assert (done.resolved, done.carried, done.remaining) == (2, 2, 0)
    with city.db.read() as conn:
        audit = {e.action for e in list_entries(conn, AuditFilter(object_id=batch_id)).entries}
        pool = agg_queries.resource_pool(conn, population)
    assert "resolve" in audit
    assert pool.unresolved == 2 and pool.rows == 3  # the open rows are counted once
    assert _download(city, batch_id).decode("utf-8-sig").count("\n") == 1  # header only
    # the provider fixes the second batch's rows: a file with no rejects closes them all
    rows = list(csv.reader(io.StringIO(_download(city, second.id).decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["3", "5"]  # line numbers in the resubmitted file
    rows[1][1:3] = ["孙七", id_card(seq=606)]
    rows[2][1], rows[2][4] = "周八", "1990-02-28"
    fixed = tmp_path / "fixed2.csv"
    with fixed.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    done = quarantine.resubmit(city.db, second.id, fixed, actor=city.actor("ga_catalog"))
    assert done.result.batch.rows_rejected == 0
    assert (done.resolved, done.carried, done.remaining) == (2, 0, 0)
    with city.db.read() as conn:
        pool = agg_queries.resource_pool(conn, population)
    assert pool.unresolved == 0 and pool.quality is not None and pool.quality.validity == 1.0
    assert pool.rows == 5


def test_resubmitting_the_original_file_is_refused(
    city: City, population: str, tmp_path: Path
) -> None:
    batch_id, _ = _bad_batch(city, population, tmp_path)
    with pytest.raises(Conflict) as err:
        quarantine.resubmit(city.db, batch_id, tmp_path / "bad.csv", actor=city.actor("ga_catalog"))
    assert err.value.code == "resubmit_same_file"
    with pytest.raises(Forbidden):
        quarantine.resubmit(city.db, batch_id, tmp_path / "bad.csv", actor=city.actor("rs_admin"))
