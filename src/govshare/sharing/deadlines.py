"""Recompute the provisional deadlines of open application steps when the authority loads a
calendar year: each is counted again from its stored start date (``counted_from``) under
the rule of its step kind in the provider's profile, and the provisional flag is cleared."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import select, update

from govshare.identity import queries as identity_queries
from govshare.kernel.calendar import WorkingDayCalendar
from govshare.rules import RuleProfile
from govshare.rules.schema import Deadline as ProfileDeadline
from govshare.sharing.model import StepKind
from govshare.sharing.tables import application_step, share_application
from govshare.storage.engine import Transaction


def rule_of(profile: RuleProfile, kind: StepKind) -> ProfileDeadline | None:
    """The profile deadline a step of ``kind`` runs under (a decision step has a deadline
    only when the provider decides; the authority's decision has none)."""
    rules = profile.sharing
    return {
        StepKind.COMPLIANCE_REVIEW: rules.compliance_review,
        StepKind.DIRECT_AUTHORISATION: rules.direct_authorisation,
        StepKind.DECISION: rules.provider_reply,
        StepKind.CONSUMER_NOTICE: rules.consumer_notice,
    }.get(kind)


def recompute_hook(
    profiles: Mapping[str, RuleProfile],
) -> Callable[[Transaction, WorkingDayCalendar, int], None]:
    def hook(tx: Transaction, cal: WorkingDayCalendar, year: int) -> None:
        rows = tx.conn.execute(
            select(
                application_step.c.id,
                application_step.c.kind,
                application_step.c.counted_from,
                share_application.c.provider_department_id,
            )
            .join(share_application, share_application.c.id == application_step.c.application_id)
            .where(
                application_step.c.due_provisional.is_(True),
                application_step.c.at.is_(None),
            )
        ).all()
        for r in rows:
            dept = identity_queries.get_department(tx.conn, r.provider_department_id)
            j = identity_queries.get_jurisdiction(tx.conn, dept.jurisdiction_id)
            rule = rule_of(profiles.get(j.profile) or profiles["default"], StepKind(r.kind))
            if rule is None or rule.days is None or rule.unit != "working" or not r.counted_from:
                continue
            d = cal.add_working_days(r.counted_from, rule.days, provisional=True)
            tx.conn.execute(
                update(application_step)
                .where(application_step.c.id == r.id)
                .values(due_on=d.day, due_provisional=d.provisional)
            )

    return hook
