"""``govshare receipt``: check call receipts (调用记录凭证, SZ-16.4)."""

from __future__ import annotations

import sys

import typer

from govshare.cli.common import console, err_console, opened_platform
from govshare.delivery import receipts

app = typer.Typer(help="Call receipts (调用记录凭证) of the data services.", no_args_is_help=True)


@app.command("verify")
def verify(
    receipt: str = typer.Argument(
        ...,
        help="the X-Call-Receipt header value, or the body's receipt as JSON; - reads stdin",
    ),
) -> None:
    """Check a receipt's signature by the platform key and the audit entry it names."""
    text = sys.stdin.read() if receipt == "-" else receipt
    with opened_platform() as p, p.db.read() as conn:
        checked = receipts.check(conn, p.keys, text)
    r = checked.receipt
    if not checked.valid or r is None:
        err_console.print(f"receipt INVALID: {checked.problem}", highlight=False)
        raise typer.Exit(1)
    console.print(
        f"receipt valid: call {r.call_id}, {r.mode} on grant {r.grant_id} "
        f"({r.resource} v{r.version_no}) by {r.client_system}, {r.rows} rows at {r.at}, "
        f"audit seq {r.audit_seq}: {checked.audit}",
        highlight=False,
    )
    if checked.audit in ("differs", "missing"):
        err_console.print(f"audit entry {checked.audit}: {checked.problem}", highlight=False)
        raise typer.Exit(1)
