"""Catalog fixtures: actors of the demo city and a valid entry builder."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from govshare.catalog.model import (
    Classification,
    DataItemInput,
    DeliveryMode,
    EntryInput,
    FormatCategory,
    IdentifierKind,
    ItemType,
    OpenCategory,
    ShareCategory,
    UpdateCycle,
)
from govshare.identity import queries
from govshare.kernel.actor import Actor
from govshare.platform import Platform


class City:
    """The demo city's departments and the actors of its users."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.db = platform.db
        self.profiles = platform.profiles
        with self.db.read() as conn:
            self.depts = {d.short_name: d for d in queries.list_departments(conn)}
            self.jurisdictions = {j.code: j for j in queries.list_jurisdictions(conn)}

    def actor(self, username: str) -> Actor:
        with self.db.read() as conn:
            user = queries.user_by_username(conn, username)
            assert user is not None
            actor = queries.actor_for_user(conn, user.id)
        assert actor is not None
        return actor

    def entry(self, dept: str = "公安局", **changes: Any) -> EntryInput:
        base = EntryInput(
            name="居民户籍信息",
            classification=Classification.DEPARTMENT,
            provider_department_id=self.depts[dept].id,
            summary="本市户籍人口的户籍登记信息",
            format_category=FormatCategory.DATABASE,
            format_type="关系型数据库表",
            update_cycle=UpdateCycle.DAILY,
            timeliness="T+1",
            share_category=ShareCategory.UNCONDITIONAL,
            share_scope="全市政务部门",
            share_conditions="无",
            delivery_modes=(DeliveryMode.QUERY, DeliveryMode.VERIFY),
            usage_requirements="仅用于履职",
            open_category=OpenCategory.CLOSED,
            confidentiality_review="2026-11-01 经本部门保密审查，不涉密",
            data_items=(
                DataItemInput(
                    name="姓名",
                    code="name",
                    type=ItemType.STRING,
                    length=50,
                    sensitivity="name",
                    required=True,
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
                DataItemInput(
                    name="户籍地址",
                    code="household_address",
                    type=ItemType.STRING,
                    length=200,
                    sensitivity="address",
                ),
            ),
        )
        return replace(base, **changes)


@pytest.fixture
def city(demo_platform: Platform) -> City:
    return City(demo_platform)
