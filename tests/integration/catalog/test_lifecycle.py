"""Draft → submit → review → publish → revise; versions, diff, search."""

from __future__ import annotations

from dataclasses import replace

import pytest

from govshare.audit.queries import AuditFilter, list_entries
from govshare.catalog import queries, services
from govshare.catalog.model import ReviewDecision, VersionState
from govshare.catalog.queries import SearchQuery, search_catalog
from govshare.kernel.errors import Conflict, Forbidden, ValidationFailed
from tests.integration.catalog.conftest import City


@pytest.mark.req("SQ-14", "NX-18", "NX-20", "SZ-8", "HB-6", "YX-10")
def test_draft_submit_review_publish(city: City) -> None:
    cat = city.actor("ga_catalog")
    admin = city.actor("admin")
    v = services.create_draft(city.db, city.profiles, city.entry(), actor=cat)
    assert v.state is VersionState.DRAFT and v.code.startswith("300") and v.version_no == 1
    v = services.submit(city.db, city.profiles, v.id, actor=cat)
    assert v.state is VersionState.SUBMITTED
    with pytest.raises(Forbidden):  # a cataloguer cannot approve
        services.review(city.db, v.id, ReviewDecision.APPROVE, actor=cat)
    v = services.review(city.db, v.id, ReviewDecision.APPROVE, actor=admin, comment="同意")
    assert v.state is VersionState.PUBLISHED and v.published_at is not None
    with city.db.read() as conn:
        found = search_catalog(conn, SearchQuery(q="户籍"))
        audit_actions = [e.action for e in list_entries(conn, AuditFilter(object_id=v.id)).entries]
    assert [h.code for h in found.hits] == [v.code]
    assert "submit" in audit_actions


@pytest.mark.req("NX-22", "SZ-8")
def test_return_needs_reasons_and_revision_keeps_history(city: City) -> None:
    cat = city.actor("ga_catalog")
    admin = city.actor("admin")
    v = services.submit(
        city.db,
        city.profiles,
        services.create_draft(city.db, city.profiles, city.entry(), actor=cat).id,
        actor=cat,
    )
    with pytest.raises(ValidationFailed):
        services.review(city.db, v.id, ReviewDecision.RETURN, actor=admin, comment=" ")
    v = services.review(city.db, v.id, ReviewDecision.RETURN, actor=admin, comment="摘要不完整")
    assert v.state is VersionState.RETURNED and v.review_comment == "摘要不完整"
    v = services.update_draft(
        city.db,
        city.profiles,
        v.id,
        replace(v.entry, summary="本市户籍人口的户籍登记信息（含迁入迁出）"),
        actor=cat,
    )
    v = services.submit(city.db, city.profiles, v.id, actor=cat)
    v1 = services.review(city.db, v.id, ReviewDecision.APPROVE, actor=admin)
    with pytest.raises(Conflict):
        services.update_draft(city.db, city.profiles, v1.id, v1.entry, actor=cat)
    v2 = services.start_revision(city.db, v1.resource_id, actor=cat)
    assert v2.version_no == 2 and v2.code == v1.code
    v2 = services.update_draft(
        city.db,
        city.profiles,
        v2.id,
        replace(v2.entry, update_cycle=v2.entry.update_cycle.__class__("weekly")),
        actor=cat,
    )
    services.submit(city.db, city.profiles, v2.id, actor=cat)
    services.review(city.db, v2.id, ReviewDecision.APPROVE, actor=admin)
    with city.db.read() as conn:
        hist = queries.history(conn, v1.resource_id)
        changes = queries.diff(hist[1], hist[0])
    assert [h.version_no for h in hist] == [2, 1]
    assert [h.state for h in hist] == [VersionState.PUBLISHED, VersionState.SUPERSEDED]
    assert [(c.field, c.before, c.after) for c in changes] == [("update_cycle", "daily", "weekly")]
