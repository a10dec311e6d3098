"""Recompute the catalog's provisional deadlines when the authority loads a calendar year.

A deadline that reached into a year the calendar did not know was stored as provisional
(a Monday-Friday estimate). Once the year is loaded, each is recomputed from its start event
under its profile's rule, and the provisional flag is cleared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import select, update

from govshare.catalog.tables import catalog_change_trigger, resource_version
from govshare.identity import queries as identity_queries
from govshare.kernel.calendar import WorkingDayCalendar
from govshare.kernel.clock import local_date
from govshare.rules import RuleProfile
from govshare.rules.schema import Deadline as ProfileDeadline
from govshare.storage.engine import Transaction


def recompute_hook(
    profiles: Mapping[str, RuleProfile],
) -> Callable[[Transaction, WorkingDayCalendar, int], None]:
    def hook(tx: Transaction, cal: WorkingDayCalendar, year: int) -> None:
        def profile_of(department_id: str) -> RuleProfile:
            dept = identity_queries.get_department(tx.conn, department_id)
            j = identity_queries.get_jurisdiction(tx.conn, dept.jurisdiction_id)
            return profiles.get(j.profile) or profiles["default"]

        def due(rule: ProfileDeadline | None, start: object) -> tuple[object, bool]:
            if rule is None or rule.days is None or rule.unit != "working":
                return None, False
            d = cal.add_working_days(start, rule.days, provisional=True)  # type: ignore[arg-type]
            return d.day, d.provisional

        rows = tx.conn.execute(
            select(
                resource_version.c.id,
                resource_version.c.provider_department_id,
                resource_version.c.submitted_at,
            ).where(resource_version.c.review_due_provisional.is_(True))
        ).all()
        for r in rows:
            if r.submitted_at is None:
                continue
            day, prov = due(
                profile_of(r.provider_department_id).catalog.authority_update,
                local_date(r.submitted_at),
            )
            tx.conn.execute(
                update(resource_version)
                .where(resource_version.c.id == r.id)
                .values(review_due=day, review_due_provisional=prov)
            )
        rows = tx.conn.execute(
            select(
                catalog_change_trigger.c.id,
                catalog_change_trigger.c.department_id,
                catalog_change_trigger.c.occurred_on,
            ).where(catalog_change_trigger.c.update_due_provisional.is_(True))
        ).all()
        for r in rows:
            day, prov = due(profile_of(r.department_id).catalog.update_after_change, r.occurred_on)
            tx.conn.execute(
                update(catalog_change_trigger)
                .where(catalog_change_trigger.c.id == r.id)
                .values(update_due=day, update_due_provisional=prov)
            )

    return hook
