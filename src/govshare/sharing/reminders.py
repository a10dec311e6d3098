"""Deadline reminders for open application steps, and the daily grant upkeep.

``send_reminders`` (a periodic job) tells the responsible department once per step when
the step falls due within ``REMIND_WORKING_DAYS`` working days, and tells it and its
authority once more when the step is overdue; ``reminded_at`` records the first, and the
audit log the second, so a job that runs again sends nothing twice."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import Connection, select, update

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.audit.tables import audit_entry
from govshare.identity import queries as identity_queries
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_date, utcnow
from govshare.notify.services import notify
from govshare.rules import RuleProfile
from govshare.rules.calendar import load_calendar
from govshare.sharing.model import StepKind
from govshare.sharing.services import _STEP_ZH, authority_of
from govshare.sharing.tables import application_step, share_application
from govshare.storage.engine import Database

REMIND_WORKING_DAYS = 1


def send_reminders(
    db: Database, profiles: Mapping[str, RuleProfile], *, actor: Actor, today: date | None = None
) -> dict[str, int]:
    """Remind departments of steps due soon and flag overdue ones (once each)."""
    day = today or local_date(utcnow())
    sent = {"due_soon": 0, "overdue": 0}
    with db.transaction() as tx:
        cal = load_calendar(tx.conn)
        horizon = cal.add_working_days(day, REMIND_WORKING_DAYS, provisional=True).day
        rows = tx.conn.execute(
            select(
                application_step.c.id,
                application_step.c.application_id,
                application_step.c.kind,
                application_step.c.department_id,
                application_step.c.due_on,
                application_step.c.reminded_at,
                share_application.c.provider_department_id,
            )
            .join(share_application, share_application.c.id == application_step.c.application_id)
            .where(
                application_step.c.at.is_(None),
                application_step.c.due_on.is_not(None),
                application_step.c.due_on <= horizon,
                application_step.c.department_id.is_not(None),
            )
            .order_by(application_step.c.due_on, application_step.c.id)
        ).all()
        flagged = _already_flagged(tx.conn, [str(r.id) for r in rows if r.due_on < day])
        for r in rows:
            kind = StepKind(r.kind)
            label = _STEP_ZH.get(kind, kind.value)
            link = f"/sharing/applications/{r.application_id}"
            if r.due_on < day:
                if str(r.id) in flagged:
                    continue
                provider = identity_queries.get_department(tx.conn, r.provider_department_id)
                authority = authority_of(tx, provider)
                for dept in dict.fromkeys((r.department_id, authority.id)):
                    notify(
                        tx,
                        event="sharing.step.overdue",
                        department_id=dept,
                        subject_zh=f"共享申请环节已超期：{label}（应于{r.due_on.isoformat()}前办结）",
                        subject_en=f"overdue share application step: {kind.value} "
                        f"(due {r.due_on.isoformat()})",
                        link=link,
                        data={"step": str(r.id), "due_on": r.due_on.isoformat()},
                    )
                audit.record(
                    tx,
                    actor,
                    AuditAction.NOTIFY,
                    "application_step",
                    str(r.id),
                    details={"event": "overdue", "due_on": r.due_on.isoformat()},
                )
                sent["overdue"] += 1
            elif r.reminded_at is None:
                notify(
                    tx,
                    event="sharing.step.due_soon",
                    department_id=r.department_id,
                    subject_zh=f"共享申请环节即将到期：{label}（{r.due_on.isoformat()}）",
                    subject_en=f"share application step due soon: {kind.value} "
                    f"({r.due_on.isoformat()})",
                    link=link,
                    data={"step": str(r.id), "due_on": r.due_on.isoformat()},
                )
                tx.conn.execute(
                    update(application_step)
                    .where(application_step.c.id == r.id)
                    .values(reminded_at=utcnow())
                )
                sent["due_soon"] += 1
        return sent


def _already_flagged(conn: Connection, step_ids: list[str]) -> set[str]:
    """Steps whose overdue notice is already in the audit log."""
    if not step_ids:
        return set()
    rows = conn.execute(
        select(audit_entry.c.object_id).where(
            audit_entry.c.object_type == "application_step",
            audit_entry.c.action == AuditAction.NOTIFY.value,
            audit_entry.c.object_id.in_(step_ids),
        )
    ).all()
    return {str(r.object_id) for r in rows}
