"""Cell validation: raw text from a file or an API call → a typed value, or a FieldError.

Checks: required, type, length, code lists, dates, mobile numbers, e-mail addresses, and the
identifiers (身份证号 per GB 11643-1999, 统一社会信用代码 per GB 32100-2015 with GB 11714).
Error messages name the field, never the raw value (it may be sensitive).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from govshare.aggregation.model import FieldError
from govshare.catalog.model import DataItemInput, IdentifierKind, ItemType
from govshare.kernel.errors import ValidationFailed
from govshare.kernel.identifiers import org_code_check_digit, validate_id_card, validate_uscc

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
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


def convert(
    item: DataItemInput, raw: Any, code_values: set[str] | None = None
) -> tuple[Any, FieldError | None]:
    """(typed value, None) or (None, the error)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if item.required or item.identifier is not IdentifierKind.NONE:
            return None, _err(item, "required", "必填项为空", "required value is missing")
        return None, None
    if isinstance(raw, str):
        value: Any = raw.strip()
    else:
        value = raw
    t = item.type
    try:
        if t is ItemType.INTEGER:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                value = int(value)
            return int(str(value).replace(",", "")), None
        if t is ItemType.DECIMAL:
            if isinstance(value, bool):
                raise ValueError
            d = Decimal(str(value).replace(",", ""))
            if not d.is_finite():
                raise ValueError
            return d, None
        if t is ItemType.DATE:
            return _date(value), None
        if t is ItemType.DATETIME:
            return _datetime(value), None
        if t is ItemType.BOOLEAN:
            s = str(value).strip().lower()
            if s in TRUE:
                return True, None
            if s in FALSE:
                return False, None
            raise ValueError
    except (ValueError, InvalidOperation, OverflowError):
        return None, _err(item, "type", f"不是有效的{_TYPE_ZH[t]}", f"not a valid {t.value}")
    s = str(value)
    if "\x00" in s:  # PostgreSQL cannot store it; no real value holds one
        return None, _err(item, "control_char", "含有NUL控制字符", "holds a NUL character")
    if item.length is not None and len(s) > item.length:
        return None, _err(item, "length", f"长度超过{item.length}", f"longer than {item.length}")
    if t is ItemType.CODE:
        allowed = code_values if code_values is not None else code_list_values(item.code_list)
        if allowed is not None and s not in allowed:
            return None, _err(item, "code_list", "不在代码表中", "not in the code list")
    if item.identifier is IdentifierKind.ID_CARD:
        try:
            s = validate_id_card(s, field=item.code)
        except ValidationFailed as exc:
            return None, _err(item, exc.code, exc.message_zh, exc.message_en)
    elif item.identifier is IdentifierKind.USCC:
        try:
            s = validate_uscc(s, field=item.code)
        except ValidationFailed as exc:
            return None, _err(item, exc.code, exc.message_zh, exc.message_en)
    elif item.identifier is IdentifierKind.ORG_CODE:
        s = s.upper()
        if not ORG_CODE_RE.match(s) or org_code_check_digit(s[:8]) != s[-1]:
            return None, _err(
                item,
                "org_code",
                "组织机构代码校验失败（GB 11714）",
                "the organisation code fails the GB 11714 check",
            )
    phone_like = item.sensitivity == "mobile" or item.name in MOBILE_NAMES
    pattern = MOBILE_RE if item.name in MOBILE_NAMES else PHONE_RE
    if phone_like and not pattern.match(s):
        return None, _err(item, "mobile", "手机号码格式不正确", "not a valid phone number")
    if (item.sensitivity == "email" or item.name in EMAIL_NAMES) and not EMAIL_RE.match(s):
        return None, _err(item, "email", "电子邮箱格式不正确", "not a valid e-mail address")
    return s, None


_TYPE_ZH = {
    ItemType.INTEGER: "整数",
    ItemType.DECIMAL: "数值",
    ItemType.DATE: "日期",
    ItemType.DATETIME: "日期时间",
    ItemType.BOOLEAN: "是/否",
    ItemType.STRING: "字符串",
    ItemType.CODE: "代码",
}


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    s = str(value).strip()
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
