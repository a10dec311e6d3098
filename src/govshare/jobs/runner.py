"""What the scheduled jobs do, callable directly (``govshare jobs run-due``, tests) or from
the huey tasks in ``queue``:

- every few minutes: run the source connectors that are due by their schedule (the agreed
  aggregation interval, else the resource's update cycle; see
  ``aggregation.connectors.interval_for``): due when enabled, not running, and the last run
  started at least one interval ago (one hour after a failed run, if sooner);
- daily: take offline the resources whose retirement transition has ended
  (``catalog.services.complete_retirements``), expire grants past their validity and send
  the sharing deadline reminders (``sharing.reminders``), and destroy the files of batch
  exports whose download link has expired (``delivery.export.clean_expired``);
- hourly: the sharing deadline reminders again (``run_reminders``: idempotent);
- every minute: send the due webhooks and e-mails of the notification outbox
  (``notify.dispatch``; also swept right after each commit that queues notices).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from govshare.aggregation import connectors
from govshare.aggregation.connectors import RunResult, SourceVault
from govshare.catalog import services as catalog_services
from govshare.delivery import export
from govshare.kernel.actor import Actor
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import Conflict
from govshare.notify import dispatch
from govshare.notify.model import SweepReport
from govshare.platform import Platform
from govshare.sharing import reminders
from govshare.sharing import services as sharing_services

JOB_ACTOR = Actor.system("jobs")


@dataclass
class DueReport:
    ran: list[RunResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (connector id, reason)
    retired: list[str] = field(default_factory=list)  # resource codes taken offline
    notices: SweepReport = field(default_factory=SweepReport)  # webhooks and e-mails sent


def vault_of(platform: Platform) -> SourceVault:
    return SourceVault.for_settings(platform.settings)


def due_connector_ids(platform: Platform, now: datetime | None = None) -> list[str]:
    with platform.db.read() as conn:
        return [c.id for c in connectors.due_connectors(conn, now or utcnow())]


def run_if_due(
    platform: Platform, connector_id: str, now: datetime | None = None
) -> RunResult | None:
    """Run one connector if it is (still) due; None when it is not, or already running."""
    now = now or utcnow()
    with platform.db.read() as conn:
        c = connectors.get_connector(conn, connector_id)
        due = connectors.is_due(c, connectors.schedule_of(conn, c), now)
    if not due:
        return None
    try:
        return connectors.run_connector(
            platform.db, connector_id, JOB_ACTOR, vault=vault_of(platform)
        )
    except Conflict:  # another worker claimed it first
        return None


def run_due(
    platform: Platform, *, now: datetime | None = None, retirements: bool = True
) -> DueReport:
    """Run every due connector once (each failure is recorded on its connector and does
    not stop the others), then the daily retirement job (idempotent)."""
    now = now or utcnow()
    report = DueReport()
    for connector_id in due_connector_ids(platform, now):
        result = run_if_due(platform, connector_id, now)
        if result is None:
            report.skipped.append((connector_id, "not_due_or_running"))
        else:
            report.ran.append(result)
    if retirements:
        report.retired = run_daily(platform)
    report.notices = dispatch_notifications(platform, now)
    return report


def dispatch_notifications(platform: Platform, now: datetime | None = None) -> SweepReport:
    """Send the due webhooks and e-mails of the notification outbox (``notify.dispatch``)."""
    return dispatch.dispatch_due(platform.db, platform.settings, now)


def run_reminders(platform: Platform) -> dict[str, int]:
    """The sharing deadline reminders, run hourly as well as daily: idempotent (a step is
    reminded once and flagged overdue once), so a worker that was down at 00:05 catches up
    within the hour, and a failing daily job does not hold them back."""
    return reminders.send_reminders(platform.db, platform.profiles, actor=JOB_ACTOR)


def run_daily(platform: Platform) -> list[str]:
    """Retire resources whose transition ended, expire grants past their validity (the
    consumer is then asked to confirm destruction, SZ-27), and send deadline reminders."""
    retired = catalog_services.complete_retirements(platform.db, actor=JOB_ACTOR)
    sharing_services.expire_grants(platform.db, actor=JOB_ACTOR)
    reminders.send_reminders(platform.db, platform.profiles, actor=JOB_ACTOR)
    export.clean_expired(platform)  # destroy batch-export files past their link's lifetime
    return retired
