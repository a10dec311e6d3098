"""Every cell validation rule of the ingest path (type, required, length, code lists, dates,
mobile numbers, e-mail addresses, 身份证号, 统一社会信用代码, organisation codes)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from govshare.aggregation.cells import convert
from govshare.catalog.model import DataItemInput, IdentifierKind, ItemType
from govshare.kernel.identifiers import id_card_check_char, make_uscc, org_code_check_digit


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
    (item(type=ItemType.DECIMAL), "NaN", "type"),
    (item(type=ItemType.DATE), "2026-02-30", "type"),
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
