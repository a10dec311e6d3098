"""统一社会信用代码 (GB 32100-2015 + GB 11714) and 公民身份号码 (GB 11643-1999) checks."""

from __future__ import annotations

from datetime import date

import pytest

from govshare.kernel.errors import ValidationFailed
from govshare.kernel.identifiers import (
    id_card_check_char,
    make_uscc,
    org_code_check_digit,
    uscc_check_char,
    validate_id_card,
    validate_uscc,
)

# Real, published codes (public registration data).
KNOWN_GOOD_USCC = ["91350100M000100Y43", "91110000802100433B", "12100000400010398P"]


@pytest.mark.req("SQ-16", "NX-24")
@pytest.mark.parametrize("code", KNOWN_GOOD_USCC)
def test_published_codes_validate(code: str) -> None:
    assert validate_uscc(code.lower()) == code


def test_org_code_check_digit_known_value() -> None:
    # GB 11714 worked example: D2143569 -> check digit X
    assert org_code_check_digit("D2143569") == "X"


@pytest.mark.req("SQ-16")
@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda c: c[:17], "uscc_length"),
        (lambda c: c[:5] + "O" + c[6:], "uscc_charset"),
        (lambda c: "Z" + c[1:], "uscc_charset"),
        (lambda c: "B" + c[1:], "uscc_registration_code"),
        (lambda c: c[:3] + "A" + c[4:], "uscc_division_code"),
    ],
)
def test_each_check_names_itself(mutate, code: str) -> None:  # type: ignore[no-untyped-def]
    good = make_uscc("1", "1", "321300", "01402345")
    with pytest.raises(ValidationFailed) as err:
        validate_uscc(mutate(good))
    assert err.value.code == code
    assert err.value.field == "uscc"


@pytest.mark.req("SQ-16")
def test_org_code_check_digit_failure_is_named() -> None:
    good = make_uscc("1", "1", "321300", "01402345")
    wrong9 = "0" if good[16] != "0" else "1"
    bad = good[:16] + wrong9
    bad = bad + uscc_check_char(bad)  # keep position 18 consistent: only GB 11714 fails
    with pytest.raises(ValidationFailed) as err:
        validate_uscc(bad)
    assert err.value.code == "uscc_org_code_check"
    assert "GB 11714" in err.value.message_en and "组织机构代码" in err.value.message_zh


@pytest.mark.req("SQ-16")
def test_final_check_char_failure_is_named() -> None:
    good = make_uscc("9", "1", "321300", "MA1XYK12")
    other = "0" if good[17] != "0" else "1"
    with pytest.raises(ValidationFailed) as err:
        validate_uscc(good[:17] + other)
    assert err.value.code == "uscc_check_char"


def test_make_uscc_round_trips() -> None:
    for i in range(200):
        code = make_uscc("1", "1", "321300", f"{14000000 + i * 7919:08d}")
        assert validate_uscc(code) == code


def _id(first17: str) -> str:
    return first17 + id_card_check_char(first17)


@pytest.mark.req("SQ-16", "NX-24")
def test_id_card_checks() -> None:
    good = _id("32130219900307123")
    assert validate_id_card(good) == good
    assert validate_id_card(_id("11010519491231002")).endswith(
        id_card_check_char("11010519491231002")
    )
    cases = {
        good[:17]: "id_card_length",
        good[:10] + "A" + good[11:]: "id_card_format",
        _id("99130219900307123"): "id_card_area",
        _id("32130219900230123"): "id_card_birth_date",
        _id("32130230000101123"): "id_card_birth_date",
        good[:17] + ("0" if good[17] != "0" else "1"): "id_card_check_char",
    }
    for value, code in cases.items():
        with pytest.raises(ValidationFailed) as err:
            validate_id_card(value, today=date(2026, 11, 21))
        assert err.value.code == code, value
        assert value not in err.value.message_en  # never echo the raw number
