"""Joint-collection registration (采集登记): who collects which item of a shared resource."""

from __future__ import annotations

import pytest

from govshare.catalog import collection, queries, services
from govshare.catalog.collection import JointShare
from govshare.catalog.model import ReviewDecision
from govshare.kernel.errors import Conflict, Forbidden, ValidationFailed
from tests.integration.catalog.conftest import City


def _published(city: City) -> str:
    cat = city.actor("ga_catalog")
    v = services.create_draft(
        city.db, city.profiles, city.entry(name="流动人口居住登记信息"), actor=cat
    )
    v = services.submit(city.db, city.profiles, v.id, actor=cat)
    services.review(city.db, v.id, ReviewDecision.APPROVE, actor=city.actor("admin"))
    return v.resource_id


@pytest.mark.req("NX-26", "SQ-15")
def test_division_of_duties_is_registered_and_confirmed(city: City) -> None:
    rid = _published(city)
    police, hr = city.depts["公安局"].id, city.depts["人社局"].id
    ga = city.actor("ga_catalog")
    gid = collection.register_joint_collection(
        city.db,
        rid,
        [
            JointShare(police, ("姓名", "公民身份号码"), "公安局负责身份信息采集与核验"),
            JointShare(hr, ("户籍地址",), "人社局在参保登记时采集居住地址"),
        ],
        actor=ga,
    )
    with city.db.read() as conn:
        shares = queries.joint_collection_of(conn, rid)
    assert {(s.department_id, s.confirmed_at is not None) for s in shares} == {
        (police, True),
        (hr, False),
    }
    with pytest.raises(Forbidden):  # the police cannot confirm for the HR bureau
        collection.confirm_joint_share(city.db, gid, hr, actor=ga)
    collection.confirm_joint_share(city.db, gid, hr, actor=city.actor("rs_admin"))
    with city.db.read() as conn:
        assert all(s.confirmed_at is not None for s in queries.joint_collection_of(conn, rid))
    with pytest.raises(Conflict):
        collection.confirm_joint_share(city.db, gid, hr, actor=city.actor("rs_admin"))


@pytest.mark.req("NX-26")
def test_every_item_has_exactly_one_collector(city: City) -> None:
    rid = _published(city)
    police, hr = city.depts["公安局"].id, city.depts["人社局"].id
    ga = city.actor("ga_catalog")
    cases = [
        (
            [
                JointShare(police, ("姓名", "公民身份号码"), "x"),
                JointShare(hr, ("姓名", "户籍地址"), "y"),
            ],
            "two departments",
        ),
        ([JointShare(police, ("姓名",), "x"), JointShare(hr, ("户籍地址",), "y")], "no department"),
        (
            [JointShare(police, ("姓名", "公民身份号码"), "x"), JointShare(hr, ("学历",), "y")],
            "not an item",
        ),
        ([JointShare(hr, ("姓名", "公民身份号码", "户籍地址"), "y")], "two or more"),
    ]
    for shares, message in cases:
        with pytest.raises(ValidationFailed) as err:
            collection.register_joint_collection(city.db, rid, shares, actor=ga)
        assert message in err.value.message_en
