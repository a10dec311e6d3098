from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from govshare.cli.common import console, is_tty, opened_platform
from govshare.demo.data import LoadReport, seed_demo_data
from govshare.demo.documents import seed_demo_documents
from govshare.demo.seed import DemoSummary, seed_demo


def print_logins(summary: DemoSummary, base_url: str = "http://127.0.0.1:8000") -> None:
    console.print(f"\n[bold]govshare demo city[/] — {base_url}")
    console.print(f"  catalog: {summary.resources} published resources", highlight=False)
    console.print("  web logins (username / password / role / department):")
    for login in summary.logins:
        console.print(
            f"    {login.username:12} {login.password}  {login.role:16} {login.department}",
            highlight=False,
        )
    console.print("  client systems (client_id / secret):")
    for c in summary.clients:
        console.print(f"    {c.name}: {c.client_id} / {c.secret}", highlight=False)


def print_data(reports: list[LoadReport], seconds: float) -> None:
    if all(r.duplicate for r in reports):
        console.print("  data pools: the demo data is loaded already; unchanged", highlight=False)
        return
    loading = sum(r.seconds for r in reports)
    console.print(
        f"  data pools (loaded in {loading:.1f} s; whole demo {seconds:.1f} s):", highlight=False
    )
    for r in reports:
        state = "already loaded" if r.duplicate else f"{r.loaded} rows, {r.seconds:.1f} s"
        console.print(f"    {r.department}/{r.resource}: {state}", highlight=False)


@contextmanager
def _progress() -> Iterator[Callable[[str, int], None] | None]:
    """A rich progress bar per resource on a terminal; nothing otherwise."""
    if not is_tty():
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(resource: str, rows: int) -> None:
            if resource not in tasks:
                tasks[resource] = bar.add_task(resource, total=None)
            bar.advance(tasks[resource], rows)

        yield advance


def demo(
    data: bool = typer.Option(
        True, "--data/--no-data", help="load the synthetic data of the base resources"
    ),
) -> None:
    """Seed the demo city: 2 counties, ~30 departments, users, clients, ~220 catalog entries,
    and the data of its base resources (100,000 residents, 5,000 enterprises, licences,
    credit records; a few deliberate cross-source conflicts).

    The catalog resources are drafted, submitted and approved through the catalog services;
    the data is loaded through the ingest service as each provider's user, so it is
    validated and audited. Running it again changes nothing."""
    started = time.perf_counter()
    with opened_platform() as p, _progress() as progress:
        summary = seed_demo(
            p.db, known_profiles=set(p.profiles), profiles=p.profiles, data=data, progress=progress
        )
        if data and not summary.created and summary.resources:
            # the city exists: load whatever data is missing (none after a complete run)
            summary.data = seed_demo_data(p.db, progress=progress)
        if data:
            stored = seed_demo_documents(p)  # a few licence PDFs (once)
            if stored:
                console.print(f"  documents: {stored} e-licence PDFs stored", highlight=False)
    loaded = any(not r.duplicate for r in summary.data)
    console.print(
        "seeded the demo city"
        if summary.created
        else "the demo city exists already; loaded its missing data"
        if loaded
        else "the demo city exists already; unchanged"
    )
    print_logins(summary)
    if summary.data:
        print_data(summary.data, time.perf_counter() - started)
