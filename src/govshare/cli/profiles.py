from __future__ import annotations

import typer

from govshare.cli.common import console, fail
from govshare.config import get_settings
from govshare.rules import ProfileError, load_profiles
from govshare.rules.loader import profile_source

app = typer.Typer(help="Rule profiles (one per jurisdiction's measures).", no_args_is_help=True)


@app.command("list")
def list_profiles() -> None:
    """List the profiles and their measures."""
    try:
        profiles = load_profiles(get_settings().profile_dir)
    except ProfileError as exc:
        raise fail(str(exc), 2) from exc
    for name, p in profiles.items():
        console.print(f"{name:10} {p.title_zh}  ({p.source})", highlight=False)


@app.command("show")
def show(name: str) -> None:
    """Print a profile, with the requirement each value cites."""
    settings = get_settings()
    try:
        profiles = load_profiles(settings.profile_dir)
    except ProfileError as exc:
        raise fail(str(exc), 2) from exc
    if name not in profiles:
        raise fail(f"no profile named '{name}' (have: {', '.join(profiles)})")
    console.print(profile_source(name, settings.profile_dir), highlight=False, markup=False)
