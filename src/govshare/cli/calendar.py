from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from govshare.cli.common import console, fail, opened_platform
from govshare.kernel.actor import Actor
from govshare.kernel.calendar import UnknownCalendarYear
from govshare.rules.calendar import load_year

app = typer.Typer(help="The working-day calendar (工作日, 调休).", no_args_is_help=True)


@app.command("add")
def add(
    start: str = typer.Argument(..., help="the day of the triggering event, YYYY-MM-DD"),
    days: int = typer.Argument(..., help="working days"),
    provisional: bool = typer.Option(
        False, "--provisional", help="estimate years the calendar does not know (Mon-Fri)"
    ),
) -> None:
    """Print the N-th working day after START (START itself is not counted)."""
    try:
        day = date.fromisoformat(start)
    except ValueError as exc:
        raise fail(f"not a date: {start}") from exc
    if days < 1:
        raise fail("days must be at least 1")
    with opened_platform() as p:
        cal = p.calendar()
    try:
        result = cal.add_working_days(day, days, provisional=provisional)
    except UnknownCalendarYear as exc:
        raise fail(
            f"the calendar has no holiday data for {exc.year}; load it with "
            f"'govshare calendar load FILE', or pass --provisional for an estimate"
        ) from exc
    if result.provisional:
        years = ", ".join(str(y) for y in result.unknown_years)
        console.print(f"{result.day.isoformat()} (provisional: {years} not loaded)")
    else:
        console.print(result.day.isoformat())


@app.command("load")
def load(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Load one year's holidays and adjusted working days (the State Council notice)."""
    with opened_platform() as p:
        parsed = load_year(p.db, file, actor=Actor.system("cli"), recompute=p.recompute_hooks)
    console.print(
        f"loaded {parsed.year}: {len(parsed.holidays)} holidays, "
        f"{len(parsed.adjusted_working_days)} adjusted working days ({parsed.source})"
    )


@app.command("years")
def years() -> None:
    """List the years the calendar knows."""
    with opened_platform() as p:
        known = sorted(p.calendar().known_years)
    console.print(f"{known[0]}-{known[-1]}" if known else "none")
