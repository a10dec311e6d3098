"""The one masking module (脱敏). Every sensitive value shown, logged or audited passes here.

Kinds match the data-item sensitivity kinds of the catalog. ``mask`` keeps just enough
to recognise a value (the way a bank statement shows a card number); ``fingerprint``
gives a keyed-free stable hash for correlating log lines without revealing the value.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any


class SensitivityKind(StrEnum):
    NONE = "none"
    ID_CARD = "id_card"
    NAME = "name"
    MOBILE = "mobile"
    BANK_CARD = "bank_card"
    ADDRESS = "address"
    EMAIL = "email"
    USCC = "uscc"
    SECRET = "secret"  # noqa: S105 - a kind, not a secret


def _keep(value: str, head: int, tail: int, fill: str = "*") -> str:
    if len(value) <= head + tail:
        return fill * len(value)
    return value[:head] + fill * (len(value) - head - tail) + (value[-tail:] if tail else "")


# 复姓: compound surnames kept whole when a name is masked (the common ones).
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "司空",
        "夏侯",
        "轩辕",
        "令狐",
        "钟离",
        "澹台",
        "公冶",
        "太史",
        "申屠",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "百里",
        "呼延",
        "万俟",
        "闻人",
        "赫连",
        "拓跋",
        "濮阳",
        "淳于",
        "单于",
        "左丘",
        "东郭",
        "第五",
        "仲孙",
        "鲜于",
        "闾丘",
        "亓官",
        "司寇",
        "子车",
        "颛孙",
        "壤驷",
        "公良",
        "漆雕",
        "乐正",
        "宰父",
        "谷梁",
        "微生",
        "羊舌",
        "梁丘",
        "公西",
        "巫马",
        "南门",
        "东门",
        "叱干",
        "段干",
    }
)

# Where the district-level part of an address ends: the first 区 (not 自治区, 特别行政区,
# 地区 at the province / prefecture level, nor 社区 / 小区 below the district), 县 or 旗.
_DISTRICT_END = re.compile(r"(?<!自治)(?<!行政)(?<![地社小])区|县|旗")
# Failing that, a county-level city (县级市) ends at its 市: the last 市 among the first
# two, not the 市 of a street-level word (市场, 超市, 城市).
_CITY_END = re.compile(r"(?<![超城])市(?!场)")
ADDRESS_FILL = "****"


def surname_length(name: str) -> int:
    """1, or 2 for a compound surname (复姓) followed by a given name."""
    return 2 if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else 1


def mask_name(s: str) -> str:
    """Keep the surname: 张** / 欧阳*; a one-character value becomes a single *."""
    if len(s) <= 1:
        return "*"
    keep = surname_length(s)
    return s[:keep] + "*" * (len(s) - keep)


def address_district_prefix(s: str) -> str:
    """The address down to its district / county (区/县/旗, or a county-level 市);
    "" when no administrative level can be recognised."""
    found = _DISTRICT_END.search(s)
    if found is not None:
        return s[: found.end()]
    cities = [m.end() for m in _CITY_END.finditer(s)][:2]
    return s[: cities[-1]] if cities else ""


def mask_address(s: str) -> str:
    prefix = address_district_prefix(s)
    return prefix + (ADDRESS_FILL if len(prefix) < len(s) else "")


def mask_email(s: str) -> str:
    local, at, domain = s.rpartition("@")
    if not at or not local or not domain:
        return "***"
    return local[:1] + "***@" + domain


def mask(value: Any, kind: SensitivityKind | str) -> Any:
    """The masked form of ``value`` under its sensitivity kind (the one implementation of
    the rules; ``govshare.delivery.masking`` builds the per-grant levels on top of it):

    - id_card: first 6 and last 4 (110105********1234);
    - name: the surname, compound surnames (欧阳, 司马, ...) whole (张**);
    - mobile: first 3 and last 4 (138****5678);
    - bank_card: first 6 and last 4;
    - address: down to the district / county (江苏省宿迁市宿城区****);
    - email: first character and the domain (z***@example.cn);
    - secret: nothing; uscc and none: unchanged (public registration data / not sensitive).
    """
    if value is None:
        return None
    return rule_for(kind)(value)


def _unchanged(value: Any) -> Any:
    return value


def _keeper(head: int, tail: int) -> Callable[[Any], str]:
    def keep(value: Any) -> str:
        return _keep(str(value), head, tail)

    return keep


_RULES: dict[SensitivityKind, Callable[[Any], Any]] = {
    SensitivityKind.NONE: _unchanged,
    SensitivityKind.SECRET: lambda _value: "******",
    SensitivityKind.ID_CARD: _keeper(6, 4),
    SensitivityKind.NAME: lambda v: mask_name(str(v)),
    SensitivityKind.MOBILE: _keeper(3, 4),
    SensitivityKind.BANK_CARD: _keeper(6, 4),
    SensitivityKind.ADDRESS: lambda v: mask_address(str(v)),
    SensitivityKind.EMAIL: lambda v: mask_email(str(v)),
    SensitivityKind.USCC: _unchanged,  # a legal person's code is public registration data
}


def rule_for(kind: SensitivityKind | str) -> Callable[[Any], Any]:
    """The compiled rule of ``kind`` (for callers that mask many values of one kind); it
    takes a non-None value. An unknown kind raises ValueError."""
    return _RULES[SensitivityKind(kind)]


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


# Detail keys that are never recorded verbatim, whatever the caller passes.
_SECRET_KEYS = {"password", "secret", "client_secret", "token", "access_token", "password_hash"}
_KEY_KINDS: dict[str, SensitivityKind] = {
    "id_card": SensitivityKind.ID_CARD,
    "id_number": SensitivityKind.ID_CARD,
    "mobile": SensitivityKind.MOBILE,
    "phone": SensitivityKind.MOBILE,
    "contact_phone": SensitivityKind.MOBILE,
    "bank_card": SensitivityKind.BANK_CARD,
    "email": SensitivityKind.EMAIL,
    "contact_email": SensitivityKind.EMAIL,
    "address": SensitivityKind.ADDRESS,
}


def mask_details(details: dict[str, Any]) -> dict[str, Any]:
    """Mask a details mapping for audit entries and logs (recursively)."""
    out: dict[str, Any] = {}
    for key, value in details.items():
        if key in _SECRET_KEYS:
            out[key] = "******"
        elif isinstance(value, dict):
            out[key] = mask_details(value)
        elif key in _KEY_KINDS and value not in (None, ""):
            out[key] = mask(value, _KEY_KINDS[key])
        else:
            out[key] = value
    return out
