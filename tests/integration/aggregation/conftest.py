"""Aggregation fixtures: a published population-style resource of the demo city's police."""

from __future__ import annotations

from pathlib import Path

import pytest

from govshare.catalog import services
from govshare.catalog.model import DataItemInput, IdentifierKind, ItemType, ReviewDecision
from govshare.kernel.identifiers import id_card_check_char
from govshare.platform import Platform
from tests.integration.catalog.conftest import City

ITEMS = (
    DataItemInput(
        name="姓名", code="name", type=ItemType.STRING, length=50, required=True, sensitivity="name"
    ),
    DataItemInput(
        name="公民身份号码",
        code="id_card",
        type=ItemType.STRING,
        length=18,
        identifier=IdentifierKind.ID_CARD,
        sensitivity="id_card",
        required=True,
    ),
    DataItemInput(name="性别", code="sex", type=ItemType.CODE, length=1, code_list="GB/T 2261.1"),
    DataItemInput(name="出生日期", code="birth_date", type=ItemType.DATE),
    DataItemInput(
        name="手机号码", code="mobile", type=ItemType.STRING, length=11, sensitivity="mobile"
    ),
    DataItemInput(name="月收入", code="income", type=ItemType.DECIMAL),
)


def id_card(area: str = "321302", born: str = "19900307", seq: int = 123) -> str:
    first17 = f"{area}{born}{seq:03d}"
    return first17 + id_card_check_char(first17)


def publish(
    city: City,
    name: str = "居民人口信息",
    items: tuple[DataItemInput, ...] = ITEMS,
    dept: str = "公安局",
    user: str = "ga_catalog",
    **changes: object,
) -> str:
    cat = city.actor(user)
    v = services.create_draft(
        city.db,
        city.profiles,
        city.entry(
            dept=dept, name=name, data_items=items, single_source_justification="测试", **changes
        ),  # type: ignore[arg-type]
        actor=cat,
    )
    v = services.submit(city.db, city.profiles, v.id, actor=cat)
    services.review(city.db, v.id, ReviewDecision.APPROVE, actor=city.actor("admin"))
    return v.resource_id


@pytest.fixture
def city(demo_platform: Platform) -> City:
    return City(demo_platform)


@pytest.fixture
def population(city: City) -> str:
    return publish(city)


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    text = "\r\n".join(",".join(r) for r in rows) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path
