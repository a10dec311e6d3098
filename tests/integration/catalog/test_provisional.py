"""Deadlines that reach into an unknown year are stored provisional and recomputed on load."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from govshare.catalog import queries, services, upkeep
from govshare.identity import services as identity_services
from govshare.identity.model import JurisdictionLevel
from govshare.identity.services import DepartmentInput
from govshare.kernel.actor import Actor, ActorKind, Role
from govshare.kernel.clock import set_clock
from govshare.kernel.identifiers import make_uscc
from govshare.rules.calendar import load_year
from tests.integration.catalog.conftest import City

SYSTEM = Actor.system("test")


@pytest.mark.req("NX-22", "SQ-8")
def test_provisional_review_and_update_deadlines_are_recomputed(city: City, tmp_path: Path) -> None:
    nx = identity_services.create_jurisdiction(
        city.db,
        actor=SYSTEM,
        code="411325",
        name="内乡县",
        level=JurisdictionLevel.COUNTY,
        profile="neixiang",
    )
    dept = identity_services.create_department(
        city.db,
        DepartmentInput(
            name="内乡县公安局",
            short_name="内乡公安",
            uscc=make_uscc("1", "1", "411325", "66601234"),
            jurisdiction_id=nx.id,
        ),
        actor=SYSTEM,
    )
    actor = Actor(
        kind=ActorKind.USER,
        id="u",
        name="nx",
        department_id=dept.id,
        roles=frozenset({(dept.id, Role.CATALOGUER)}),
    )
    set_clock(lambda: datetime(2026, 12, 28, 2, 0, tzinfo=UTC))  # Monday 28 Dec, Shanghai
    try:
        v = services.create_draft(
            city.db,
            city.profiles,
            city.entry(
                dept="公安局",
                provider_department_id=dept.id,
                open_basis="《中华人民共和国个人信息保护法》第十三条",
            ),
            actor=actor,
        )
        v = services.submit(city.db, city.profiles, v.id, actor=actor)
        trig = upkeep.record_change(
            city.db,
            city.profiles,
            actor=actor,
            department_id=dept.id,
            kind="law",
            occurred_on=datetime(2026, 12, 28).date(),
            description="《某条例》修订",
        )
    finally:
        set_clock(None)
    # NX-22: 5 WD. Dec 29-31 are 3 working days; 2027 is unknown → Mon-Fri estimate Jan 4.
    assert v.review_due is not None and v.review_due.isoformat() == "2027-01-04"
    assert v.review_due_provisional
    f = tmp_path / "2027.yaml"
    f.write_text("year: 2027\nsource: 测试\nholidays: [2027-01-01, 2027-01-04]\n", encoding="utf-8")
    load_year(city.db, f, actor=SYSTEM, recompute=city.platform.recompute_hooks)
    with city.db.read() as conn:
        after = queries.get_version(conn, v.id)
        t = queries.get_change_trigger(conn, trig)
    # Jan 1 and Jan 4 are holidays in the loaded (test) year: Dec 29, 30, 31, Jan 5, 6.
    assert after.review_due is not None and after.review_due.isoformat() == "2027-01-06"
    assert not after.review_due_provisional
    assert t.update_due is not None and t.update_due.isoformat() == "2027-01-06"
    assert not t.update_due_provisional
