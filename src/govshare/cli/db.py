from __future__ import annotations

import typer

from govshare.cli.common import console
from govshare.config import get_settings
from govshare.storage import migrate

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: head)."""
    url = get_settings().effective_database_url
    migrate.upgrade(url, revision)
    console.print(f"database at revision {migrate.current_revision(url)}")


@app.command("current")
def current() -> None:
    """Print the database's migration revision."""
    console.print(migrate.current_revision(get_settings().effective_database_url) or "none")
