"""``govshare ingest``: load a file into a resource's data pool, download a batch's
quarantined rows, resubmit the corrected file. The command acts as a named user (``--as``)
so that the audit log names a real person, under that user's permissions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from govshare.aggregation import ingest, quarantine
from govshare.aggregation.model import IngestResult
from govshare.catalog import queries as catalog_queries
from govshare.cli.common import console, fail, opened_platform
from govshare.identity import queries as identity_queries
from govshare.kernel.actor import Actor
from govshare.platform import Platform

app = typer.Typer(help="Aggregation (汇聚): load data files into data pools.", no_args_is_help=True)


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSONL = "jsonl"


def actor_named(platform: Platform, username: str) -> Actor:
    with platform.db.read() as conn:
        user = identity_queries.user_by_username(conn, username)
        actor = identity_queries.actor_for_user(conn, user.id) if user is not None else None
    if actor is None:
        raise fail(f"no active user named {username!r}")
    return actor


def resource_id_of(platform: Platform, code: str, actor: Actor) -> str:
    """The resource's id, once ``actor`` is known to be its provider (before any reading)."""
    with platform.db.read() as conn:
        res = catalog_queries.resource_by_code(conn, code)
        if res is None:
            raise fail(f"no resource with the code {code!r}")
        version = catalog_queries.published_version(conn, res.id)
        if version is None:
            raise fail(f"the resource {code} is not published: it has no data pool")
        ingest.require_provider(conn, actor, version)
    return res.id


@contextmanager
def row_progress(label: str, size: int) -> Iterator[Callable[[int], None]]:
    """A spinner with the count of rows loaded so far (a stream's total is unknown; the file
    size is shown instead). Drawn only on a terminal."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("[bold]{task.completed:,}[/] rows loaded"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"{label} ({size / 1_048_576:.1f} MiB)", total=None)
        yield lambda n: progress.advance(task, n)


def print_result(result: IngestResult, code: str) -> None:
    b = result.batch
    if result.duplicate:
        console.print(
            f"duplicate: this file was loaded before as batch {b.id}; nothing changed",
            highlight=False,
        )
        return
    console.print(
        f"batch {b.id} ({b.status.value}) into {code}: {b.rows_total} rows, "
        f"{b.rows_loaded} loaded, {b.rows_rejected} rejected; "
        f"quality {b.quality_score:.1f} (validity {b.validity:.1%}, "
        f"completeness {b.completeness:.1%}, uniqueness {b.uniqueness:.1%})",
        highlight=False,
    )
    console.print(
        f"file {b.file_name}, encoding {b.encoding}, sha256 {b.file_sha256}", highlight=False
    )
    for r in result.rejected[:10]:
        reasons = "; ".join(e.message_en for e in r.errors)
        console.print(f"  row {r.row_no}: {reasons}", highlight=False)
    if b.rows_rejected:
        console.print(
            f"download the rejected rows: govshare ingest quarantine {b.id} -o rejected.csv "
            f"--as {b.actor_name}",
            highlight=False,
        )


@app.command("load")
def load(
    resource_code: str = typer.Argument(..., help="the resource code (资源代码)"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    fmt: FileFormat | None = typer.Option(
        None, "--format", help="csv, xlsx or jsonl (default: by the file's suffix)"
    ),
    username: str = typer.Option(..., "--as", help="the provider's user the load is done as"),
) -> None:
    """Load FILE into the data pool of RESOURCE_CODE: one atomic batch; bad rows are
    quarantined with their reasons; the same file twice loads once."""
    with opened_platform() as p:
        actor = actor_named(p, username)
        resource_id = resource_id_of(p, resource_code, actor)
        with row_progress(file.name, file.stat().st_size) as advance:
            result = ingest.ingest_file(
                p.db,
                resource_id,
                file,
                actor=actor,
                fmt=fmt.value if fmt is not None else None,
                progress=advance,
            )
        print_result(result, resource_code)


@app.command("quarantine")
def quarantine_rows(
    batch_id: str = typer.Argument(..., help="the batch whose rejected rows to download"),
    output: Path = typer.Option(..., "-o", "--output", dir_okay=False, help="the CSV to write"),
    username: str = typer.Option(..., "--as", help="the provider's user downloading"),
) -> None:
    """Write a batch's unresolved rejected rows as CSV (UTF-8 with BOM, with 错误原因)."""
    with opened_platform() as p:
        actor = actor_named(p, username)
        partial = output.with_name(output.name + ".part")
        try:
            with partial.open("wb") as out:
                n = quarantine.export_csv(p.db, batch_id, out, actor=actor)
            partial.replace(output)
        finally:
            partial.unlink(missing_ok=True)
    console.print(f"{n} rejected rows written to {output}", highlight=False)


@app.command("resubmit")
def resubmit(
    batch_id: str = typer.Argument(..., help="the batch whose rejected rows were corrected"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    fmt: FileFormat | None = typer.Option(None, "--format", help="csv, xlsx or jsonl"),
    username: str = typer.Option(..., "--as", help="the provider's user resubmitting"),
) -> None:
    """Load the corrected FILE for BATCH_ID's resource; the rows it fixed are resolved."""
    with opened_platform() as p:
        actor = actor_named(p, username)
        with row_progress(file.name, file.stat().st_size) as advance:
            done = quarantine.resubmit(
                p.db,
                batch_id,
                file,
                actor=actor,
                fmt=fmt.value if fmt is not None else None,
                progress=advance,
            )
        with p.db.read() as conn:
            code = catalog_queries.get_resource(conn, done.result.batch.resource_id).code
        print_result(done.result, code)
    console.print(
        f"resolved {done.resolved} rejected rows of batch {batch_id}; {done.remaining} remain",
        highlight=False,
    )
