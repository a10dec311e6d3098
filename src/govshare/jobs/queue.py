"""huey wiring. Nothing is created at import: ``make_queue(settings)`` builds the queue and
registers its tasks.

- ``SqliteHuey`` on ``var/jobs.db`` by default (embedded, no extra service), ``RedisHuey``
  when ``GOVSHARE_REDIS_URL`` is set (several workers on several hosts).
- ``tick`` (every 5 minutes) enqueues ``run_connector`` for each due connector; the task
  checks again that the connector is due before it runs, and the connector's lease and
  cursor compare-and-set keep two workers from loading the same rows.
- ``daily`` (00:05 Asia/Shanghai) completes retirements.
- ``reminders`` (hourly) sends the sharing deadline reminders (idempotent; also daily).
- ``dispatch`` (every minute) sends the due webhooks and e-mails of the notification
  outbox; the worker process also runs a ``notify.dispatch.BackgroundDispatcher`` woken
  after each commit that queues notices.
- ``export`` (queued by ``POST /api/v1/delivery/grants/{id}/exports``) writes a batch
  export's file and signed manifest (``delivery.export``).
- ``govshare jobs worker`` runs huey's consumer in-process with the periodic scheduler on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from govshare.config import Settings
from govshare.jobs import runner
from govshare.platform import Platform

TICK = {"minute": "*/5"}
EVERY_MINUTE = {"minute": "*"}
HOURLY = {"minute": "20"}
DAILY_UTC = {"hour": "16", "minute": "5"}  # 00:05 in Asia/Shanghai (UTC+8)


class _PlatformHolder:
    """The worker's platform: opened once, on first use, shared by the worker threads."""

    def __init__(self, settings: Settings, platform: Platform | None) -> None:
        self.settings = settings
        self.platform = platform
        self.lock = threading.Lock()

    def get(self) -> Platform:
        with self.lock:
            if self.platform is None:
                self.platform = Platform.open(self.settings)
            return self.platform


@dataclass
class JobQueue:
    huey: Huey
    run_connector: Any  # huey TaskWrapper: run_connector(connector_id) enqueues
    tick: Any
    daily: Any
    dispatch: Any
    reminders: Any = None
    export: Any = None  # export(job_id) enqueues a batch export (delivery.export.run_export)

    def consumer(self, workers: int = 1) -> Consumer:
        return Consumer(self.huey, workers=workers, periodic=True, worker_type="thread")


def make_huey(settings: Settings, *, immediate: bool = False, name: str = "govshare") -> Huey:
    if settings.redis_url:
        return RedisHuey(name, url=settings.redis_url, immediate=immediate)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(settings.jobs_db), immediate=immediate)


def make_queue(
    settings: Settings,
    *,
    platform: Platform | None = None,
    immediate: bool = False,
    name: str = "govshare",
) -> JobQueue:
    """The queue and its tasks. ``platform`` is opened from ``settings`` on first use when
    not given; ``name`` separates queues sharing one Redis (tests)."""
    huey = make_huey(settings, immediate=immediate, name=name)
    holder = _PlatformHolder(settings, platform)

    @huey.task(name="govshare.run_connector")  # type: ignore[untyped-decorator]
    def run_connector(connector_id: str) -> dict[str, Any] | None:
        result = runner.run_if_due(holder.get(), connector_id)
        if result is None:
            return None
        return {
            "connector_id": result.connector_id,
            "status": result.status,
            "rows": result.rows,
            "batches": [b.id for b in result.batches],
            "error_code": result.error_code,
        }

    @huey.periodic_task(crontab(**TICK), name="govshare.tick")  # type: ignore[untyped-decorator]
    def tick() -> list[str]:
        due = runner.due_connector_ids(holder.get())
        for connector_id in due:
            run_connector(connector_id)
        return due

    @huey.periodic_task(crontab(**DAILY_UTC), name="govshare.daily")  # type: ignore[untyped-decorator]
    def daily() -> list[str]:
        return runner.run_daily(holder.get())

    @huey.periodic_task(crontab(**EVERY_MINUTE), name="govshare.dispatch")  # type: ignore[untyped-decorator]
    def dispatch() -> dict[str, dict[str, int]]:
        report = runner.dispatch_notifications(holder.get())
        return {"webhooks": report.webhooks, "emails": report.emails}

    @huey.periodic_task(crontab(**HOURLY), name="govshare.reminders")  # type: ignore[untyped-decorator]
    def reminders() -> dict[str, int]:
        return runner.run_reminders(holder.get())

    @huey.task(name="govshare.export")  # type: ignore[untyped-decorator]
    def export(job_id: str) -> dict[str, Any]:
        from govshare.delivery.export import run_export

        job = run_export(holder.get(), job_id)
        return {"job_id": job.id, "state": job.state.value, "rows": job.rows}

    return JobQueue(
        huey=huey,
        run_connector=run_connector,
        tick=tick,
        daily=daily,
        dispatch=dispatch,
        reminders=reminders,
        export=export,
    )
