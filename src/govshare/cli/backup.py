"""``govshare backup FILE`` and ``govshare restore FILE`` (see govshare.ops.backup)."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from govshare.cli.common import console, err_console, fail, opened_platform
from govshare.config import get_settings
from govshare.kernel.actor import Actor
from govshare.kernel.errors import DomainError
from govshare.ops import backup as ops
from govshare.ops.keyring import read_keys_archive, write_keys_archive

PASSPHRASE_ENV = "GOVSHARE_BACKUP_PASSPHRASE"  # noqa: S105 - the name of a variable


def _operator() -> Actor:
    """The operator as recorded in the audit log: the OS account that ran the command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor.system(f"cli:{user}")


def _passphrase(value: str | None, *, confirm: bool) -> str:
    if value:
        return value
    return str(typer.prompt("key-archive passphrase", hide_input=True, confirmation_prompt=confirm))


def backup(
    file: Path = typer.Argument(..., help="the backup file to write (a tar; mode 0600)"),
    with_keys: Path | None = typer.Option(
        None,
        "--with-keys",
        help="also write the platform's keys to this separate, passphrase-encrypted file",
    ),
    passphrase: str | None = typer.Option(
        None, envvar=PASSPHRASE_ENV, hidden=True, help="passphrase of the key archive"
    ),
) -> None:
    """Back up the running platform: database (SQLite online backup or pg_dump) and audit
    archives, audited in the live log."""
    secret = _passphrase(passphrase, confirm=True) if with_keys else None
    with opened_platform() as p:
        result = ops.create_backup(p.db, p.keys, p.settings, file, actor=_operator())
        if with_keys is not None and secret is not None:
            names = write_keys_archive(p.settings.keys_dir, with_keys, secret)
            console.print(f"keys ({', '.join(names)}) written to {with_keys}", highlight=False)
    head = result.manifest.audit_head
    console.print(
        f"backup {result.manifest.backup_id} written to {result.path} "
        f"({result.size} bytes, sha256 {result.sha256[:16]}, audit head seq "
        f"{head.seq if head else 0}, {len(result.manifest.archives)} audit archives)",
        highlight=False,
    )


def restore(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a govshare backup file"),
    with_keys: Path | None = typer.Option(
        None, "--with-keys", exists=True, dir_okay=False, help="restore the keys from this file"
    ),
    passphrase: str | None = typer.Option(
        None, envvar=PASSPHRASE_ENV, hidden=True, help="passphrase of the key archive"
    ),
    yes: bool = typer.Option(False, "--yes", help="do not ask for confirmation"),
) -> None:
    """Replace the configured database with a backup (stop the platform first), restore the
    audit archives (and the keys with --with-keys), audit the restore and verify the chain."""
    settings = get_settings()
    if not yes:
        typer.confirm(
            f"replace the database {settings.effective_database_url.split('@')[-1]} with {file}?",
            abort=True,
        )
    try:
        keys = (
            read_keys_archive(with_keys, _passphrase(passphrase, confirm=False))
            if with_keys
            else None
        )
        result = ops.restore_backup(settings, file, actor=_operator(), keys=keys)
    except DomainError as exc:
        raise fail(exc.message("en") + f" [{exc.code}]") from exc
    m = result.manifest
    console.print(
        f"restored backup {m.backup_id} of {m.created_at} ({m.dialect}); "
        f"restore recorded at audit seq {result.restore_seq}",
        highlight=False,
    )
    if result.keys_set_aside is not None:
        console.print(f"previous keys moved to {result.keys_set_aside}", highlight=False)
    if not result.report.ok:
        err_console.print(result.report.summary(), highlight=False)
        raise typer.Exit(1)
    console.print(result.report.summary(), highlight=False)
