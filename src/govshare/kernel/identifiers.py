"""Identifier checks: 统一社会信用代码 (GB 32100-2015 with the GB 11714 organisation code)
and 公民身份号码 (GB 11643-1999).

Each check failure raises ``ValidationFailed`` whose ``code`` names the check that failed.
Messages never echo the full value, only its length or the failing position.
"""

from __future__ import annotations

from datetime import date

from govshare.kernel.errors import ValidationFailed

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# 登记管理部门码: 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教, 8 工会,
# 9 工商/市场监管, A 中央军委改革和编制办公室, N 农业, Y 其他.
USCC_REGISTRATION_CODES = frozenset("123456789ANY")


def _org_value(ch: str) -> int:
    if ch.isdigit():
        return int(ch)
    return ord(ch) - ord("A") + 10


def org_code_check_digit(body: str) -> str:
    """GB 11714 check digit for the 8-character organisation-code body."""
    total = sum(_org_value(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def _uscc_fail(code: str, zh: str, en: str, field: str) -> ValidationFailed:
    return ValidationFailed(zh, en, code=f"uscc_{code}", field=field)


def validate_uscc(value: str, *, field: str = "uscc") -> str:
    """Return the normalised code or raise, naming the check that failed."""
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise _uscc_fail(
            "length",
            f"统一社会信用代码应为18位，实际为{len(code)}位",
            f"a unified social credit code has 18 characters, got {len(code)}",
            field,
        )
    for pos, ch in enumerate(code, start=1):
        if ch not in USCC_CHARSET:
            raise _uscc_fail(
                "charset",
                f"统一社会信用代码第{pos}位含有不允许的字符（不得使用I、O、S、V、Z）",
                f"character {pos} is not allowed in a unified social credit code "
                "(I, O, S, V and Z are excluded)",
                field,
            )
    if code[0] not in USCC_REGISTRATION_CODES:
        raise _uscc_fail(
            "registration_code",
            "统一社会信用代码第1位（登记管理部门码）无效",
            "character 1 (registration authority code) is not a valid code",
            field,
        )
    if not code[2:8].isdigit():
        raise _uscc_fail(
            "division_code",
            "统一社会信用代码第3至8位（登记管理机关行政区划码）应为6位数字",
            "characters 3-8 (administrative division code) must be six digits",
            field,
        )
    org = code[8:17]
    if not all(c.isdigit() or "A" <= c <= "Z" for c in org[:8]) or (org[8] not in "0123456789X"):
        raise _uscc_fail(
            "org_code_format",
            "统一社会信用代码第9至17位（组织机构代码）格式错误",
            "characters 9-17 (organisation code, GB 11714) are malformed",
            field,
        )
    if org_code_check_digit(org[:8]) != org[8]:
        raise _uscc_fail(
            "org_code_check",
            "统一社会信用代码第17位（组织机构代码校验码，GB 11714）校验失败",
            "character 17, the organisation code check digit (GB 11714), is wrong",
            field,
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise _uscc_fail(
            "check_char",
            "统一社会信用代码第18位（校验码，GB 32100）校验失败",
            "character 18, the check character (GB 32100), is wrong",
            field,
        )
    return code


def make_uscc(registration: str, category: str, division: str, org_body: str) -> str:
    """Build a valid code from its parts (used by the demo city and by tests)."""
    org = org_body + org_code_check_digit(org_body)
    first17 = registration + category + division + org
    return first17 + uscc_check_char(first17)


# 公民身份号码 ---------------------------------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Province-level prefixes of GB/T 2260 (plus 71 Taiwan, 81 Hong Kong, 82 Macao).
ID_PROVINCE_PREFIXES = frozenset(
    {
        *("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36"),
        *("37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62"),
        *("63", "64", "65", "71", "81", "82"),
    }
)


def id_card_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def validate_id_card(value: str, *, field: str = "id_card", today: date | None = None) -> str:
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise ValidationFailed(
            f"身份证号应为18位，实际为{len(code)}位",
            f"an ID card number has 18 characters, got {len(code)}",
            code="id_card_length",
            field=field,
        )
    # ASCII digits only: str.isdigit() also takes "１" or "²", which int() then chokes on
    if not (code[:17].isascii() and code[:17].isdigit()) or code[17] not in "0123456789X":
        raise ValidationFailed(
            "身份证号前17位应为数字，第18位应为数字或X",
            "the first 17 characters must be digits and the last a digit or X",
            code="id_card_format",
            field=field,
        )
    if code[:2] not in ID_PROVINCE_PREFIXES or code[2:6] == "0000":
        raise ValidationFailed(
            "身份证号的地址码不是有效的行政区划代码",
            "the area code is not a plausible administrative division",
            code="id_card_area",
            field=field,
        )
    try:
        born = date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        born = None
    today = today or date.today()
    if born is None or born.year < 1900 or born > today:
        raise ValidationFailed(
            "身份证号的出生日期码不是有效日期",
            "the birth-date part is not a real date",
            code="id_card_birth_date",
            field=field,
        )
    if id_card_check_char(code[:17]) != code[17]:
        raise ValidationFailed(
            "身份证号第18位校验码错误",
            "the check character (position 18) is wrong",
            code="id_card_check_char",
            field=field,
        )
    return code
