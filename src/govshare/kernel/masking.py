"""The one masking module (脱敏). Every sensitive value shown, logged or audited passes here.

Kinds match the data-item sensitivity kinds of the catalog. ``mask`` keeps just enough
to recognise a value (the way a bank statement shows a card number); ``fingerprint``
gives a keyed-free stable hash for correlating log lines without revealing the value.
Each rule is written once, over a column (``column_rule_for``: a batch export masks a
chunk of rows a column at a time); ``mask`` and ``rule_for`` apply it to one value.
``govshare.delivery.masking.sql_masked`` states the name and keep rules in SQL too (for
exports of PostgreSQL pools), and ``rule_source`` states them as inline Python source
(the compiled CSV row writer of exports): a change to a rule here changes it there, and
the tests that compare them on the same values fail until it does.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
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
# (The lookbehinds follow the character, so that the search can skip to the candidates.)
_DISTRICT_END = re.compile(r"区(?<!自治区)(?<!行政区)(?<![地社小]区)|[县旗]")
# Failing that, a county-level city (县级市) ends at its 市: the last 市 among the first
# two, not the 市 of a street-level word (市场, 超市, 城市).
_CITY_END = re.compile(r"市(?<![超城]市)(?!场)")
ADDRESS_FILL = "****"

# The district is looked for first in an address's first ``DISTRICT_HEAD`` characters, whose
# answer is remembered: a match found there is the match in the whole address (the pattern
# looks only backwards from its character, and nothing before it matched), and the
# addresses of one city share a few hundred such heads (province, city, district, the start
# of the town), so that most addresses cost a slice and a dict look-up instead of a search.
DISTRICT_HEAD = 12
_HEADS_KEPT = 4096  # heads remembered at most (then forgotten all at once and relearnt)


class _DistrictEnds(dict[str, int]):
    """Head -> where the district ends in it, -1 when it holds none (the caller then
    searches the whole address)."""

    def __missing__(self, head: str) -> int:
        found = _DISTRICT_END.search(head)  # (raises for a value that is not text)
        end = -1 if found is None else found.end()
        if len(self) >= _HEADS_KEPT:
            self.clear()
        self[head] = end
        return end


_DISTRICT_ENDS = _DistrictEnds()

# Column rules -----------------------------------------------------------------------------
# Each rule is written once, over a column of values (an export masks a chunk of rows one
# column at a time, with no call per value); the one-value forms below apply the same rule
# to a column of one. A rule takes non-None values; the rules that read a value as text
# (``reads_text``) take them as ``str`` (the one-value forms convert with ``str``).
ColumnRule = Callable[[Sequence[Any]], Sequence[Any]]


def _unchanged_column(values: Sequence[Any]) -> Sequence[Any]:
    return values


def _secret_column(values: Sequence[Any]) -> list[str]:
    return ["******"] * len(values)


def _keep_column(head: int, tail: int) -> ColumnRule:
    """The first ``head`` and last ``tail`` characters, the rest as *; a value no longer
    than ``head + tail`` is all *."""
    shown = head + tail

    def keep(texts: Sequence[str]) -> list[str]:
        lengths = set(map(len, texts))
        if len(lengths) == 1 and (n := lengths.pop()) > shown:
            # one length (ID card, mobile numbers): one fill for the whole column
            fill, cut = "*" * (n - shown), n - tail
            return [f"{s[:head]}{fill}{s[cut:]}" for s in texts]
        return [
            f"{s[:head]}{'*' * (n - shown)}{s[n - tail :]}" if (n := len(s)) > shown else "*" * n
            for s in texts
        ]

    return keep


# first characters of the compound surnames: most names need no two-character look-up
_COMPOUND_FIRST = frozenset(s[0] for s in COMPOUND_SURNAMES)


def _name_column(texts: Sequence[str]) -> list[str]:
    """The surname, a compound surname (复姓) followed by a given name whole, the rest as *;
    a value of one character (or none) is a single *."""
    first, compound = _COMPOUND_FIRST, COMPOUND_SURNAMES
    return [
        (s[:2] if n > 2 and s[0] in first and s[:2] in compound else s[0]).ljust(n, "*")
        if (n := len(s)) > 1
        else "*"
        for s in texts
    ]


def _district_prefixes(texts: Sequence[str]) -> list[str]:
    out = []
    search, ends = _DISTRICT_END.search, _DISTRICT_ENDS
    for s in texts:
        if (end := ends[s[:DISTRICT_HEAD]]) >= 0:
            out.append(s[:end])
            continue
        found = search(s)
        if found is not None:
            out.append(s[: found.end()])
        else:
            cities = [m.end() for m in _CITY_END.finditer(s)][:2]
            out.append(s[: cities[-1]] if cities else "")
    return out


def _address_column(texts: Sequence[str]) -> list[str]:
    return [
        prefix + ADDRESS_FILL if len(prefix) < len(s) else prefix
        for s, prefix in zip(texts, _district_prefixes(texts), strict=True)
    ]


def _email_column(texts: Sequence[str]) -> list[str]:
    out = []
    for s in texts:
        local, at, domain = s.rpartition("@")
        out.append(local[:1] + "***@" + domain if at and local and domain else "***")
    return out


_TEXT_RULES: dict[SensitivityKind, ColumnRule] = {
    SensitivityKind.ID_CARD: _keep_column(6, 4),
    SensitivityKind.NAME: _name_column,
    SensitivityKind.MOBILE: _keep_column(3, 4),
    SensitivityKind.BANK_CARD: _keep_column(6, 4),
    SensitivityKind.ADDRESS: _address_column,
    SensitivityKind.EMAIL: _email_column,
}
_COLUMN_RULES: dict[SensitivityKind, ColumnRule] = {
    **_TEXT_RULES,
    SensitivityKind.NONE: _unchanged_column,
    SensitivityKind.SECRET: _secret_column,
    SensitivityKind.USCC: _unchanged_column,  # a legal person's code is public registration data
}


def column_rule_for(kind: SensitivityKind | str) -> ColumnRule:
    """The rule of ``kind`` over a column of non-None values (as ``str`` when the rule
    ``reads_text``): a sequence of the masked values in the same order (``values`` itself
    when the kind keeps them). An unknown kind raises ValueError."""
    return _COLUMN_RULES[SensitivityKind(kind)]


def reads_text(kind: SensitivityKind | str) -> bool:
    """Whether the rule of ``kind`` reads its values as text (then it takes ``str``)."""
    return SensitivityKind(kind) in _TEXT_RULES


def _one(rule: ColumnRule, *, text: bool) -> Callable[[Any], Any]:
    if text:

        def one_text(value: Any) -> Any:
            return rule((str(value),))[0]

        return one_text

    def one(value: Any) -> Any:
        return rule((value,))[0]

    return one


_RULES: dict[SensitivityKind, Callable[[Any], Any]] = {
    kind: _one(rule, text=kind in _TEXT_RULES) for kind, rule in _COLUMN_RULES.items()
}


def rule_for(kind: SensitivityKind | str) -> Callable[[Any], Any]:
    """The compiled rule of ``kind`` for one value (for callers that mask many values of
    one kind); it takes a non-None value. An unknown kind raises ValueError."""
    return _RULES[SensitivityKind(kind)]


# Inline sources -------------------------------------------------------------------------
# The same rules as Python expressions over one ``str`` held in ``{v}`` (``{n}`` and ``{m}``:
# names the expression may bind), for a writer that compiles a whole row into one
# expression (``govshare.delivery.export_formats.csv_rows``). Each gives exactly the column
# rule's value for a ``str`` and raises (TypeError, AttributeError) for any other type,
# so that its caller can fall back to the column rules; None: the rule has no inline form
# (the values are then unchanged: none, uscc). The names the sources use are in
# ``SOURCE_NAMES``; the tests compare them with the column rules.
_STARS = tuple("*" * n for n in range(256))  # (a longer value raises IndexError)


def _keep_source(head: int, tail: int) -> str:
    shown = head + tail
    return (
        f"({{v}}[:{head}] + _k_stars[{{n}} - {shown}] + {{v}}[-{tail}:]"
        f' if ({{n}} := len({{v}})) > {shown} else "*" * {{n}} + {{v}}[:0])'
    )


def _address_one(s: str) -> str:
    return str(_address_column((s,))[0])


SOURCE_NAMES: dict[str, Any] = {
    "_k_stars": _STARS,
    "_k_first": _COMPOUND_FIRST,
    "_k_compound": COMPOUND_SURNAMES,
    "_k_district": _DISTRICT_END.search,
    "_k_ends": _DISTRICT_ENDS,
    "_k_address": _address_one,
    "_k_email": lambda s: _email_column((s,))[0],
}
_SOURCES: dict[SensitivityKind, str] = {
    SensitivityKind.ID_CARD: _keep_source(6, 4),
    SensitivityKind.MOBILE: _keep_source(3, 4),
    SensitivityKind.BANK_CARD: _keep_source(6, 4),
    # (a value of one character or none: "*", and a str + the empty slice of a bytes raises)
    SensitivityKind.NAME: (
        "(({v}[:2] + _k_stars[{n} - 2] if {v}[0] in _k_first and {n} > 2"
        " and {v}[:2] in _k_compound else {v}[0] + _k_stars[{n} - 1])"
        ' if ({n} := len({v})) > 1 else "*" + {v}[:0])'
    ),
    # the district found (in the remembered head, else in the whole address): the address
    # down to it, then the fill unless nothing follows
    SensitivityKind.ADDRESS: (
        f'(({{v}}[:{{n}}] + "{ADDRESS_FILL}" if {{n}} < len({{v}}) else {{v}})'
        f" if ({{n}} := _k_ends[{{v}}[:{DISTRICT_HEAD}]]) >= 0 else"
        f' ({{v}}[:{{n}}] + "{ADDRESS_FILL}" if ({{n}} := {{m}}.end()) < len({{v}}) else {{v}})'
        " if ({m} := _k_district({v})) is not None else _k_address({v}))"
    ),
    SensitivityKind.EMAIL: "_k_email({v})",
    SensitivityKind.SECRET: '"******"',
}


def rule_source(kind: SensitivityKind | str) -> str | None:
    """The inline source of ``kind``'s rule (see above), None when it keeps values."""
    return _SOURCES.get(SensitivityKind(kind))


# One value --------------------------------------------------------------------------------
def mask_name(s: str) -> str:
    """Keep the surname: 张** / 欧阳*; a one-character value becomes a single *."""
    return str(_name_column((s,))[0])


def address_district_prefix(s: str) -> str:
    """The address down to its district / county (区/县/旗, or a county-level 市);
    "" when no administrative level can be recognised."""
    return _district_prefixes((s,))[0]


def mask_address(s: str) -> str:
    return str(_address_column((s,))[0])


def mask_email(s: str) -> str:
    return str(_email_column((s,))[0])


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
