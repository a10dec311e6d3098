"""``govshare``: every command parses its input, calls one service and prints the result."""

from __future__ import annotations

import typer

from govshare.cli import (
    audit,
    backup,
    calendar,
    db,
    demo,
    ingest,
    jobs,
    profiles,
    receipt,
    serve,
)

app = typer.Typer(
    name="govshare",
    help="govshare — government data sharing and exchange platform (政务数据共享交换平台).",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(audit.app, name="audit")
app.add_typer(calendar.app, name="calendar")
app.add_typer(profiles.app, name="profiles")
app.add_typer(ingest.app, name="ingest")
app.add_typer(jobs.app, name="jobs")
app.add_typer(receipt.app, name="receipt")
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)


def main() -> None:
    app()
