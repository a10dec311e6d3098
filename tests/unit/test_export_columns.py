"""Batch exports mask and write a chunk one column at a time (property-based, hypothesis):
the column maskers give exactly what the per-value maskers of the lookup path give, for
every sensitivity kind and level and any mix of values, and the CSV text of a chunk is
byte for byte what ``csv.writer`` writes row by row."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from govshare.delivery.export_formats import csv_text
from govshare.delivery.masking import apply_batch, column_masker, compile_plan, masker
from govshare.delivery.model import GrantedItem, MaskLevel
from govshare.kernel.masking import SensitivityKind

KEY = b"k" * 32
# characters the rules and the CSV quoting look at, so that examples hit every branch
SPECIAL = '自治行政地社小区县旗超城市场省欧阳司马张@,"\r\n *.a1'
TEXT = st.text(alphabet=st.sampled_from(SPECIAL) | st.characters(), max_size=24)
VALUES = st.one_of(
    st.none(),
    TEXT,
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(),
    st.datetimes(timezones=st.sampled_from([None, UTC])),
)
UNIFORM = st.integers(min_value=0, max_value=20).flatmap(  # one length: the fill is shared
    lambda n: st.lists(st.text(alphabet=SPECIAL, min_size=n, max_size=n), max_size=8)
)
MOMENTS = st.lists(  # a date or datetime column, possibly with nulls
    st.one_of(st.none(), st.dates(), st.datetimes(timezones=st.sampled_from([None, UTC]))),
    max_size=8,
)


def _same(got: Any, want: list[Any]) -> None:
    assert list(got) == want
    assert [type(v) for v in got] == [type(v) for v in want]


@given(
    st.sampled_from(list(SensitivityKind)),
    st.sampled_from(list(MaskLevel)),
    st.lists(VALUES, max_size=12) | UNIFORM | MOMENTS | st.lists(st.dates(), max_size=4),
)
def test_a_column_is_masked_as_each_of_its_values(
    kind: SensitivityKind, level: MaskLevel, values: list[Any]
) -> None:
    one = masker(kind, level, pseudonym=KEY)
    _same(column_masker(kind, level, pseudonym=KEY)(values), [one(v) for v in values])
    _same(column_masker(kind, level, pseudonym=KEY)(tuple(values)), [one(v) for v in values])


def test_the_plan_gives_its_column_maskers_in_its_order() -> None:
    items = [
        GrantedItem("name", MaskLevel.MASKED, "name"),
        GrantedItem("id_card", MaskLevel.PSEUDONYM, "id_card"),
        GrantedItem("born", MaskLevel.RAW, "none"),
        GrantedItem("phone", MaskLevel.SUPPRESSED, "mobile"),
    ]
    plan = compile_plan(items, pseudonym_key=KEY)
    rows = [
        {"name": "欧阳修文", "id_card": "321302199003071011", "born": date(1990, 3, 7)},
        {"name": None, "id_card": None, "born": None, "phone": "13812345678"},
    ]
    maskers = zip(plan.column_maskers(), plan.codes, strict=True)
    columns = [fn([r.get(c) for r in rows]) for fn, c in maskers]
    got = [dict(zip(plan.codes, r, strict=True)) for r in zip(*columns, strict=True)]
    assert got == [plan.apply(r) for r in rows]


PLAN_ITEMS = st.lists(
    st.builds(
        GrantedItem,
        st.sampled_from(["name", "id_card", "born", "phone", "address", "note"]),
        st.sampled_from(list(MaskLevel)),
        st.sampled_from([k.value for k in SensitivityKind]),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda i: i.code,
)
ROWS = st.lists(
    st.dictionaries(
        st.sampled_from(["name", "id_card", "born", "phone", "address", "note"]), VALUES
    ),
    max_size=6,
)


@given(st.lists(st.tuples(PLAN_ITEMS, ROWS), min_size=1, max_size=4), st.data())
def test_the_rows_of_a_batch_are_masked_as_each_row_alone(
    calls: list[tuple[list[GrantedItem], list[dict[str, Any]]]], data: st.DataObject
) -> None:
    """A lookup batch masks its calls' rows together, a column at a time, calls of one
    plan (one grant) together (``apply_batch``): each call gets what ``plan.apply`` gives
    its rows alone. Calls share a plan object as the calls of one grant read do."""
    plans = [compile_plan(items, pseudonym_key=KEY) for items, _ in calls]
    shared = [data.draw(st.sampled_from(plans[: i + 1])) for i in range(len(plans))]
    batch = [(plan, rows) for plan, (_, rows) in zip(shared, calls, strict=True)]
    got = apply_batch(batch)
    want = [[plan.apply(r) for r in rows] for plan, rows in batch]
    assert got == want
    for call_got, call_want in zip(got, want, strict=True):
        for g, w in zip(call_got, call_want, strict=True):
            assert [type(v) for v in g.values()] == [type(v) for v in w.values()]
    for plan, rows in batch:
        assert plan.apply_rows(rows) == [plan.apply(r) for r in rows]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


CELLS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from(["", ",", '"', "\r\n"]), TEXT
)


@given(
    st.integers(min_value=0, max_value=5).flatmap(
        lambda width: st.lists(st.lists(CELLS, min_size=width, max_size=width), min_size=1)
    )
)
def test_csv_text_is_what_csv_writer_writes(rows: list[list[Any]]) -> None:
    expected = io.StringIO(newline="")
    writer = csv.writer(expected)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    columns = [[row[i] for row in rows] for i in range(len(rows[0]))]
    assert csv_text(columns, len(rows)) == expected.getvalue()


def test_csv_text_quotes_only_what_needs_it() -> None:
    plain = [["张**", "李*"], ["321302********1011", "x"]]
    assert csv_text(plain, 2) == "张**,321302********1011\r\n李*,x\r\n"
    assert csv_text([["a,b"], [None]], 1) == '"a,b",\r\n'
    assert csv_text([[""]], 1) == '""\r\n'  # a row of one empty field
    assert csv_text([[True], [Decimal("1.50")]], 1) == "true,1.50\r\n"
    assert csv_text([[datetime(2026, 1, 2, 3, 4)], [1]], 1) == "2026-01-02 03:04:00,1\r\n"
