"""A batch export reads each item the cheapest exact way (docs/delivery.md, "How an export
is read"): on PostgreSQL the server masks the items whose rule SQL states exactly and reads
dates as ISO text; on SQLite a stored ISO date is taken as it is. Whatever the way, every
value is the one the per-value maskers give and every byte of the file the one the plain
Python path writes: compared here, on both databases, on values chosen to hit every branch
(NULL, empty, one character, non-ASCII, compound surnames, commas, quotes, line breaks) for
every masking level and sensitivity kind, over every column type a pool has."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    text,
)

from govshare.aggregation.pools import DecimalText
from govshare.delivery import export
from govshare.delivery.export_formats import (
    CsvEncoding,
    CsvWriter,
    OutColumn,
    crlf_csv,
    csv_rows,
    csv_text,
)
from govshare.delivery.masking import MaskPlan, column_masker, compile_plan, text_source
from govshare.delivery.model import GrantedItem, MaskLevel
from govshare.kernel.masking import SensitivityKind
from govshare.platform import Platform
from tests.integration.catalog.conftest import City
from tests.integration.delivery.conftest import ROWS, Delivery
from tests.integration.delivery.files_support import exported, files_delivery

KEY = b"p" * 32
TEXTS: list[Any] = [
    None,
    "",
    "张",
    "张三",
    "欧阳娜娜",
    "欧阳",
    "司马相如x",
    "a",
    "13812345678",
    "321302199003071011",
    "6222021234567890123",
    "江苏省宿迁市宿城区幸福街道人民路18号",
    "广西壮族自治区南宁市青秀区民族大道1号",
    "某某地区某社区小区",
    "某超市城市市场市某市中心",
    "内蒙古某旗",
    "宿迁市",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "cr\rlf\r\n",
    "nana@example.cn",
    "@@x",
    "a@",
    " 前后空格 ",
    "😀表情",
    "\\.",
    "tab\there",
    "NULL",
    # CSV's special characters alone and mixed (the server's CSV must quote as csv.writer)
    '"',
    '""',
    ",",
    "\n",
    "\r",
    " ",
    'a"b,c\nd',
    '"开头',
    '结尾"',
    "\\N",
    # the address rule's short cuts and their edges
    "某县",
    "某区",
    "某县x县y",
    "区",
    "县x",
    "某区某县",
    "小区1号某区2号",
    "某社区",
    "x区\n尾",
    "县,逗号",
    "某旗x区y",
    # GBK has these; not the emoji above, nor 𠀀
    "€·—…",
    "\u00a0不换行",
    "𠀀三",
    "a@b@c",
]
VALUES: dict[str, tuple[Any, list[Any]]] = {  # column type, values
    "string": (String(200), TEXTS),
    "text": (Text(), TEXTS),
    "integer": (BigInteger(), [None, 0, -1, 9223372036854775807, 12345678901234567]),
    "decimal": (DecimalText(), [None, Decimal("0"), Decimal("8000.50"), Decimal("-1.25")]),
    "date": (
        Date(),
        [None, date(1, 1, 1), date(1990, 3, 7), date(2024, 2, 29), date(9999, 12, 31)],
    ),
    "datetime": (
        DateTime(),
        [None, datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 2, 3, 4, 5, 6)],
    ),
    "boolean": (Boolean(), [None, True, False]),
}
ROWS_N = len(TEXTS) + 3  # every text value at least once, the shorter lists wrap around


def _code(kind: str, kind_: SensitivityKind, level: MaskLevel) -> str:
    return f"{kind}_{kind_.value}_{level.value}"


def _items() -> list[GrantedItem]:
    return [
        GrantedItem(_code(t, k, lv), lv, k.value)
        for t in VALUES
        for k in SensitivityKind
        for lv in MaskLevel
    ]


def _pool(
    platform: Platform, name: str = "pool_paths_test", texts: list[Any] | None = None
) -> Table:
    """A pool-shaped table with one column per (type, kind, level), filled with VALUES (the
    text columns with ``texts`` instead of TEXTS when given)."""
    md = MetaData()
    cols: list[Any] = [
        Column("_row_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        Column("_deleted", Boolean, nullable=False),
    ]
    cols += [Column(i.code, VALUES[i.code.split("_", 1)[0]][0]) for i in _items()]
    table = Table(name, md, *cols)
    rows = []
    for r in range(ROWS_N):
        row: dict[str, Any] = {"_row_id": r + 1, "_deleted": r == 5}  # one tombstone
        for i in _items():
            t = i.code.split("_", 1)[0]
            values = texts if texts is not None and t in ("string", "text") else VALUES[t][1]
            row[i.code] = values[r % len(values)]
        rows.append(row)
    with platform.db.transaction() as tx:
        md.create_all(tx.conn)
        tx.conn.execute(insert(table), rows)
    return table


def _reference(platform: Platform, table: Table, plan: MaskPlan) -> list[list[Any]]:
    """The plain Python path: the pool's values as SQLAlchemy reads them, each masked by
    the plan's per-value maskers (as a lookup masks a record), as columns."""
    query = (
        select(*[table.c[c] for c in plan.codes])
        .where(table.c._deleted.is_(False))
        .order_by(table.c._row_id)
    )
    with platform.db.read() as conn:
        rows = [plan.apply(dict(r._mapping)) for r in conn.execute(query)]
    return [[r[c] for r in rows] for c in plan.codes]


def _exported(platform: Platform, table: Table, plan: MaskPlan) -> list[list[Any]]:
    """What the export reads and masks, as columns (chunks joined)."""
    columns: list[list[Any]] = [[] for _ in plan.codes]
    with platform.db.read() as conn:
        wanted, maskers = export._selected(conn, table, plan)
        query = select(*wanted).where(table.c._deleted.is_(False)).order_by(table.c._row_id)
        for _count, chunk in export._column_chunks(conn, query):
            for out, fn, values in zip(columns, maskers, chunk, strict=True):
                out.extend(fn(values))
    return columns


def _csv(columns: Sequence[Sequence[Any]], codes: Sequence[str], path: Path) -> bytes:
    writer = CsvWriter(path, [OutColumn(c, "string") for c in codes], CsvEncoding.UTF8)
    writer.write(columns, len(columns[0]))
    writer.close()
    return path.read_bytes()


def _python_csv(columns: Sequence[Sequence[Any]], codes: Sequence[str]) -> bytes:
    def cell(v: Any) -> str:
        return "" if v is None else ("true" if v else "false") if isinstance(v, bool) else str(v)

    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(codes)
    w.writerows([[cell(v) for v in row] for row in zip(*columns, strict=True)])
    return buf.getvalue().encode("utf-8")


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "CHUNK", 7)  # several chunks, NULLs in some, not in others


@pytest.mark.req("SQ-26")
@pytest.mark.usefixtures("small_chunks")
def test_every_level_kind_and_type_reads_as_the_python_maskers_give(
    platform: Platform, tmp_path: Path
) -> None:
    table = _pool(platform)
    plan = compile_plan(_items(), pseudonym_key=KEY)
    got = _exported(platform, table, plan)
    want = _reference(platform, table, plan)
    for code, g, w in zip(plan.codes, got, want, strict=True):
        assert list(g) == w, code
        assert [type(v) for v in g] == [type(v) for v in w], code
    codes = list(plan.codes)
    assert _csv(got, codes, tmp_path / "a.csv") == _python_csv(want, codes)


def test_postgresql_masks_in_sql_what_sql_states_exactly(platform: Platform) -> None:
    """The path the comparison above covers really is taken: on PostgreSQL the name, card,
    mobile and secret rules and suppression are the server's, dates are read as text; the
    rest (and everything on SQLite) is Python's."""
    table = _pool(platform)
    plan = compile_plan(_items(), pseudonym_key=KEY)
    with platform.db.read() as conn:
        _wanted, maskers = export._selected(conn, table, plan)
        pg = conn.dialect.name == "postgresql"
    in_sql = {c for c, fn in zip(plan.codes, maskers, strict=True) if fn is export._as_is}
    if not pg:
        assert in_sql == set()
        return
    m = MaskLevel.MASKED
    for kind in ("name", "id_card", "mobile", "bank_card"):
        assert _code("string", SensitivityKind(kind), m) in in_sql
        assert _code("integer", SensitivityKind(kind), m) not in in_sql  # read as Python text
    assert _code("date", SensitivityKind.SECRET, m) in in_sql
    assert _code("boolean", SensitivityKind.NONE, MaskLevel.SUPPRESSED) in in_sql
    for kind in ("address", "email", "none", "uscc"):
        assert _code("string", SensitivityKind(kind), m) not in in_sql
    assert _code("string", SensitivityKind.NAME, MaskLevel.PSEUDONYM) not in in_sql


def _date_pool(platform: Platform, name: str, *extra: Column[Any]) -> Table:
    """A pool-shaped table with a date column ``born`` (and ``extra``), created empty."""
    table = Table(
        name,
        MetaData(),
        Column("_row_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        Column("_deleted", Boolean, nullable=False),
        Column("born", Date),
        *extra,
    )
    with platform.db.transaction() as tx:
        table.metadata.create_all(tx.conn)
    return table


def test_a_date_python_cannot_hold_fails_the_export_on_both_paths(platform: Platform) -> None:
    table = _date_pool(platform, "pool_dates_test")
    with platform.db.transaction() as tx:
        bad = "10000-01-01" if tx.conn.dialect.name == "postgresql" else "1990-02-30"
        tx.conn.execute(text(f"INSERT INTO pool_dates_test VALUES (1, false, '{bad}')"))
    plan = compile_plan([GrantedItem("born", MaskLevel.RAW, "none")])
    with pytest.raises(Exception):  # noqa: B017 - the driver's or the parser's error
        _reference(platform, table, plan)
    with pytest.raises(Exception):  # noqa: B017
        _exported(platform, table, plan)


# The real job, both ways ---------------------------------------------------------------------
TRICKY = [
    {
        "name": "司马相如",
        "id_card": None,
        "birth_date": None,
        "mobile": None,
        "address": '宿迁市"幸福",街道\n2号',
        "email": "",
    },
    {"name": "张", "address": "广西壮族自治区南宁市青秀区", "email": "a@b"},
    {"name": "", "address": "某超市城市市场市", "mobile": "138"},
]


@pytest.fixture
def python_only(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Switches the export to the plain Python path: every column read raw and typed by
    SQLAlchemy's result processing, every item masked in Python (never the server's CSV)."""

    def switch() -> None:
        def selected(conn: Any, table: Table, plan: MaskPlan) -> Any:
            return [table.c[c] for c in plan.codes], plan.column_maskers()

        def no_copy(conn: Any, table: Table, plan: MaskPlan) -> None:
            return None

        def reader(column: Any, dialect: Any, dbapi_type: Any) -> Any:
            p = column.type.dialect_impl(dialect).result_processor(dialect, dbapi_type)
            return None if p is None else lambda values: list(map(p, values))

        monkeypatch.setattr(export, "_selected", selected)
        monkeypatch.setattr(export, "_reader", reader)
        monkeypatch.setattr(export, "_copy_selected", no_copy)

    return switch


def _export_bytes(d: Delivery, fmt: str, encoding: str | None) -> bytes:
    job = exported(d, fmt, encoding)
    assert job.state is export.JobState.DONE, (job.error_code, job.error)
    assert job.filename
    return (d.platform.settings.exports_dir / job.filename).read_bytes()


@pytest.mark.req("SQ-18", "SQ-26")
@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize(
    ("fmt", "encoding"),
    [("csv", None), ("csv", "utf-8-bom"), ("csv", "gbk"), ("jsonl", None)],
)
def test_the_job_writes_the_same_bytes_as_the_python_path(
    demo_platform: Any,
    python_only: Callable[[], None],
    compiled_chunks: list[int],
    fmt: str,
    encoding: str | None,
) -> None:
    d = files_delivery(City(demo_platform), rows=[*ROWS, *_with_ids(TRICKY)])
    d.set_grant(
        items={
            "name": "masked",
            "id_card": "masked",
            "birth_date": "raw",
            "mobile": "masked",
            "address": "masked",
            "email": "pseudonym",
        }
    )
    fast = _export_bytes(d, fmt, encoding)
    sqlite = d.platform.db.engine.dialect.name == "sqlite"
    # a CSV of a SQLite pool goes through the compiled row writer (not the chunk to quote)
    assert bool(compiled_chunks) is (sqlite and fmt == "csv")
    python_only()
    compiled_chunks.clear()
    assert _export_bytes(d, fmt, encoding) == fast
    assert not compiled_chunks


def _with_ids(rows: list[dict[str, Any]], start: int = 500) -> Iterator[dict[str, Any]]:
    from tests.integration.aggregation.conftest import id_card

    for n, row in enumerate(rows, start=start):
        yield {**row, "id_card": id_card(seq=n), "birth_date": "2001-02-03" if n % 2 else None}


# The compiled row writer (a CSV of a SQLite pool) ------------------------------------------
@pytest.fixture
def compiled_chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The row counts of the chunks the compiled row writer wrote."""
    written: list[int] = []
    write_text = CsvWriter.write_text

    def spy(self: CsvWriter, text: str, count: int) -> bool:
        done = write_text(self, text, count)
        if done:
            written.append(count)
        return done

    monkeypatch.setattr(CsvWriter, "write_text", spy)
    return written


ODD: list[Any] = [0, -7, 1.5, b"ab", b"x", b"", "x" * 300, "张" * 300, "江苏省" * 100]


@pytest.mark.req("SQ-26")
@pytest.mark.parametrize("level", list(MaskLevel))
@pytest.mark.parametrize("kind", list(SensitivityKind))
def test_each_inline_masker_writes_the_column_maskers_text(
    kind: SensitivityKind, level: MaskLevel
) -> None:
    """Each item's inline source gives the very CSV text of the column masker, or sends the
    chunk to the column path (a value it does not take, a value to quote); values as
    SQLite gives them: text, NULL, integers, reals, BLOBs, long text."""
    rows_text = csv_rows([text_source(kind, level, pseudonym=KEY), ('""', {})])
    assert rows_text is not None
    masked = column_masker(kind, level, pseudonym=KEY)
    for value in [*TEXTS, *ODD]:
        want = csv_text([masked([value]), [None]], 1)
        try:
            got = rows_text([(value, None)])
        except Exception:
            got = None
        if got is not None:
            assert got == want, value
        elif value is None or (isinstance(value, str) and len(value) < 200):
            assert '"' in want, value  # only a value to quote leaves the compiled path
    texts = [v for v in TEXTS if v is None or not any(c in v for c in ',"\r\n')]
    chunk = [(v, None) for v in texts]
    assert rows_text(chunk) == csv_text([masked(texts), [None] * len(texts)], len(texts))


def _inline(item: GrantedItem) -> bool:
    """Whether the compiled row writer takes the item's values in the tests' pool (an
    integer it would mask as text sends every chunk to the column path)."""
    text_rule = item.level is MaskLevel.MASKED and item.sensitivity not in ("none", "uscc")
    return not (item.code.startswith("integer_") and text_rule and item.sensitivity != "secret")


def _written(platform: Platform, table: Table, plan: MaskPlan, path: Path) -> bytes:
    """The CSV (UTF-8 with BOM) the job's chunk loop writes of ``table`` under ``plan``."""
    with platform.db.read() as conn:
        wanted, maskers = export._selected(conn, table, plan)
        query = select(*wanted).where(table.c._deleted.is_(False)).order_by(table.c._row_id)
        columns = [OutColumn(c, "string") for c in plan.codes]
        writer = CsvWriter(path, columns, CsvEncoding.UTF8_BOM)
        try:
            export._write_rows(conn, query, plan, maskers, writer)
        finally:
            writer.close()
    return path.read_bytes()


@pytest.mark.req("SQ-26")
@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("types", [("string", "text", "integer", "date"), tuple(VALUES)])
def test_the_compiled_row_writer_writes_the_python_paths_bytes(
    platform: Platform, tmp_path: Path, compiled_chunks: list[int], types: tuple[str, ...]
) -> None:
    """Every level and kind over the column types SQLite gives as they are (and dates
    stored as ISO text): the compiled row writer takes the chunks it can and the file is
    the plain Python path's, byte for byte; with a column to type (booleans, decimals,
    datetimes) every chunk goes a column at a time."""
    table = _pool(platform)
    items = [i for i in _items() if i.code.split("_", 1)[0] in types and _inline(i)]
    plan = compile_plan(items, pseudonym_key=KEY)
    got = _written(platform, table, plan, tmp_path / "a.csv")
    want = _reference(platform, table, plan)
    assert got == "\ufeff".encode() + _python_csv(want, list(plan.codes))
    sqlite = platform.db.engine.dialect.name == "sqlite"
    assert bool(compiled_chunks) is (sqlite and types != tuple(VALUES))
    # (the chunks holding a value to quote went a column at a time)
    assert sum(compiled_chunks) < ROWS_N - 1


@pytest.mark.usefixtures("small_chunks")
def test_dates_not_stored_as_iso_text_go_a_column_at_a_time(
    platform: Platform, tmp_path: Path, compiled_chunks: list[int]
) -> None:
    table = _date_pool(platform, "pool_dates_text_test", Column("name", String(50)))
    sqlite = platform.db.engine.dialect.name == "sqlite"
    # an ISO week date Python reads (SQLite keeps the text; PostgreSQL has its own forms)
    stored = ["1990-03-07", None, "2024-02-29"] * 3 + ["1990-W10-3" if sqlite else "1990-3-7"]
    with platform.db.transaction() as tx:
        for n, born in enumerate(stored, start=1):
            value = "NULL" if born is None else f"'{born}'"
            tx.conn.execute(
                text(f"INSERT INTO pool_dates_text_test VALUES ({n}, false, {value}, '张三')")
            )
    plan = compile_plan(
        [GrantedItem("born", MaskLevel.RAW, "none"), GrantedItem("name", MaskLevel.MASKED, "name")]
    )
    got = _written(platform, table, plan, tmp_path / "d.csv")
    want = _reference(platform, table, plan)
    assert got == "\ufeff".encode() + _python_csv(want, list(plan.codes))
    assert got.endswith("1990-03-07,张*\r\n".encode())  # read as the dialect reads it
    if sqlite:
        assert compiled_chunks == [7]  # the first chunk; the second holds 1990-W10-3


@pytest.mark.usefixtures("small_chunks")
def test_a_stored_date_that_does_not_exist_fails_the_compiled_path_too(
    platform: Platform, tmp_path: Path, compiled_chunks: list[int]
) -> None:
    if platform.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite keeps a date's text as it was written")
    table = _date_pool(platform, "pool_dates_bad_test", Column("name", String(50)))
    stored = ["1990-03-07"] * 9 + ["1990-02-30"]
    with platform.db.transaction() as tx:
        for n, born in enumerate(stored, start=1):
            tx.conn.execute(
                text(f"INSERT INTO pool_dates_bad_test VALUES ({n}, false, '{born}', '张三')")
            )
    plan = compile_plan(
        [GrantedItem("born", MaskLevel.RAW, "none"), GrantedItem("name", MaskLevel.MASKED, "name")]
    )
    with pytest.raises(ValueError):  # the dialect's reading of the date, as before
        _written(platform, table, plan, tmp_path / "bad.csv")
    assert compiled_chunks == [7]  # the first chunk; the second holds 1990-02-30


# The server's CSV (a PostgreSQL pool: COPY … TO) ------------------------------------------
PLAIN_TYPES = ("string", "text", "integer", "decimal", "date", "boolean")


def _copy_taken(item: GrantedItem) -> bool:
    """Whether the server can write an item's CSV text exactly (an independent statement of
    ``export._copy_selected``'s rules)."""
    t = item.code.split("_", 1)[0]
    kind, level = SensitivityKind(item.sensitivity), item.level
    if level is MaskLevel.SUPPRESSED or (
        level is MaskLevel.MASKED and kind is SensitivityKind.SECRET
    ):
        return True
    if level is MaskLevel.PSEUDONYM:  # a keyed HMAC: Python's
        return False
    if level is MaskLevel.RAW or kind in (SensitivityKind.NONE, SensitivityKind.USCC):
        return t in PLAIN_TYPES  # (not timestamps: the server's text differs)
    return t in ("string", "text")  # a text rule over a number reads its Python text


def _copy_bytes(
    platform: Platform, table: Table, plan: MaskPlan, path: Path, encoding: CsvEncoding
) -> bytes | None:
    """The CSV file the server's path writes of ``table`` under ``plan``; None when it does
    not take the plan."""
    with platform.db.read() as conn:
        wanted = export._copy_selected(conn, table, plan)
        if wanted is None:
            return None
        query = select(*wanted).where(table.c._deleted.is_(False)).order_by(table.c._row_id)
        writer = CsvWriter(path, [OutColumn(c, "string") for c in plan.codes], encoding)
        try:
            rows = export._copy_rows(conn, query, writer)
        finally:
            writer.close()
    assert rows == ROWS_N - 1
    return path.read_bytes()


def _file_bytes(want: list[list[Any]], codes: list[str], encoding: CsvEncoding) -> bytes:
    """The plain Python path's file in ``encoding``."""
    text = _python_csv(want, codes).decode("utf-8")
    if encoding is CsvEncoding.GBK:
        return text.encode("gbk")
    return ("\ufeff" if encoding is CsvEncoding.UTF8_BOM else "").encode() + text.encode()


def _gbk(value: Any) -> bool:
    try:
        str(value).encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.req("SQ-26")
@pytest.mark.parametrize("encoding", list(CsvEncoding))
def test_the_servers_csv_is_the_python_paths_bytes(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: CsvEncoding
) -> None:
    """On PostgreSQL every item whose masking and type SQL states exactly is written by the
    server as CSV, and the file is the plain Python path's, byte for byte: every level,
    kind and type, NULL and empty text, CSV's special characters, non-ASCII, the address
    rule's short cuts, the header, BOM and GBK; flushed a row or so at a time. On SQLite
    (and for any other item) the server's path is never taken."""
    monkeypatch.setattr(export, "_COPY_FLUSH", 40)
    texts = TEXTS if encoding is not CsvEncoding.GBK else [v for v in TEXTS if _gbk(v)]
    table = _pool(platform, texts=texts)
    plain = GrantedItem(_code("string", SensitivityKind.NONE, MaskLevel.RAW), MaskLevel.RAW, "none")
    pg = platform.db.engine.dialect.name == "postgresql"
    taken = []
    for item in _items():
        got = _copy_bytes(
            platform,
            table,
            compile_plan([item, plain], pseudonym_key=KEY),
            tmp_path / "t.csv",
            encoding,
        )
        assert (got is not None) is (pg and _copy_taken(item)), item.code
        if got is not None:
            taken.append(item)
    if not pg:
        return
    plan = compile_plan(taken, pseudonym_key=KEY)
    got = _copy_bytes(platform, table, plan, tmp_path / "a.csv", encoding)
    want = _reference(platform, table, plan)
    assert got == _file_bytes(want, list(plan.codes), encoding)
    # and the chunk path writes the very same file
    assert got == _written_as(platform, table, plan, tmp_path / "b.csv", encoding)


def _written_as(
    platform: Platform, table: Table, plan: MaskPlan, path: Path, encoding: CsvEncoding
) -> bytes:
    with platform.db.read() as conn:
        wanted, maskers = export._selected(conn, table, plan)
        query = select(*wanted).where(table.c._deleted.is_(False)).order_by(table.c._row_id)
        writer = CsvWriter(path, [OutColumn(c, "string") for c in plan.codes], encoding)
        try:
            export._write_rows(conn, query, plan, maskers, writer)
        finally:
            writer.close()
    return path.read_bytes()


def test_the_server_refuses_what_gbk_cannot_encode_and_reads_on(
    platform: Platform, tmp_path: Path
) -> None:
    """A value GBK cannot encode stops the server's path (the chunk path then names the row
    and item), and the transaction reads on."""
    table = _pool(platform)
    item = GrantedItem(_code("string", SensitivityKind.NONE, MaskLevel.RAW), MaskLevel.RAW, "none")
    plan = compile_plan(
        [
            item,
            GrantedItem(
                _code("text", SensitivityKind.NAME, MaskLevel.MASKED), MaskLevel.MASKED, "name"
            ),
        ]
    )
    with platform.db.read() as conn:
        wanted = export._copy_selected(conn, table, plan)
        if wanted is None:
            assert conn.dialect.name == "sqlite"
            return
        query = select(*wanted).where(table.c._deleted.is_(False)).order_by(table.c._row_id)
        writer = CsvWriter(
            tmp_path / "g.csv", [OutColumn(c, "string") for c in plan.codes], CsvEncoding.GBK
        )
        try:
            with pytest.raises(export._NotEncodable):
                export._copy_rows(conn, query, writer)
        finally:
            writer.close()
        assert conn.execute(select(table.c._row_id).limit(1)).scalar() == 1


def _lf_to_crlf(data: bytes) -> tuple[bytes, int]:
    """The reference: a byte at a time, LF outside quotes becomes CRLF."""
    out, rows, inside = bytearray(), 0, False
    for b in data:
        if b == ord('"'):
            inside = not inside
        if b == ord("\n") and not inside:
            out += b"\r"
            rows += 1
        out.append(b)
    return bytes(out), rows


@pytest.mark.parametrize(
    "data",
    [b"", b"a,b\n", b'"x\ny",z\n"a""b",\n', b'q,"\r\n",\n"""",1\n', b'"\n\n"\n\n'],
)
def test_crlf_csv_ends_rows_as_csv_writer_wherever_the_data_is_cut(data: bytes) -> None:
    whole, rows, quoted = crlf_csv(data)
    assert (whole, rows, quoted) == (*_lf_to_crlf(data), False)
    for cut in range(len(data) + 1):
        head, n1, inside = crlf_csv(data[:cut])
        tail, n2, end = crlf_csv(data[cut:], inside)
        assert (head + tail, n1 + n2, end) == (whole, rows, quoted)


# The real job, by the server's CSV ---------------------------------------------------------
SQL_LEVELS = {  # every item masked in SQL or plain: a PostgreSQL pool's CSV is the server's
    "name": "masked",
    "id_card": "masked",
    "birth_date": "raw",
    "mobile": "masked",
    "address": "masked",
    "email": "masked",
}
ADVERSARIAL: list[dict[str, Any]] = [  # (values the pool's validation lets in)
    {"name": " 前后 ", "address": "  江苏省宿迁市宿城区 ", "email": "a@b.cn"},
    {"name": '"引号"', "address": '宿迁市宿城区"幸福",街道\r\n2号', "email": "x.y@z.cn"},
    {"name": "a,b", "address": "", "email": "", "mobile": ""},
    {"name": "王\n五", "address": "某县", "mobile": "13900001111"},
    {"name": "赵六\r", "address": "内蒙古某旗\r", "email": "q@e.cn"},
    {"name": "欧阳", "address": "某县,某区\n"},
]


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The row counts the server's CSV path wrote."""
    written: list[int] = []
    copy_rows = export._copy_rows

    def spy(conn: Any, query: Any, writer: CsvWriter) -> int:
        rows = int(copy_rows(conn, query, writer))
        written.append(rows)
        return rows

    monkeypatch.setattr(export, "_copy_rows", spy)
    return written


@pytest.mark.req("SQ-18", "SQ-26")
@pytest.mark.parametrize("address", ["masked", "raw"])
@pytest.mark.parametrize("encoding", [None, "utf-8-bom", "gbk"])
def test_the_job_by_the_servers_csv_writes_the_python_paths_bytes(
    demo_platform: Any,
    python_only: Callable[[], None],
    copies: list[int],
    encoding: str | None,
    address: str,
) -> None:
    """The whole job (audited, digested, manifest) on a pool of every item the server masks
    (or keeps raw: quotes, commas and line breaks kept), against the plain Python path."""
    rows = [*ROWS, *_with_ids(TRICKY), *_with_ids(ADVERSARIAL, start=600)]
    d = files_delivery(City(demo_platform), rows=rows)
    d.set_grant(items={**SQL_LEVELS, "address": address})
    fast = _export_bytes(d, "csv", encoding)
    job = _last_job(d)
    pg = d.platform.db.engine.dialect.name == "postgresql"
    loaded = len(ROWS) + 1 + len(ADVERSARIAL)  # (the pool refuses two of TRICKY's rows)
    assert copies == ([loaded] if pg else [])
    python_only()
    copies.clear()
    assert _export_bytes(d, "csv", encoding) == fast
    slow = _last_job(d)
    assert not copies
    assert (
        (job.rows, job.size, job.sha256)
        == (slow.rows, slow.size, slow.sha256)
        == (
            loaded,
            len(fast),
            hashlib.sha256(fast).hexdigest(),
        )
    )
    assert job.manifest is not None and job.manifest["rows"] == loaded
    if address == "raw":  # a line break inside a quoted value, a quote doubled
        assert (
            fast.count(b"\r\n") > loaded + 1
            and '"宿迁市宿城区""幸福"",'.encode("gbk" if encoding == "gbk" else "utf-8") in fast
        )


def _last_job(d: Delivery) -> export.ExportJob:
    with d.platform.db.read() as conn:
        return export.jobs_of(conn, d.client.department_id or "", limit=1)[0]


@pytest.mark.req("SQ-18")
def test_gbk_refusal_by_the_servers_csv_names_the_row_and_item_as_the_python_path(
    demo_platform: Any, python_only: Callable[[], None], copies: list[int]
) -> None:
    outside: list[dict[str, Any]] = [dict(ROWS[1], name="𠀀三")]  # outside GBK
    rows = [*ROWS, *_with_ids(outside, start=700)]
    d = files_delivery(City(demo_platform), rows=rows)
    d.set_grant(items=SQL_LEVELS)
    first = _refused(d)
    assert copies == []  # attempted on PostgreSQL, refused: no count returned
    python_only()
    assert _refused(d) == first
    assert not list(d.platform.settings.exports_dir.glob("*.csv"))


def _refused(d: Delivery) -> tuple[str | None, str | None]:
    job = exported(d, "csv", "gbk")
    assert job.state is export.JobState.FAILED
    return job.error_code, job.error


@pytest.mark.parametrize(
    ("levels", "items"),
    [
        ({**SQL_LEVELS, "email": "pseudonym"}, None),  # a keyed HMAC: Python's
        (SQL_LEVELS, ("name",)),  # one item: csv.writer quotes an empty value alone
    ],
)
def test_a_plan_the_server_cannot_write_goes_a_chunk_at_a_time(
    demo_platform: Any,
    copies: list[int],
    levels: dict[str, str],
    items: tuple[str, ...] | None,
) -> None:
    d = files_delivery(City(demo_platform))
    d.set_grant(items=levels)
    job = exported(d, "csv", items=items)
    assert job.state is export.JobState.DONE and job.rows == len(ROWS)
    assert copies == []
