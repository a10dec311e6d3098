"""``govshare jobs``: the job runner (huey) and the source connectors it schedules."""

from __future__ import annotations

import typer
from rich.table import Table

from govshare.aggregation import connectors
from govshare.catalog import queries as catalog_queries
from govshare.cli.common import console, fail, opened_platform
from govshare.config import get_settings
from govshare.identity import queries as identity_queries
from govshare.jobs import runner
from govshare.kernel.clock import local_display, utcnow

app = typer.Typer(
    help="Scheduled jobs: source connectors (前置机) and daily upkeep.", no_args_is_help=True
)


@app.command("worker")
def worker(
    workers: int = typer.Option(2, min=1, max=32, help="worker threads"),
) -> None:
    """Run the huey consumer in-process, with the periodic scheduler (Ctrl-C stops it)."""
    from govshare.jobs.queue import make_queue
    from govshare.notify import dispatch
    from govshare.platform import Platform
    from govshare.web.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    platform = Platform.open(settings)
    queue = make_queue(settings, platform=platform)
    if not settings.redis_url:  # the embedded queue's one worker: recover its predecessor's
        from govshare.delivery.export import recover_interrupted

        recover_interrupted(platform, enqueue=queue.export)
    where = "Redis" if settings.redis_url else str(settings.jobs_db)
    console.print(f"job worker: {workers} thread(s), queue on {where}", highlight=False)
    # notices queued by the jobs (reminders, expiries) go out right after their commit
    with dispatch.running(platform.db, settings):
        queue.consumer(workers=workers).run()


@app.command("run-due")
def run_due() -> None:
    """Run the due connectors, the daily job and a notification sweep once, then exit."""
    with opened_platform() as p:
        report = runner.run_due(p)
    for r in report.ran:
        line = f"{r.connector_id}: {r.status}, {r.rows} rows in {len(r.batches)} batch(es)"
        if r.error:
            line += f" — {r.error_code}: {r.error}"
        console.print(line, highlight=False)
    for connector_id, reason in report.skipped:
        console.print(f"{connector_id}: skipped ({reason})", highlight=False)
    if report.retired:
        console.print(f"retired: {', '.join(report.retired)}", highlight=False)
    if report.notices.total:
        n = report.notices
        console.print(f"webhooks: {n.webhooks}; e-mails: {n.emails}", highlight=False)
    console.print(f"{len(report.ran)} connector run(s)", highlight=False)


@app.command("run")
def run(connector_id: str = typer.Argument(..., help="the connector's id")) -> None:
    """Run one connector now, whether or not it is due."""
    with opened_platform() as p:
        r = connectors.run_connector(p.db, connector_id, runner.JOB_ACTOR, vault=runner.vault_of(p))
    console.print(f"{r.status}: {r.rows} rows in {len(r.batches)} batch(es)", highlight=False)
    if r.status == "failed":
        raise fail(f"{r.error_code}: {r.error}")


@app.command("connectors")
def list_connectors() -> None:
    """List the source connectors, their schedules and next runs (URLs masked)."""
    now = utcnow()
    table = Table("id", "name", "resource", "department", "every", "last run", "status", "next")
    with opened_platform() as p, p.db.read() as conn:
        for c in connectors.list_connectors(conn):
            interval = connectors.schedule_of(conn, c)
            nxt = connectors.next_run_at(c, interval, now)
            res = catalog_queries.get_resource(conn, c.resource_id)
            dept = identity_queries.get_department(conn, c.department_id)
            table.add_row(
                c.id,
                c.name,
                res.code,
                dept.short_name,
                str(interval) if interval else "manual",
                local_display(c.last_run_at) if c.last_run_at else "-",
                c.last_status or "-",
                ("disabled" if not c.enabled else local_display(nxt) if nxt else "manual"),
            )
    console.print(table)
