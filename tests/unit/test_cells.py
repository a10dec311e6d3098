"""Every cell validation rule of the ingest path (type, required, length, code lists, dates,
mobile numbers, e-mail addresses, 身份证号, 统一社会信用代码, organisation codes)."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from govshare.aggregation.cells import convert, id_card_check_char_fast
from govshare.catalog.model import DataItemInput, IdentifierKind, ItemType
from govshare.kernel.errors import ValidationFailed
from govshare.kernel.identifiers import (
    id_card_check_char,
    make_uscc,
    org_code_check_digit,
    validate_id_card,
)


def item(**kw: Any) -> DataItemInput:
    base: dict[str, Any] = {"name": "字段", "code": "f", "type": ItemType.STRING}
    base.update(kw)
    return DataItemInput(**base)


ID = "32130219900307123" + id_card_check_char("32130219900307123")
USCC = make_uscc("9", "1", "321300", "MA1XYK12")
ORG = "MA1XYK12" + org_code_check_digit("MA1XYK12")

GOOD: list[tuple[DataItemInput, Any, Any]] = [
    (item(type=ItemType.INTEGER), "1,234", 1234),
    (item(type=ItemType.INTEGER), 7.0, 7),
    (item(type=ItemType.DECIMAL), "5000.50", Decimal("5000.50")),
    (item(type=ItemType.DATE), "2026年3月7日", date(2026, 3, 7)),
    (item(type=ItemType.DATE), "20260307", date(2026, 3, 7)),
    (item(type=ItemType.DATE), "2026-3-7", date(2026, 3, 7)),
    (item(type=ItemType.DATE), " 2024-02-29 ", date(2024, 2, 29)),
    (item(type=ItemType.DATETIME), "2026-03-07 08:30:00", datetime(2026, 3, 7, 8, 30)),
    (item(type=ItemType.BOOLEAN), "是", True),
    (item(type=ItemType.BOOLEAN), "N", False),
    (item(type=ItemType.CODE, code_list="1=男;2=女"), "2", "2"),
    (item(type=ItemType.CODE, code_list="GB/T 2261.1-2003"), "9", "9"),
    (item(length=4), "宿迁市局", "宿迁市局"),
    (item(identifier=IdentifierKind.ID_CARD), ID.lower(), ID),
    (item(identifier=IdentifierKind.USCC), USCC, USCC),
    (item(identifier=IdentifierKind.ORG_CODE), ORG, ORG),
    (item(name="手机号码"), "13812345678", "13812345678"),
    (item(sensitivity="mobile"), "0527-84361234", "0527-84361234"),
    (item(name="电子邮箱"), "a.b@sq.gov.cn", "a.b@sq.gov.cn"),
    (item(), "  ", None),
]

BAD: list[tuple[DataItemInput, Any, str]] = [
    (item(required=True), "", "required"),
    (item(identifier=IdentifierKind.ID_CARD), None, "required"),
    (item(type=ItemType.INTEGER), "1.5", "type"),
    (item(type=ItemType.INTEGER), True, "type"),
    (item(type=ItemType.INTEGER), str(2**63), "type"),  # beyond the pool's BIGINT
    (item(type=ItemType.DECIMAL), "NaN", "type"),
    (item(type=ItemType.DATE), "2026-02-30", "type"),
    (item(type=ItemType.DATE), "2026-13-01", "type"),
    (item(type=ItemType.DATETIME), "昨天", "type"),
    (item(type=ItemType.BOOLEAN), "也许", "type"),
    (item(length=3), "宿迁市局", "length"),
    (item(type=ItemType.CODE, code_list="1=男;2=女"), "3", "code_list"),
    (
        item(identifier=IdentifierKind.ID_CARD),
        ID[:17] + ("0" if ID[17] != "0" else "1"),
        "id_card_check_char",
    ),
    (item(identifier=IdentifierKind.ID_CARD), "991302199003071234", "id_card_area"),
    (item(identifier=IdentifierKind.ID_CARD), "3213021990030712_4", "id_card_format"),
    (item(identifier=IdentifierKind.ID_CARD), "321302１9900307123X", "id_card_format"),
    (item(identifier=IdentifierKind.ID_CARD), "321302" + "18991231" + "1234", "id_card_birth_date"),
    (item(identifier=IdentifierKind.ID_CARD), "321302" + "20230229" + "1234", "id_card_birth_date"),
    (
        item(identifier=IdentifierKind.USCC),
        USCC[:17] + ("0" if USCC[17] != "0" else "1"),
        "uscc_check_char",
    ),
    (
        item(identifier=IdentifierKind.ORG_CODE),
        ORG[:8] + ("0" if ORG[8] != "0" else "1"),
        "org_code",
    ),
    (item(name="手机号码"), "0527-84361234", "mobile"),
    (item(sensitivity="mobile"), "12345", "mobile"),
    (item(name="电子邮箱"), "not-an-address", "email"),
]


@pytest.mark.req("SQ-16", "NX-24", "HB-17")
@pytest.mark.parametrize(("spec", "raw", "expected"), GOOD)
def test_valid_cells_convert(spec: DataItemInput, raw: Any, expected: Any) -> None:
    value, err = convert(spec, raw)
    assert err is None and value == expected


@pytest.mark.req("SQ-16", "NX-24", "HB-17", "NX-27")
@pytest.mark.parametrize(("spec", "raw", "code"), BAD)
def test_invalid_cells_name_the_field_and_never_the_value(
    spec: DataItemInput, raw: Any, code: str
) -> None:
    value, err = convert(spec, raw)
    assert value is None and err is not None
    assert err.code == code and err.field == spec.code
    if isinstance(raw, str) and len(raw) > 6:
        assert raw not in err.message_en and raw not in err.message_zh


@pytest.mark.req("NX-24")
def test_the_fast_id_card_check_character_is_gb_11643s() -> None:
    """The base-13 shortcut gives the weighted-sum check character for every digit pattern
    (each position's digit run through 0-9 on a random background)."""
    rng = random.Random(11643)
    for _ in range(2000):
        body = [rng.choice("0123456789") for _ in range(17)]
        for pos in range(17):
            for digit in "0123456789":
                first17 = "".join([*body[:pos], digit, *body[pos + 1 :]])
                assert id_card_check_char_fast(first17) == id_card_check_char(first17)


@pytest.mark.req("NX-24")
def test_the_id_card_cell_check_agrees_with_validate_id_card() -> None:
    """Valid numbers pass the compiled check's fast path unchanged (upper-cased), and every
    number that validate_id_card refuses is refused with the same error code."""
    rng = random.Random(2)
    spec = item(identifier=IdentifierKind.ID_CARD)
    for _ in range(5000):
        area = rng.choice(["321302", "110101", "990101", "320000", "000000"])
        born = f"{rng.randrange(1890, 2040)}{rng.randrange(0, 14):02d}{rng.randrange(0, 32):02d}"
        first17 = f"{area}{born}{rng.randrange(1000):03d}"
        check = id_card_check_char(first17)
        raw = first17 + (check if rng.random() < 0.7 else rng.choice("0123456789Xx"))
        if rng.random() < 0.2:
            raw = raw.lower()
        try:
            want: tuple[Any, Any] = (validate_id_card(raw), None)
        except ValidationFailed as exc:
            want = (None, exc.code)
        value, err = convert(spec, raw)
        assert (value, err.code if err else None) == want, raw
