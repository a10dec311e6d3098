"""Datasette as an ASGI app, so that it runs under the same uvicorn command line as every
other contender (one worker, no access log). Imported by the peers' virtualenv only.

BENCH_DATASETTE_DB names the SQLite file; Datasette's HTTP cache is off
(``default_cache_ttl`` 0), everything else is Datasette's default.
"""

from __future__ import annotations

import os
from typing import Any


def app() -> Any:
    from datasette.app import Datasette  # type: ignore[import-not-found]  # peers' venv

    ds = Datasette(files=[os.environ["BENCH_DATASETTE_DB"]], settings={"default_cache_ttl": 0})
    return ds.app()
