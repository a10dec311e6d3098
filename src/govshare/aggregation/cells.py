"""Cell validation: raw text from a file or an API call → a typed value, or a FieldError.

Checks: required, type, length, code lists, dates, mobile numbers, e-mail addresses, and the
identifiers (身份证号 per GB 11643-1999, 统一社会信用代码 per GB 32100-2015 with GB 11714).
Error messages name the field, never the raw value (it may be sensitive).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from govshare.aggregation.model import FieldError
from govshare.catalog.model import DataItemInput, IdentifierKind, ItemType
from govshare.kernel.errors import ValidationFailed
from govshare.kernel.identifiers import (
    ID_PROVINCE_PREFIXES,
    org_code_check_digit,
    validate_id_card,
    validate_uscc,
)

MOBILE = r"1[3-9]\d{9}"
PHONE = r"(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)"
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
MOBILE_RE = re.compile(f"^{MOBILE}$")
PHONE_RE = re.compile(f"^{PHONE}$")
EMAIL_RE = re.compile(f"^{EMAIL}$")
ORG_CODE_RE = re.compile(r"^[0-9A-Z]{8}-?[0-9X]$")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y%m%d%H%M%S",
)
TRUE = {"1", "true", "t", "yes", "y", "是", "真", "√"}
FALSE = {"0", "false", "f", "no", "n", "否", "假", "×"}
# Code lists the platform knows by name; others are given inline as "1=男;2=女".
KNOWN_CODE_LISTS: dict[str, set[str]] = {
    "GB/T 2261.1": {"0", "1", "2", "9"},  # 性别代码
}
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
MOBILE_NAMES = {"手机号码", "移动电话", "手机号", "手机"}
EMAIL_NAMES = {"电子邮箱", "电子邮件", "邮箱"}


def code_list_values(spec: str) -> set[str] | None:
    """The allowed codes of an item's code list, or None when the list is unknown."""
    spec = (spec or "").strip()
    for name, values in KNOWN_CODE_LISTS.items():
        if spec.startswith(name):
            return values
    if "=" in spec:
        return {
            part.split("=", 1)[0].strip() for part in re.split(r"[;；,，]", spec) if "=" in part
        }
    return None


def _err(item: DataItemInput, code: str, zh: str, en: str) -> FieldError:
    return FieldError(item.code, code, f"{item.name}：{zh}", f"{item.code}: {en}")


class CellRejected(Exception):
    """A cell failed its item's checks; ``error`` says which check (never the value)."""

    def __init__(self, error: FieldError) -> None:
        super().__init__(error.code)
        self.error = error


Check = Callable[[Any], Any]  # raw cell -> typed value (None when empty), or CellRejected
Fail = Callable[[FieldError], Any]  # what a check does with a failure: raise, or return BAD


class _Bad:
    __slots__ = ()

    def __repr__(self) -> str:
        return "BAD"


BAD: Any = _Bad()  # what a soft check returns for a bad cell


def _raise(error: FieldError) -> Any:
    raise CellRejected(error)


def convert(
    item: DataItemInput, raw: Any, code_values: set[str] | None = None
) -> tuple[Any, FieldError | None]:
    """(typed value, None) or (None, the error). ``code_values`` is accepted for callers that
    computed it; the item's own code list is what is checked."""
    try:
        return checker(item, date.today())(raw), None
    except CellRejected as exc:
        return None, exc.error


@lru_cache(maxsize=1024)
def checker(item: DataItemInput, today: date) -> Check:
    """The item's cell check, compiled once: every decision that depends only on the item
    (type, length, code list, identifier kind, phone and e-mail rules) is taken here, so
    that a cell pays only for the checks that apply to it. ``today`` bounds 身份证 birth dates.
    A bad cell raises ``CellRejected``, naming the check."""
    return _compile(item, today, _raise)


def soft_checker(item: DataItemInput, today: date, fail: Fail) -> Check:
    """The same check, which hands a bad cell's error to ``fail`` and returns what it
    returns (``BAD``, say) instead of raising: for checking a column of cells at once."""
    return _compile(item, today, fail)


def _compile(item: DataItemInput, today: date, fail: Fail) -> Check:
    required = item.required or item.identifier is not IdentifierKind.NONE
    missing = _err(item, "required", "必填项为空", "required value is missing")
    t = item.type
    if t in _TYPED:
        return _typed_check(item, required, missing, fail)

    nul = _err(item, "control_char", "含有NUL控制字符", "holds a NUL character")
    length = item.length
    too_long = _err(item, "length", f"长度超过{item.length}", f"longer than {item.length}")
    allowed = code_list_values(item.code_list) if t is ItemType.CODE else None
    not_listed = _err(item, "code_list", "不在代码表中", "not in the code list")
    ident = _identifier_check(item, today, fail)
    phone_like = item.sensitivity == "mobile" or item.name in MOBILE_NAMES
    phone = (MOBILE_RE if item.name in MOBILE_NAMES else PHONE_RE).match if phone_like else None
    bad_phone = _err(item, "mobile", "手机号码格式不正确", "not a valid phone number")
    email = EMAIL_RE.match if item.sensitivity == "email" or item.name in EMAIL_NAMES else None
    bad_email = _err(item, "email", "电子邮箱格式不正确", "not a valid e-mail address")

    def check(raw: Any) -> Any:
        if isinstance(raw, str):
            s = raw.strip()
            if not s:
                return fail(missing) if required else None
        elif raw is None:
            return fail(missing) if required else None
        else:
            s = str(raw)
        if "\x00" in s:  # PostgreSQL cannot store it; no real value holds one
            return fail(nul)
        if length is not None and len(s) > length:
            return fail(too_long)
        if allowed is not None and s not in allowed:
            return fail(not_listed)
        if ident is not None:
            s = ident(s)
            if s is BAD:
                return s
        if phone is not None and not phone(s):
            return fail(bad_phone)
        if email is not None and not email(s):
            return fail(bad_email)
        return s

    if (
        item.identifier is IdentifierKind.ID_CARD
        and (length is None or length >= 18)
        and allowed is None
        and phone is None
        and email is None
    ):
        return _id_card_fast(check, today)
    return check


_TYPED = frozenset(
    {ItemType.INTEGER, ItemType.DECIMAL, ItemType.DATE, ItemType.DATETIME, ItemType.BOOLEAN}
)


def _typed_check(item: DataItemInput, required: bool, missing: FieldError, fail: Fail) -> Check:
    t = item.type
    invalid = _err(item, "type", f"不是有效的{_TYPE_ZH[t]}", f"not a valid {t.value}")
    parse = _PARSERS[t]

    def check(raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return fail(missing) if required else None
        try:
            return parse(raw.strip() if isinstance(raw, str) else raw)
        except (ValueError, InvalidOperation, OverflowError):
            return fail(invalid)

    return check


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        value = int(value)
    number = int(str(value).replace(",", ""))
    if not BIGINT_MIN <= number <= BIGINT_MAX:  # the pool column is a BIGINT
        raise ValueError
    return number


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError
    d = Decimal(str(value).replace(",", ""))
    if not d.is_finite():
        raise ValueError
    return d


def _boolean(value: Any) -> bool:
    s = str(value).strip().lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    raise ValueError


def _identifier_check(item: DataItemInput, today: date, fail: Fail) -> Callable[[str], Any] | None:
    kind = item.identifier
    if kind is IdentifierKind.ID_CARD:
        return _id_card_check(item, today, fail)
    if kind is IdentifierKind.USCC:

        def uscc(s: str) -> Any:
            try:
                return validate_uscc(s, field=item.code)
            except ValidationFailed as exc:
                return fail(_err(item, exc.code, exc.message_zh, exc.message_en))

        return uscc
    if kind is IdentifierKind.ORG_CODE:
        bad = _err(
            item,
            "org_code",
            "组织机构代码校验失败（GB 11714）",
            "the organisation code fails the GB 11714 check",
        )

        def org_code(s: str) -> Any:
            s = s.upper()
            if not ORG_CODE_RE.match(s) or org_code_check_digit(s[:8]) != s[-1]:
                return fail(bad)
            return s

        return org_code
    return None


def _id_card_check(item: DataItemInput, today: date, fail: Fail) -> Callable[[str], Any]:
    """GB 11643 in a few C-level steps for a valid number; anything that fails them goes
    through ``validate_id_card``, which names the check that failed."""
    born_ok = _birth_dates(today)

    def id_card(s: str) -> Any:
        c = s.upper()
        head = c[:17]
        if (
            len(c) == 18
            and head.isascii()
            and head.isdigit()
            and c[:2] in ID_PROVINCE_PREFIXES
            and c[2:6] != "0000"
            and c[6:14] in born_ok
            and id_card_check_char_fast(head) == c[17]
        ):
            return c
        try:
            return validate_id_card(s, field=item.code, today=today)
        except ValidationFailed as exc:
            return fail(_err(item, exc.code, exc.message_zh, exc.message_en))

    return id_card


def _id_card_fast(check: Check, today: date) -> Check:
    """``check`` of a 身份证号 item with no other rule: a well-formed number (18 characters,
    no space, an upper-case X if any) passes in a few steps, with the result ``check``
    would give; anything else goes through ``check``."""
    born_ok = _birth_dates(today)
    prefixes = ID_PROVINCE_PREFIXES

    def fast(raw: Any) -> Any:
        if raw.__class__ is str and len(raw) == 18:
            head = raw[:17]
            if (
                head.isascii()
                and head.isdigit()
                and raw[:2] in prefixes
                and raw[2:6] != "0000"
                and raw[6:14] in born_ok
                and _ID_CHECK[2 * int(head, 13) % 11] == raw[17]
            ):
                return raw
        return check(raw)

    return fast


_ID_CHECK = "10X98765432"


def id_card_check_char_fast(first17: str) -> str:
    """GB 11643's check character for 17 ASCII digits. The weights are 2**(17-i) mod 11, so
    the weighted sum is 2 * (the digits read in base 13, since 13 = 2 mod 11), mod 11: one
    ``int(…, 13)`` instead of 17 multiplications. The caller has checked the digits."""
    return _ID_CHECK[2 * int(first17, 13) % 11]


@lru_cache(maxsize=2)
def _birth_dates(today: date) -> frozenset[str]:
    """Every YYYYMMDD from 1900-01-01 to ``today``: the birth dates a 身份证号 may carry."""
    days = {
        leap: [
            f"{m:02d}{d:02d}"
            for m in range(1, 13)
            for d in range(1, calendar.monthrange(2000 if leap else 1999, m)[1] + 1)
        ]
        for leap in (False, True)
    }
    last = f"{today.year:04d}{today.month:02d}{today.day:02d}"
    out = [str(y) + md for y in range(1900, today.year + 1) for md in days[calendar.isleap(y)]]
    return frozenset(d for d in out if d <= last)


_TYPE_ZH = {
    ItemType.INTEGER: "整数",
    ItemType.DECIMAL: "数值",
    ItemType.DATE: "日期",
    ItemType.DATETIME: "日期时间",
    ItemType.BOOLEAN: "是/否",
    ItemType.STRING: "字符串",
    ItemType.CODE: "代码",
}


_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    s = str(value).strip()
    if m := _ISO_DATE.fullmatch(s):  # what "%Y-%m-%d" accepts with two-digit parts
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass  # not a calendar date: the formats below refuse it as well
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise ValueError(s)


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    s = str(value).strip()
    for fmt in DATETIME_FORMATS:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    return datetime.combine(_date(s), datetime.min.time())


_PARSERS: dict[ItemType, Callable[[Any], Any]] = {
    ItemType.INTEGER: _integer,
    ItemType.DECIMAL: _decimal,
    ItemType.DATE: _date,
    ItemType.DATETIME: _datetime,
    ItemType.BOOLEAN: _boolean,
}
