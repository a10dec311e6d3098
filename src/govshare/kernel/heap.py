"""A long-running server's heap and CPython's cyclic garbage collector (issue 7).

A server allocates and frees short-lived objects on every request. Reference counting frees
almost all of them; the cyclic collector still runs every few hundred allocations, and every
so often a full collection walks every object the process holds: the web framework's
routes, the request and response schemas, the ORM's metadata, the modules, hundreds of
thousands of objects made at start-up that live as long as the process. On a lookup that
walking cost about a tenth of the call's CPU.

``frozen_heap`` collects once, when the server has started, then moves everything still
alive into the collector's permanent generation (``gc.freeze``), so that later collections
walk only what was made after it. Nothing is freed later than before: reference counting
works as always, and only a reference cycle among the frozen objects would stay (they were
alive at start-up). When the block ends, the frozen objects go back to the oldest
generation (``gc.unfreeze``), so that a process that starts and stops apps, as the tests do,
keeps collecting them. One server per process: a second, nested block would unfreeze the
first's objects when it ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_heap() -> Iterator[int]:
    """Collect, freeze what is alive for the block, give it back after. Yields how many
    objects were frozen."""
    gc.collect()
    gc.freeze()
    try:
        yield gc.get_freeze_count()
    finally:
        gc.unfreeze()
