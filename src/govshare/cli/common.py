"""What every command needs: settings, the platform, clean error exits."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from govshare.config import get_settings
from govshare.kernel.errors import DomainError
from govshare.platform import Platform
from govshare.rules import ProfileError

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    # the message is text, not Rich markup: "[code]" must print as written
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


@contextmanager
def opened_platform() -> Iterator[Platform]:
    try:
        platform = Platform.open(get_settings())
    except ProfileError as exc:
        raise fail(str(exc), 2) from exc
    try:
        yield platform
    except DomainError as exc:
        raise fail(exc.message("en") + f" [{exc.code}]") from exc
    finally:
        platform.close()


def is_tty() -> bool:
    return sys.stdout.isatty()
