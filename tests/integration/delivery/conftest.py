"""Delivery fixtures: in the demo city (宿迁, suqian profile) the police (公安局) publish a
conditional population resource with data in its pool; the human-resources bureau (人社局)
applies, the police approve, and the bureau's business system (人社业务系统) calls."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import update

from govshare.aggregation import ingest
from govshare.catalog.model import (
    DataItemInput,
    DeliveryMode,
    IdentifierKind,
    ItemType,
    ShareCategory,
)
from govshare.delivery.model import CallHeaders
from govshare.delivery.services import lookup
from govshare.identity import queries as identity_queries
from govshare.identity.model import VerifiedClient
from govshare.kernel.actor import Actor
from govshare.platform import Platform
from govshare.sharing import services as sharing
from govshare.sharing.model import ApplicationInput, Purpose
from govshare.sharing.tables import share_grant
from tests.integration.aggregation.conftest import id_card
from tests.integration.aggregation.conftest import publish as publish_resource
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
    DataItemInput(name="出生日期", code="birth_date", type=ItemType.DATE),
    DataItemInput(
        name="手机号码", code="mobile", type=ItemType.STRING, length=11, sensitivity="mobile"
    ),
    DataItemInput(
        name="户籍地址", code="address", type=ItemType.STRING, length=200, sensitivity="address"
    ),
    DataItemInput(
        name="电子邮箱", code="email", type=ItemType.STRING, length=100, sensitivity="email"
    ),
    DataItemInput(name="月收入", code="income", type=ItemType.DECIMAL),
)
GRANTED = ("name", "id_card", "birth_date", "mobile", "address", "email")

P1 = id_card(seq=101)
P2 = id_card(seq=102)
NOBODY = id_card(seq=999)
ROWS: list[dict[str, Any]] = [
    {
        "name": "欧阳娜娜",
        "id_card": P1,
        "birth_date": "1990-03-07",
        "mobile": "13812345678",
        "address": "江苏省宿迁市宿城区幸福街道人民路18号",
        "email": "nana@example.cn",
        "income": "8000.50",
    },
    {"name": "张三", "id_card": P2, "birth_date": "1990-03-07", "mobile": "13900001111"},
]
HEADERS = CallHeaders(purpose="administrative_basis", end_user="周人社", case_no="RS-2026-0001")


@dataclass
class Delivery:
    city: City
    platform: Platform
    resource_id: str
    grant_id: str
    client: Actor  # 人社业务系统, a client system of 人社局
    other_client: Actor  # 市场监管登记系统, of another department

    def set_grant(self, **values: Any) -> None:
        """Change the grant row directly: the columns the sharing services set (limits,
        masking levels, transition) in the shape they store them."""
        if "items" in values:
            values["items"] = json.dumps(
                [{"code": c, "masking": m} for c, m in values["items"].items()]
            )
        with self.platform.db.transaction() as tx:
            tx.conn.execute(
                update(share_grant).where(share_grant.c.id == self.grant_id).values(**values)
            )


def look(d: Delivery, key: str | None = P1, **kw: Any) -> Awaitable[lookup.LookupResult]:
    """One lookup on the running event loop, as the HTTP path makes it (a client-system
    token's caller); ``grant_id=`` and ``call=`` change the grant and the headers."""
    return lookup.lookup_async(
        d.platform,
        kw.pop("grant_id", d.grant_id),
        key=key,
        items=None,
        call=kw.pop("call", HEADERS),
        actor=VerifiedClient(d.client.id),
    )


def client_actor(platform: Platform, name: str) -> Actor:
    with platform.db.read() as conn:
        cs = next(c for c in identity_queries.list_client_systems(conn) if c.name == name)
        actor = identity_queries.client_actor(conn, cs.client_id)
    assert actor is not None
    return actor


def population_resource(city: City) -> str:
    return publish_resource(
        city,
        items=ITEMS,
        share_category=ShareCategory.CONDITIONAL,
        share_conditions="仅限社会保障业务",
        share_basis_type="law",
        share_basis_text="第十条",
        share_basis_ref="《某法》",
        delivery_modes=(DeliveryMode.QUERY, DeliveryMode.VERIFY, DeliveryMode.BATCH),
    )


def grant(city: City, resource_id: str, items: tuple[str, ...] = GRANTED, **kw: Any) -> str:
    data = ApplicationInput(
        consumer_department_id=city.depts["人社局"].id,
        resource_id=resource_id,
        items=items,
        modes=kw.pop("modes", ("query", "verify")),
        purpose=Purpose.ADMINISTRATIVE_BASIS,
        scenario="社会保险待遇资格认证",
        legal_basis="《社会保险法》第七十四条",
        valid_until=date(2099, 12, 31),
        **kw,
    )
    app = sharing.submit_application(city.db, city.profiles, data, actor=city.actor("rs_user"))
    done = sharing.decide(
        city.db,
        city.profiles,
        app.id,
        sharing.Decision(approve=True),
        actor=city.actor("ga_approver"),
    )
    assert done.grant_id
    return done.grant_id


@pytest.fixture
def city(demo_platform: Platform) -> City:
    return City(demo_platform)


@pytest.fixture
def delivery(city: City) -> Delivery:
    rid = population_resource(city)
    ingest.push_rows(city.db, rid, ROWS, [], actor=city.actor("ga_catalog"), idempotency_key="seed")
    return Delivery(
        city=city,
        platform=city.platform,
        resource_id=rid,
        grant_id=grant(city, rid),
        client=client_actor(city.platform, "人社业务系统"),
        other_client=client_actor(city.platform, "市场监管登记系统"),
    )
