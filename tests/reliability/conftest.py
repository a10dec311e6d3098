"""Reliability tests drive the real ASGI app too: no route may write on the event loop's
thread."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _writes_off_the_loop(no_writes_on_the_event_loop: None) -> None:
    """Checked for every test here (``tests/conftest.py``)."""
