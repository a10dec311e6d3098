"""The whole-column tests of the load (aggregation.cells_columns) never pass a cell that the
cell check (aggregation.cells) would reject or change: random columns of good and tricky
cells, for every kind of item that has a column test; and a column of good cells passes
whole (the test is not vacuous)."""

from __future__ import annotations

import random
import re
import sys
from datetime import date
from typing import Any

import pytest

from govshare.aggregation import cells
from govshare.aggregation.cells_columns import column_test
from govshare.catalog.model import DataItemInput, IdentifierKind, ItemType
from govshare.kernel.identifiers import id_card_check_char

TODAY = date(2026, 3, 7)


def item(**kw: Any) -> DataItemInput:
    base: dict[str, Any] = {"name": "字段", "code": "f", "type": ItemType.STRING}
    base.update(kw)
    return DataItemInput(**base)


def id_card(head: str) -> str:
    return head + id_card_check_char(head)


def _with_x() -> str:
    """A number whose check character is X."""
    head = next(h for n in range(100) if id_card_check_char(h := f"32130219900307{n:03d}") == "X")
    return head + "X"


GOOD_IDS = [
    id_card("32130219900307123"),
    _with_x(),
    id_card("11010519491231002"),
    id_card("44030620000229001"),  # a leap day
    id_card("65010120260307001"),  # born today
    id_card("82000119000101000"),  # the earliest birth date
]
BAD_IDS = [
    GOOD_IDS[0][:17] + ("0" if GOOD_IDS[0][17] != "0" else "1"),  # check character
    _with_x().lower(),  # the check upper-cases it: a changed cell
    id_card("00130219900307123"),  # no such province
    id_card("32000019900307123"),  # county 0000
    id_card("32130219000229123"),  # 1900 is not a leap year
    id_card("32130218991231123"),  # before 1900
    id_card("32130220260308123"),  # born tomorrow
    id_card("32130219901301123"),  # month 13
    " " + GOOD_IDS[0],
    GOOD_IDS[0] + "\u3000",
    GOOD_IDS[0][:16] + "\uff11" + GOOD_IDS[0][17],  # a full-width digit
    GOOD_IDS[0][:17],
    GOOD_IDS[0] + "1",
    GOOD_IDS[0][:9] + "\x00" + GOOD_IDS[0][10:],
    "",
    None,
    "   ",
]
GOOD_DATES = ["2026-03-07", "2000-02-29", "1900-02-28", "0001-01-01", "9999-12-31", "2024-12-31"]
BAD_DATES = [
    "1900-02-29",
    "2023-02-29",
    "2026-04-31",
    "0000-01-01",
    "2026-3-7",
    "20260307",
    "2026/03/07",
    "2026-13-01",
    " 2026-03-07",
    "2026-03-07\n",
    "２０２６-03-07",
    "",
    None,
]
GOOD_TEXT = ["王小明", "a", "含 空 格", "line\nbreak", "x" * 10, "’quote’", "1"]
BAD_TEXT = [
    "",
    " ",
    None,
    " 王小明",
    "王小明 ",
    "王\u3000",
    "\u2028王",
    "王\x1c",
    "\xa0",
    "王\x00明",
    "x" * 11,
    "\t",
]
GOOD_MOBILES = ["13812345678", "19912345678"]
BAD_MOBILES = ["12812345678", "1381234567", "138123456789", " 13812345678", "１3812345678", ""]
GOOD_PHONES = [*GOOD_MOBILES, "0527-88881234", "02588881234", "025-8888123-12"]
BAD_PHONES = [*BAD_MOBILES[:4], "025-888", "0527-88881234-", "abc"]
GOOD_EMAILS = ["a@b.cn", "x.y+z@mail.example.com"]
BAD_EMAILS = ["a@b", "@b.cn", "a b@c.cn", " a@b.cn", "a@b.c"]

CASES: list[tuple[DataItemInput, list[Any], list[Any]]] = [
    (
        item(code="id", identifier=IdentifierKind.ID_CARD, length=18, required=True),
        GOOD_IDS,
        BAD_IDS,
    ),
    (item(code="id", identifier=IdentifierKind.ID_CARD), GOOD_IDS, BAD_IDS),
    (item(code="d", type=ItemType.DATE), GOOD_DATES, BAD_DATES),
    (item(code="d", type=ItemType.DATE, required=True), GOOD_DATES, BAD_DATES),
    (item(code="s", length=10), GOOD_TEXT, BAD_TEXT),
    (item(code="s", length=10, required=True), GOOD_TEXT, BAD_TEXT),
    (
        item(code="c", type=ItemType.CODE, code_list="1=男;2=女"),
        ["1", "2"],
        ["3", " 1", "", None, "12"],
    ),
    (item(code="m", name="手机号码"), GOOD_MOBILES, [*BAD_MOBILES, "0527-88881234"]),
    (item(code="p", name="联系电话", sensitivity="mobile"), GOOD_PHONES, BAD_PHONES),
    (item(code="e", name="电子邮箱"), GOOD_EMAILS, BAD_EMAILS),
]


def _expected(it: DataItemInput, cell: str) -> Any:
    return date.fromisoformat(cell) if it.type is ItemType.DATE else cell


@pytest.mark.req("NX-27")
@pytest.mark.parametrize(("it", "good", "bad"), CASES, ids=lambda v: getattr(v, "code", ""))
def test_a_column_test_never_passes_a_cell_the_cell_check_rejects_or_changes(
    it: DataItemInput, good: list[Any], bad: list[Any]
) -> None:
    test = column_test(it, TODAY)
    assert test is not None
    check = cells.checker(it, TODAY)
    pick = random.Random(f"columns:{it.code}:{it.required}")
    for _ in range(400):
        column = [
            pick.choice(bad if pick.random() < 0.3 else good) for _ in range(pick.randint(1, 12))
        ]
        suspects = test(column)
        if suspects is None:
            continue
        for i, cell in enumerate(column):
            if i not in suspects:
                assert check(cell) == _expected(it, cell), (it.code, cell)
    # every bad cell alone, and among good ones, is a suspect (or the column is not vouched)
    for cell in bad:
        for column in ([cell], [good[0], cell, good[-1]]):
            suspects = test(column)
            assert suspects is None or column.index(cell) in suspects, (it.code, cell)
    assert test(good) == [] and test(good * 50) == []


def test_items_without_a_column_test_are_checked_cell_by_cell() -> None:
    for it in (
        item(type=ItemType.INTEGER),
        item(type=ItemType.DECIMAL),
        item(type=ItemType.DATETIME),
        item(type=ItemType.BOOLEAN),
        item(identifier=IdentifierKind.USCC),
        item(identifier=IdentifierKind.ID_CARD, length=17),
        item(name="手机号码", sensitivity="email"),
    ):
        assert column_test(it, TODAY) is None, it


def test_the_pattern_white_space_is_the_white_space_that_strip_removes() -> None:
    """The text test relies on ``\\s`` matching exactly what ``str.isspace`` says."""
    space = re.compile(r"\s")
    for n in range(sys.maxunicode + 1):
        ch = chr(n)
        assert (space.fullmatch(ch) is not None) == ch.isspace(), hex(n)
