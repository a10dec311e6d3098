"""Docs are checked: every command and every setting is documented in the README."""

from __future__ import annotations

from pathlib import Path

import typer.main

from govshare.cli.main import app
from govshare.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    out = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        if subs:
            out.extend(f"govshare {name} {sub}" for sub in subs)
        else:
            out.append(f"govshare {name}")
    return out


def test_every_command_is_in_the_readme() -> None:
    commands = _commands()
    assert "govshare calendar add" in commands and "govshare audit verify" in commands
    missing = [c for c in commands if c not in README]
    assert not missing, f"document these commands in README.md: {missing}"


def test_every_setting_is_in_the_readme() -> None:
    missing = [
        f"GOVSHARE_{name.upper()}"
        for name in Settings.model_fields
        if f"GOVSHARE_{name.upper()}" not in README
    ]
    assert not missing, f"document these settings in README.md: {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    lines = [ln for ln in README.splitlines() if ln.strip()]
    block = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert block[0].startswith("bin/run") and block[1].startswith("bin/test")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\nbin/test" in ci  # CI calls the README's test command
