"""Sharing fixtures: the demo city, with regions under each profile built on demand."""

from __future__ import annotations

import pytest

from govshare.platform import Platform
from tests.integration.catalog.conftest import City


@pytest.fixture
def city(demo_platform: Platform) -> City:
    return City(demo_platform)
