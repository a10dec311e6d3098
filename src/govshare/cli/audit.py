from __future__ import annotations

from datetime import UTC, datetime

import typer

from govshare.audit import services
from govshare.audit.verify import verify_chain
from govshare.cli.common import console, err_console, fail, opened_platform
from govshare.kernel.actor import Actor

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Check the whole chain, every signed checkpoint and the purge archives."""
    with opened_platform() as p:
        report = verify_chain(p.db, p.keys, archive_dir=p.settings.archive_dir)
    if report.ok:
        console.print(report.summary(), highlight=False)
        return
    err_console.print(report.summary(), highlight=False)
    for problem in report.problems[1:10]:
        err_console.print(f"  also: {problem}", highlight=False)
    raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint() -> None:
    """Sign the chain's current head with the platform key."""
    with opened_platform() as p:
        cp = services.create_checkpoint(p.db, p.keys, actor=Actor.system("cli"))
    console.print(f"checkpoint at seq {cp.seq}, head {cp.head_hash[:16]}, key {cp.key_id}")


@app.command("purge")
def purge(
    before: str = typer.Option(..., help="purge entries before this date (YYYY-MM-DD, UTC)"),
) -> None:
    """Archive and remove entries older than BEFORE (refused inside the retention period)."""
    try:
        cutoff = datetime.fromisoformat(before).replace(tzinfo=UTC)
    except ValueError as exc:
        raise fail(f"not a date: {before}") from exc
    with opened_platform() as p:
        result = services.purge(
            p.db,
            before=cutoff,
            min_retention_days=p.min_audit_retention_days,
            archive_dir=p.settings.archive_dir,
            actor=Actor.system("cli"),
        )
    console.print(
        f"purged seq {result.first_seq}..{result.upto_seq} ({result.count} entries) "
        f"into {result.archive_file}"
    )
