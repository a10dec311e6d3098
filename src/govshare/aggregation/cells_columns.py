"""Whole-column tests: one pass over a column of raw cells that finds the cells that may fail
their item's check (``cells.checker``) or come out changed, in a few C-level passes (a
regular expression over the joined column, set and list operations) instead of one check
per cell. Every other cell passes its check and the check gives back the cell itself
(text), or the date the cell spells (an ISO date).

A test returns the positions of the cells to check one by one (usually none), or None when
it cannot tell (then every cell is checked one by one). It need not find only bad cells
(the cell check decides, and names the errors), but it must never pass a cell the check
would reject or change. The cells are joined with NUL, which no passed cell holds (the
cell check rejects it; the count of NULs in the joined text is checked).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from datetime import date
from itertools import compress, repeat
from typing import Any

from govshare.aggregation.cells import (
    _ID_CHECK,
    EMAIL,
    EMAIL_NAMES,
    MOBILE,
    MOBILE_NAMES,
    PHONE,
    code_list_values,
)
from govshare.catalog.model import DataItemInput, IdentifierKind, ItemType
from govshare.kernel.identifiers import ID_PROVINCE_PREFIXES

ColumnTest = Callable[[Sequence[Any]], list[int] | None]
SEP = "\x00"

# a cell with no space at either end, no NUL, not empty: what ``str.strip`` leaves as it is
# (``\s`` and ``str.isspace`` are the same Unicode property)
_PLAIN = r"[^\s\x00](?:[^\x00]*[^\s\x00])?"


def _month_day(sep: str) -> str:
    """Month and day of any year (29 February aside), ``sep`` between them."""
    return (
        f"(?:(?:0[13578]|1[02]){sep}(?:0[1-9]|[12][0-9]|3[01])"
        f"|(?:0[469]|11){sep}(?:0[1-9]|[12][0-9]|30)"
        f"|02{sep}(?:0[1-9]|1[0-9]|2[0-8]))"
    )


_LEAP = r"(?:0[48]|[2468][048]|[13579][26])"  # the last two digits of a leap year but 00
_LEAP_DAY = f"(?:[0-9]{{2}}{_LEAP}|{_LEAP}00)-02-29"
# the ISO dates ``date`` accepts: years 0001-9999, days that the month has
ISO_DATE = f"(?:(?!0000)[0-9]{{4}}-{_month_day('-')}|{_LEAP_DAY})"
_BORN = operator.itemgetter(slice(6, 14))
_HEAD, _LAST = operator.itemgetter(slice(0, 17)), operator.itemgetter(17)
# the check character by the base-13 value of the first 17 digits, mod 11
_CHECK_BY_MOD = [_ID_CHECK[2 * r % 11] for r in range(11)]
_WELL_FORMED = "110101190001010000"[:17] + _ID_CHECK[2 * int("11010119000101000", 13) % 11]


def column_test(item: DataItemInput, today: date) -> ColumnTest | None:
    """The item's whole-column test, or None when it has none (its cells are checked one by
    one): text items without an identifier or with a 身份证号, and dates."""
    if item.type is ItemType.DATE:
        return _joined_test(ISO_DATE, None, None)
    if item.type not in (ItemType.STRING, ItemType.CODE):
        return None
    allowed = code_list_values(item.code_list) if item.type is ItemType.CODE else None
    phone_like = item.sensitivity == "mobile" or item.name in MOBILE_NAMES
    email = item.sensitivity == "email" or item.name in EMAIL_NAMES
    if item.identifier is IdentifierKind.ID_CARD:
        if phone_like or email or allowed is not None or (item.length or 18) < 18:
            return None
        return _id_card_test(today)
    if item.identifier is not IdentifierKind.NONE or (phone_like and email):
        return None
    cell = (MOBILE if item.name in MOBILE_NAMES else PHONE) if phone_like else _PLAIN
    return _joined_test(EMAIL if email else cell, item.length, allowed)


def _joined_test(cell: str, length: int | None, allowed: set[str] | None) -> ColumnTest:
    one = re.compile(cell)
    run = re.compile(f"(?:(?:{cell})\\x00)*")  # good cells, each followed by a NUL
    whole = re.compile(f"(?:{cell})(?:\\x00(?:{cell}))*")

    def test(column: Sequence[Any]) -> list[int] | None:
        try:
            joined = SEP.join(column)
        except TypeError:  # an empty (None) or non-text cell
            return None
        if joined.count(SEP) != len(column) - 1:
            return None
        suspects: list[int] = []
        if whole.fullmatch(joined) is None:
            suspects = _scan(joined, run, one)
        if length is not None and max(map(len, column)) > length:
            suspects += [i for i, v in enumerate(column) if len(v) > length]
        if allowed is not None and not allowed.issuperset(column):
            suspects += [i for i, v in enumerate(column) if v not in allowed]
        return suspects

    return test


def _scan(joined: str, run: re.Pattern[str], one: re.Pattern[str]) -> list[int]:
    """The positions of the cells of ``joined`` that ``one`` does not match whole."""
    suspects: list[int] = []
    pos = at = 0
    while True:
        end = run.match(joined, pos).end()  # type: ignore[union-attr]  # it matches ""
        at += joined.count(SEP, pos, end)
        stop = joined.find(SEP, end)
        last = stop < 0
        if one.fullmatch(joined, end, len(joined) if last else stop) is None:
            suspects.append(at)
        if last:
            return suspects
        pos, at = stop + 1, at + 1


def _id_card_test(today: date) -> ColumnTest:
    """GB 11643 for a column, as ``cells._id_card_check`` and ``validate_id_card`` check a
    number: 18 ASCII characters, a province, a county that is not 0000, a birth date from
    1900-01-01 to ``today`` (a calendar date of 1900-2099 in the expression, then the
    latest against ``today``), and the check character of the weighted sum."""
    by_tens: dict[str, list[str]] = {}
    for p in sorted(ID_PROVINCE_PREFIXES):
        by_tens.setdefault(p[0], []).append(p[1])
    area = "(?:" + "|".join(f"{t}[{''.join(u)}]" for t, u in by_tens.items()) + ")"
    born = f"(?:(?:19|20)[0-9]{{2}}{_month_day('')}|(?:19|20){_LEAP}0229|20000229)"
    cell = f"{area}(?!0000)[0-9]{{4}}{born}[0-9]{{3}}[0-9X]"
    one = re.compile(cell)
    run = re.compile(f"(?:{cell}\\x00)*")
    whole = re.compile(f"{cell}(?:\\x00{cell})*")
    last_day = f"{today:%Y%m%d}"

    def test(column: Sequence[Any]) -> list[int] | None:
        try:
            joined = SEP.join(column)
        except TypeError:
            return None
        n = len(column)
        if joined.count(SEP) != n - 1:
            return None
        suspects: list[int] = []
        cells = column
        if whole.fullmatch(joined) is None:
            suspects = _scan(joined, run, one)
            cells = list(column)
            for i in suspects:
                cells[i] = _WELL_FORMED  # so that the passes below can read every cell
        if max(map(_BORN, cells)) > last_day:
            suspects += [i for i, v in enumerate(cells) if v[6:14] > last_day]
        mods = map(operator.mod, map(int, map(_HEAD, cells), repeat(13)), repeat(11))
        checked = list(map(operator.eq, map(_CHECK_BY_MOD.__getitem__, mods), map(_LAST, cells)))
        if not all(checked):
            suspects += compress(range(n), map(operator.not_, checked))
        return suspects

    return test
