"""Data-element standards (数据元标准, YX-16) that data items are checked against.

A data item whose normalised name matches a standard element must use its type, and a
length no larger than the standard's. The table holds the national elements that
government catalogs use most; an authority can extend the list in code review.
"""

from __future__ import annotations

from dataclasses import dataclass

from govshare.catalog.model import IdentifierKind, ItemType


@dataclass(frozen=True)
class DataElement:
    name: str
    type: ItemType
    max_length: int | None
    standard: str
    identifier: IdentifierKind = IdentifierKind.NONE


ELEMENTS = [
    DataElement("公民身份号码", ItemType.STRING, 18, "GB 11643-1999", IdentifierKind.ID_CARD),
    DataElement("身份证号", ItemType.STRING, 18, "GB 11643-1999", IdentifierKind.ID_CARD),
    DataElement("身份证号码", ItemType.STRING, 18, "GB 11643-1999", IdentifierKind.ID_CARD),
    DataElement("统一社会信用代码", ItemType.STRING, 18, "GB 32100-2015", IdentifierKind.USCC),
    DataElement("组织机构代码", ItemType.STRING, 9, "GB 11714-1997", IdentifierKind.ORG_CODE),
    DataElement("姓名", ItemType.STRING, 50, "GA/T 2000.156-2016"),
    DataElement("性别", ItemType.CODE, 1, "GB/T 2261.1-2003"),
    DataElement("性别代码", ItemType.CODE, 1, "GB/T 2261.1-2003"),
    DataElement("民族", ItemType.CODE, 2, "GB/T 3304-1991"),
    DataElement("出生日期", ItemType.DATE, None, "GB/T 7408"),
    DataElement("行政区划代码", ItemType.CODE, 6, "GB/T 2260-2007"),
    DataElement("邮政编码", ItemType.STRING, 6, "GB/T 2260"),
    DataElement("移动电话", ItemType.STRING, 11, "GA/T 2000"),
    DataElement("手机号码", ItemType.STRING, 11, "GA/T 2000"),
    DataElement("电子邮箱", ItemType.STRING, 100, "GA/T 2000"),
    DataElement("法定代表人姓名", ItemType.STRING, 50, "GB/T 29873"),
    DataElement("注册资本", ItemType.DECIMAL, None, "GB/T 29873"),
    DataElement("成立日期", ItemType.DATE, None, "GB/T 29873"),
]
BY_NAME = {e.name: e for e in ELEMENTS}


def normalise(name: str) -> str:
    """The comparison form of an item name: no spaces, full-width → half-width, lower case."""
    out = []
    for ch in (name or "").strip():
        code = ord(ch)
        if code == 0x3000:
            continue
        if 0xFF01 <= code <= 0xFF5E:
            ch = chr(code - 0xFEE0)
        if not ch.isspace():
            out.append(ch.lower())
    return "".join(out)


def element_for(name: str) -> DataElement | None:
    return BY_NAME.get(normalise(name))
