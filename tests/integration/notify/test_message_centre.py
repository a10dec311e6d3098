"""The message centre: notices per user and per department, read marks per user, and
department isolation (a user never sees another department's notices)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from govshare.audit.tables import audit_entry
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import NotFound
from govshare.notify import queries, services
from tests.integration.notify.conftest import Notify


def _ids(city: Notify, username: str, *, unread_only: bool = False) -> list[str]:
    with city.db.read() as conn:
        page = queries.list_notices(conn, city.actor(username), unread_only=unread_only)
    return [n.id for n in page.notices]


def _unread(city: Notify, username: str) -> int:
    with city.db.read() as conn:
        return queries.list_notices(conn, city.actor(username)).unread


def test_department_notices_are_read_per_user(city: Notify) -> None:
    dept_notice = city.notify("人社局")
    personal = city.notify(None, username="rs_user", event="sharing.application.returned")
    # rs_user and rs_admin both hold roles in 人社局; only rs_user gets the personal notice
    assert _ids(city, "rs_user") == [personal, dept_notice]
    assert _ids(city, "rs_admin") == [dept_notice]
    assert _unread(city, "rs_user") == 2 and _unread(city, "rs_admin") == 1

    notice = services.mark_read(city.db, dept_notice, actor=city.actor("rs_user"))
    assert notice.read_at is not None and not notice.unread
    assert _unread(city, "rs_user") == 1 and _unread(city, "rs_admin") == 1
    assert _ids(city, "rs_user", unread_only=True) == [personal]
    assert _ids(city, "rs_admin", unread_only=True) == [dept_notice]

    again = services.mark_read(city.db, dept_notice, actor=city.actor("rs_user"))
    assert again.read_at == notice.read_at  # idempotent
    with city.db.read() as conn:
        audited = conn.execute(
            select(audit_entry.c.actor_name).where(
                audit_entry.c.object_type == "notification",
                audit_entry.c.object_id == dept_notice,
            )
        ).all()
    assert [a.actor_name for a in audited] == ["rs_user"]

    assert services.mark_all_read(city.db, actor=city.actor("rs_admin")) == 1
    assert _unread(city, "rs_admin") == 0 and _unread(city, "rs_user") == 1
    assert services.mark_all_read(city.db, actor=city.actor("rs_admin")) == 0


def test_a_user_never_sees_another_departments_notices(city: Notify) -> None:
    police = city.notify("公安局", subject_zh="公安局内部通知")
    personal = city.notify(None, username="ga_admin")
    ours = city.notify("人社局")
    assert police not in _ids(city, "rs_user") and personal not in _ids(city, "rs_user")
    assert _ids(city, "rs_user") == [ours]
    assert set(_ids(city, "ga_admin")) == {police, personal}
    rs_user = city.actor("rs_user")
    with pytest.raises(NotFound):
        services.mark_read(city.db, police, actor=rs_user)
    with city.db.read() as conn, pytest.raises(NotFound):
        queries.get_notice(conn, rs_user, personal)
    assert services.mark_all_read(city.db, actor=rs_user) == 1
    assert _unread(city, "ga_admin") == 2  # rs_user's read-all touched only rs_user's notices


def test_the_nav_badge_counts_unread_up_to_its_cap(city: Notify) -> None:
    for _ in range(3):
        city.notify("人社局")
    with city.db.read() as conn:
        assert queries.unread_badge(conn, city.actor("rs_user"), utcnow()) == 3
        assert queries.unread_badge(conn, city.actor("ga_admin"), utcnow()) == 0
        # notices older than the badge's window are listed but not counted
        later = utcnow() + queries.BADGE_WINDOW + queries.BADGE_WINDOW
        assert queries.unread_badge(conn, city.actor("rs_user"), later) == 0
    for _ in range(queries.BADGE_CAP + 1):
        city.notify("人社局")
    with city.db.read() as conn:
        assert queries.unread_badge(conn, city.actor("rs_user"), utcnow()) == (
            queries.BADGE_CAP + 1
        )


def test_pages_of_notices(city: Notify) -> None:
    made = [city.notify("人社局") for _ in range(queries.PAGE_SIZE + 2)]
    with city.db.read() as conn:
        first = queries.list_notices(conn, city.actor("rs_user"))
        second = queries.list_notices(conn, city.actor("rs_user"), page=2)
    assert first.has_more and not second.has_more
    assert len(first.notices) == queries.PAGE_SIZE and len(second.notices) == 2
    assert [n.id for n in first.notices + second.notices] == list(reversed(made))
    assert first.unread == len(made)
