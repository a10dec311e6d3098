"""Masking for every delivery path and every UI preview (脱敏).

The rules per sensitivity kind live in ONE place, ``govshare.kernel.masking.mask`` (the
kernel also masks audit details and logs, and must not depend on this package); this
module is the API the data services, exports, feeds and page previews use:

- ``MaskLevel`` per granted item: ``masked`` (the kind's rule), ``raw`` (only when the
  grant says so), ``pseudonym`` (HMAC-SHA256 keyed per consumer department with a secret
  derived from the platform key: stable, so that a consumer can link records, and not
  reversible), ``suppressed`` (null).
- ``compile_plan(items, pseudonym_key=...)`` turns a grant's items into a ``MaskPlan``: one
  precompiled callable per item, so a call masks a row with a dict comprehension.
  ``plan.apply(row)`` returns only the planned items: an item that is not planned never
  leaves (least-necessary fields, NX-12). ``plan.column_maskers()`` gives the same maskers
  over a column of values (a batch export masks a chunk one column at a time, through the
  kernel's column rules: the same rules, with no call per value).
- ``sql_masked(kind, level, column)``: the same masking as a PostgreSQL expression, for the
  rules SQL states exactly (a batch export of a PostgreSQL pool has the server mask those
  columns); None for the rest, which Python masks. With ``every_rule`` the address and
  email rules too (a CSV export the server writes whole, ``COPY … TO``).
- ``preview(value, kind)`` is what a page shows of a sensitive value.
- ``pseudonym_key(keys, consumer_department_id)`` and ``key_ref(keys, value)``: the keyed
  digests used for pseudonyms and for naming a looked-up key in the audit log without
  revealing it (an unkeyed hash of an ID number is brute-forced in seconds).

A value that is not JSON-native (date, datetime, Decimal) leaves as ISO text / a decimal
string, so that masked and raw outputs have one shape.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, String, Text, and_, case, func, literal, null
from sqlalchemy.types import TypeDecorator

from govshare.audit.keys import PlatformKeys
from govshare.delivery.model import GrantedItem, MaskLevel
from govshare.kernel.masking import (
    ADDRESS_FILL,
    COMPOUND_SURNAMES,
    SOURCE_NAMES,
    ColumnRule,
    SensitivityKind,
    column_rule_for,
    mask,
    rule_for,
    rule_source,
)

Masker = Callable[[Any], Any]
ColumnMasker = Callable[[Sequence[Any]], Sequence[Any]]  # values in, as many out, in order
PSEUDONYM_HEX = 24  # 96 bits: collisions are negligible at any realistic pool size


def plain(value: Any) -> Any:
    """A pool value as JSON: dates as ISO text, decimals as exact strings."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


_NONE = type(None)
_TEXT = {str}
_JSON_NATIVE = frozenset({_NONE, str, int, float, bool})
_ISO = frozenset({_NONE, date, datetime})
_DATE = {date}


def plain_column(values: Sequence[Any]) -> Sequence[Any]:
    """``plain`` over a column (``values`` itself when every value is already JSON)."""
    types = set(map(type, values))
    if types <= _JSON_NATIVE:
        return values
    if types == _DATE:
        return list(map(date.isoformat, values))
    if types <= _ISO:
        return [None if v is None else v.isoformat() for v in values]
    return [plain(v) for v in values]


@lru_cache(maxsize=64)
def _secret(keys: PlatformKeys, label: bytes) -> bytes:
    """A 256-bit secret for ``label``, derived from the platform's private key (so that it
    survives restarts and needs no extra setting, and rotates with the key)."""
    from cryptography.hazmat.primitives import serialization

    raw = keys.private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return hmac.new(raw, b"govshare:" + label, hashlib.sha256).digest()


@lru_cache(maxsize=4096)
def pseudonym_key(keys: PlatformKeys, consumer_department_id: str) -> bytes:
    """The HMAC key of one consumer department's pseudonyms: two consumers cannot join
    their pseudonyms, one consumer's pseudonyms stay stable across calls and exports."""
    return hmac.new(
        _secret(keys, b"pseudonym:v1"), consumer_department_id.encode(), hashlib.sha256
    ).digest()


def pseudonymise(key: bytes, value: Any) -> str | None:
    if value is None:
        return None
    text = str(plain(value))
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


@lru_cache(maxsize=64)
def _key_ref_hmac(keys: PlatformKeys) -> hmac.HMAC:
    return hmac.new(_secret(keys, b"key-ref:v1"), digestmod=hashlib.sha256)


def key_ref(keys: PlatformKeys, value: str) -> str:
    """A keyed reference to a looked-up key for audit entries and statistics (every
    data-service call makes one: the HMAC keyed once per platform key, then copied)."""
    mac = _key_ref_hmac(keys).copy()
    mac.update(value.encode("utf-8"))
    return mac.hexdigest()[:32]


def preview(value: Any, kind: SensitivityKind | str) -> Any:
    """What a page shows of a value: the masked form (pages never show raw values)."""
    return plain(mask(value, kind))


def masker(kind: SensitivityKind | str, level: MaskLevel, *, pseudonym: bytes | None) -> Masker:
    """The callable that turns a pool value into what leaves the platform."""
    kind = SensitivityKind(kind)
    if level is MaskLevel.SUPPRESSED:
        return lambda _value: None
    if level is MaskLevel.RAW:
        return plain
    if level is MaskLevel.PSEUDONYM:
        if pseudonym is None:
            raise ValueError("a pseudonym level needs the consumer's pseudonym key")
        key = pseudonym
        return lambda value: pseudonymise(key, value)
    if kind is SensitivityKind.NONE or kind is SensitivityKind.USCC:
        return plain

    rule = rule_for(kind)

    def masked(value: Any) -> Any:
        return None if value is None else rule(plain(value))

    return masked


def _masked_column(rule: ColumnRule) -> ColumnMasker:
    """``rule`` over a column as ``masker`` applies it: None stays None, any other value is
    made ``plain`` and read as text."""

    def masked(values: Sequence[Any]) -> Sequence[Any]:
        if set(map(type, values)) == _TEXT:
            return rule(values)
        out = iter(rule([str(plain(v)) for v in values if v is not None]))
        return [None if v is None else next(out) for v in values]

    return masked


def column_masker(
    kind: SensitivityKind | str, level: MaskLevel, *, pseudonym: bytes | None
) -> ColumnMasker:
    """``masker`` over a column: the same values out, computed a column at a time."""
    kind = SensitivityKind(kind)
    if level is MaskLevel.SUPPRESSED:
        return lambda values: [None] * len(values)
    if level is MaskLevel.RAW:
        return plain_column
    if level is MaskLevel.PSEUDONYM:
        if pseudonym is None:
            raise ValueError("a pseudonym level needs the consumer's pseudonym key")
        key = pseudonym
        return lambda values: [pseudonymise(key, v) for v in values]
    if kind is SensitivityKind.NONE or kind is SensitivityKind.USCC:
        return plain_column
    return _masked_column(column_rule_for(kind))


@lru_cache(maxsize=64)
def _pseudonymiser(key: bytes) -> Masker:
    """``pseudonymise`` with ``key``: one function per key (the items of a plan share it)."""
    return functools.partial(pseudonymise, key)


def text_source(
    kind: SensitivityKind | str, level: MaskLevel, *, pseudonym: bytes | None
) -> tuple[str, dict[str, Any]]:
    """``masker`` inline, as CSV text: a Python expression over one driver value (text,
    integer, real, BLOB or None, as SQLite gives them) held in ``{v}``, whose ``str()`` is
    the text a CSV export writes of the masked value ("" for None); ``{n}`` and ``{m}``
    are names it may bind. A masking rule raises for a value that is not text (the caller
    then masks that chunk with ``column_masker``). With the names the expression uses."""
    kind = SensitivityKind(kind)
    names: dict[str, Any] = {}
    if level is MaskLevel.SUPPRESSED:
        return '""', names
    if level is MaskLevel.PSEUDONYM:
        if pseudonym is None:
            raise ValueError("a pseudonym level needs the consumer's pseudonym key")
        names["_k_pseudonym"] = _pseudonymiser(pseudonym)
        return '("" if {v} is None else _k_pseudonym({v}))', names
    rule = rule_source(kind) if level is MaskLevel.MASKED else None
    if rule is None:  # raw or unmasked: plain, as text (a value SQLite gives is plain)
        return '("" if {v} is None else {v})', names
    names.update(SOURCE_NAMES)
    return f'("" if {{v}} is None else {rule})', names


# In SQL (PostgreSQL) ------------------------------------------------------------------------
# A batch export of a PostgreSQL pool lets the database mask the columns whose rule SQL can
# state exactly and cheaply, so that the server masks while the client writes. Each
# expression gives, for every value of a text column, the very value ``masker`` gives (the
# same text, None for None; PostgreSQL counts characters, as ``len`` counts code points, in
# a UTF-8 database). The address and email rules cost the server more than the client, so
# they are the server's only when it writes the whole export (``every_rule``); pseudonyms
# (a keyed HMAC, whose key must not reach the server) stay in Python.
_STAR = "*"


def _is_text(column: ColumnElement[Any]) -> bool:
    t = column.type
    return isinstance(t, String) and not isinstance(t, TypeDecorator)


def _sql_keep(column: ColumnElement[Any], head: int, tail: int) -> ColumnElement[Any]:
    """``_keep_column``: the first ``head`` and last ``tail`` characters, the rest as *; a
    value no longer than ``head + tail`` is all * (None stays None: the functions are
    strict)."""
    n = func.char_length(column)
    shown = head + tail
    kept = (
        func.left(column, head, type_=Text)
        .concat(func.repeat(_STAR, n - shown, type_=Text))
        .concat(func.right(column, tail, type_=Text))
    )
    return case((n > shown, kept), else_=func.repeat(_STAR, n, type_=Text))


def _sql_name(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``_name_column``: the surname, a compound surname whole, the rest as *; one
    character or none gives a single *."""
    n = func.char_length(column)
    two = func.left(column, 2, type_=Text)
    surname = case(
        (and_(n > 2, two.in_(sorted(COMPOUND_SURNAMES))), two),
        else_=func.left(column, 1, type_=Text),
    )
    return case(
        (column.is_(None), null()),
        (n <= 1, literal(_STAR, Text)),
        else_=func.rpad(surname, n, _STAR, type_=Text),
    )


_SQL_KEEP = {
    SensitivityKind.ID_CARD: (6, 4),
    SensitivityKind.MOBILE: (3, 4),
    SensitivityKind.BANK_CARD: (6, 4),
}


# The address rule (``kernel.masking._DISTRICT_END`` / ``_CITY_END``) in PostgreSQL's regular
# expressions (lookbehinds as in Python's; PostgreSQL 15's ``regexp_instr``). After the
# first district end, the rest (at least one character) is the fill: one regexp_replace
# whose leftmost match starts right after that district end.
_SQL_DISTRICT = "区(?<!自治区)(?<!行政区)(?<![地社小]区)|[县旗]"
_SQL_AFTER_DISTRICT = "(?<=区)(?<!自治区)(?<!行政区)(?<![地社小]区).+|(?<=[县旗]).+"
_SQL_CITY = "市(?<![超城]市)(?!场)"
# What makes a 区 no district end: an address without them (and with one kind of district
# character) ends its district at the first 区 (or 县), found without a regular expression
_NOT_DISTRICT = ("自治区", "行政区", "地区", "社区", "小区")


def _sql_address_regex(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``_address_column`` by regular expressions: the address down to its first district
    end, then the fill unless nothing follows; with no district, down to the second (or
    the first) county-level 市; with neither, the fill alone ("" stays ""). The
    replacement differs from the value only when a district end has something after it
    (or the rest is the fill itself, which gives the same text)."""
    replaced = func.regexp_replace(column, _SQL_AFTER_DISTRICT, ADDRESS_FILL, type_=Text)

    def city_end(occurrence: int) -> ColumnElement[Any]:
        return func.nullif(func.regexp_instr(column, _SQL_CITY, 1, occurrence, 1), 0)

    end = func.coalesce(city_end(2), city_end(1), 1) - 1  # characters kept
    city = case(
        (end < func.char_length(column), func.left(column, end, type_=Text).concat(ADDRESS_FILL)),
        else_=column,
    )
    return func.coalesce(
        func.nullif(replaced, column, type_=Text),
        case((column.regexp_match(_SQL_DISTRICT), column), else_=city),
        type_=Text,
    )


def _sql_address(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``_address_column``. PostgreSQL's regular expressions cost it several times Python's,
    so the usual address (its district ends at its only kind of district character, 区
    with nothing that makes a 区 no district end, or 县) is cut with LIKE and strpos,
    which cost it little; any other address takes ``_sql_address_regex``. (A statement
    compiled for psycopg with its literals written in has each % of a pattern doubled,
    which LIKE reads as one.)"""
    has = column.like
    lacks = column.not_like

    def cut(end: str) -> ColumnElement[Any]:  # down to the first ``end``, then the fill
        return case(
            (
                has(f"%{end}_%"),
                func.left(column, func.strpos(column, end), type_=Text).concat(ADDRESS_FILL),
            ),
            else_=column,
        )

    return case(
        (column.is_(None), null()),
        (and_(has("%县%"), lacks("%区%"), lacks("%旗%")), cut("县")),
        (
            and_(
                has("%区%"),
                lacks("%县%"),
                lacks("%旗%"),
                *[lacks(f"%{word}%") for word in _NOT_DISTRICT],
            ),
            cut("区"),
        ),
        else_=_sql_address_regex(column),
    )


def _sql_email(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``_email_column``: the first character, ``***@`` and the domain after the last @,
    when the @ has something on each side; ``***`` otherwise."""
    from_end = func.strpos(func.reverse(column, type_=Text), "@")  # the last @, from the end
    return case(
        (column.is_(None), null()),
        (
            and_(from_end > 1, from_end < func.char_length(column)),
            func.left(column, 1, type_=Text)
            .concat("***@")
            .concat(func.right(column, from_end - 1, type_=Text)),
        ),
        else_=literal("***", Text),
    )


def sql_masked(
    kind: SensitivityKind | str,
    level: MaskLevel,
    column: ColumnElement[Any],
    *,
    every_rule: bool = False,
) -> ColumnElement[Any] | None:
    """A PostgreSQL expression whose value is ``masker(kind, level)`` of ``column``'s value,
    or None when the masking is left to Python (a raw or unmasked column needs none).
    ``every_rule``: the address and email rules too, which cost the server more than the
    client; for a query the server answers whole (``COPY … TO``), where the client has no
    masking to share."""
    kind = SensitivityKind(kind)
    if level is MaskLevel.SUPPRESSED:
        return null()
    if level is not MaskLevel.MASKED:
        return None
    if kind is SensitivityKind.SECRET:
        return case((column.is_(None), null()), else_=literal("******", Text))
    if not _is_text(column):  # a text rule reads other values as their Python text
        return None
    if kind is SensitivityKind.NAME:
        return _sql_name(column)
    if kind in _SQL_KEEP:
        return _sql_keep(column, *_SQL_KEEP[kind])
    if every_rule and kind is SensitivityKind.ADDRESS:
        return _sql_address(column)
    if every_rule and kind is SensitivityKind.EMAIL:
        return _sql_email(column)
    return None


@dataclass(frozen=True)
class MaskPlan:
    """One precompiled masker per granted item, in the grant's order."""

    steps: tuple[tuple[str, Masker], ...]
    levels: Mapping[str, MaskLevel]
    kinds: Mapping[str, SensitivityKind] = field(default_factory=dict)
    pseudonym_key: bytes | None = field(default=None, repr=False)
    columns: tuple[ColumnMasker, ...] = field(kw_only=True)  # ``column_maskers()``
    level_values: Mapping[str, str] = field(kw_only=True)  # code -> level text

    def apply(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The planned items of ``row``, masked (items not in the plan never appear)."""
        return {code: fn(row.get(code)) for code, fn in self.steps}

    def apply_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``apply`` over many rows, a column at a time (the same values)."""
        if len(rows) <= 1:
            return [self.apply(r) for r in rows]
        codes = self.codes
        masked = [
            fn([r.get(code) for r in rows]) for code, fn in zip(codes, self.columns, strict=True)
        ]
        return [dict(zip(codes, values, strict=True)) for values in zip(*masked, strict=True)]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.steps)

    def text_sources(self) -> list[tuple[str, dict[str, Any]]]:
        """The plan's maskers as inline CSV text sources (``text_source``), in its order."""
        return [
            text_source(self.kinds[code], self.levels[code], pseudonym=self.pseudonym_key)
            for code, _ in self.steps
        ]

    def column_maskers(self) -> list[ColumnMasker]:
        """The plan's maskers over columns, in its order: ``column_maskers()[i](values)``
        is ``[steps[i][1](v) for v in values]`` (compiled with the plan)."""
        return list(self.columns)


def apply_batch(
    batch: Sequence[tuple[MaskPlan, Sequence[Mapping[str, Any]]]],
) -> list[list[dict[str, Any]]]:
    """The rows of several calls, each masked by its plan (``apply``): the rows of the
    calls that share a plan (one grant read, ``delivery.services.batch``) masked together,
    a column at a time. One list per call, in order."""
    groups: dict[int, tuple[MaskPlan, list[int]]] = {}
    for i, (plan, _) in enumerate(batch):
        groups.setdefault(id(plan), (plan, []))[1].append(i)
    out: list[list[dict[str, Any]]] = [[] for _ in batch]
    for plan, calls in groups.values():
        masked = plan.apply_rows([row for i in calls for row in batch[i][1]])
        at = 0
        for i in calls:
            n = len(batch[i][1])
            out[i] = masked[at : at + n]
            at += n
    return out


def compile_plan(items: Iterable[GrantedItem], *, pseudonym_key: bytes | None = None) -> MaskPlan:
    steps: list[tuple[str, Masker]] = []
    levels: dict[str, MaskLevel] = {}
    kinds: dict[str, SensitivityKind] = {}
    for item in items:
        steps.append((item.code, masker(item.sensitivity, item.level, pseudonym=pseudonym_key)))
        levels[item.code] = item.level
        kinds[item.code] = SensitivityKind(item.sensitivity)
    columns = tuple(
        column_masker(kinds[code], levels[code], pseudonym=pseudonym_key) for code, _ in steps
    )
    values = {code: level.value for code, level in levels.items()}
    return MaskPlan(
        tuple(steps), levels, kinds, pseudonym_key, columns=columns, level_values=values
    )


def level_of(text: str | None) -> MaskLevel:
    """A grant item's level; anything unknown fails closed (suppressed)."""
    try:
        return MaskLevel(text or MaskLevel.MASKED.value)
    except ValueError:
        return MaskLevel.SUPPRESSED
