"""Calls that reach one event loop in the same turn are started together.

A server's event loop starts the calls whose requests arrived together one after the
other, in one turn of the loop; each would open its own read, read its grant, and read
its records with a statement of its own (on PostgreSQL, a round trip each, during which
the loop waits). ``TurnBatcher.call(item)`` queues the call and lets the loop finish the
turn; then ``start_many`` starts every queued call inside ONE read: the grant of calls on
the same grant by the same system is read once (``Guard.authorise(grants=...)``), and the
records of all authorised calls on one pool are read with one statement
(``queries.find_by_keys``). Authorisation, limits, refusals, masking, the audit entry and
the receipt stay per call, in the order the calls came, exactly as for a call alone; a
call's refusal or failure is its own. A record is read only for a call already
authorised.

``start_many(items)`` returns one outcome per item, in order: what the call's coroutine
goes on with, or the exception it raises. A call whose coroutine was cancelled before the
turn ended (its client left) is not started.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from govshare.delivery.guard import Authorised, Guard
from govshare.delivery.queries import find_by_keys
from govshare.delivery.services.common import Subject
from govshare.platform import Platform
from govshare.storage.engine import Database

Item = TypeVar("Item")
Out = TypeVar("Out")


class TurnBatcher(Generic[Item, Out]):
    def __init__(self, start_many: Callable[[Sequence[Item]], list[Out | BaseException]]) -> None:
        self._start_many = start_many
        self._queued: dict[asyncio.AbstractEventLoop, list[tuple[Item, asyncio.Future[Out]]]] = {}

    async def call(self, item: Item) -> Out:
        """Queue ``item`` on the running loop and wait for its outcome."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Out] = loop.create_future()
        queued = self._queued.get(loop)
        if queued is None:
            queued = self._queued[loop] = []
            loop.call_soon(self._run, loop)  # after the callbacks already due this turn
        queued.append((item, future))
        return await future

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        queued = self._queued.pop(loop, [])
        live = [(item, future) for item, future in queued if not future.cancelled()]
        if not live:
            return
        try:
            outcomes = self._start_many([item for item, _ in live])
        except BaseException as exc:  # the batch failed as a whole: each call learns of it
            for _, future in live:
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        # nothing ran on the loop meanwhile: no future was cancelled or settled
        for (_, future), outcome in zip(live, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


_batchers: weakref.WeakKeyDictionary[Database, dict[str, Any]] = weakref.WeakKeyDictionary()


def batcher_for(
    platform: Platform,
    name: str,
    start_many: Callable[[Platform, Sequence[Item]], list[Out | BaseException]],
) -> TurnBatcher[Item, Out]:
    """The platform's batcher called ``name`` (one per database; it holds the platform
    weakly, as the guard does)."""
    mine = _batchers.setdefault(platform.db, {})
    batcher: TurnBatcher[Item, Out] | None = mine.get(name)
    if batcher is None:
        ref = weakref.ref(platform)

        def start(items: Sequence[Item]) -> list[Out | BaseException]:
            live = ref()
            if live is None:
                raise RuntimeError("the platform of these calls was closed")
            return start_many(live, items)

        batcher = mine[name] = TurnBatcher(start)
    return batcher


def records_of(
    conn: Connection, wanted: Sequence[tuple[Subject, tuple[str, ...]]], limit: int
) -> list[list[dict[str, Any]]]:
    """The live records of each (subject, item codes), in order: one statement per pool,
    key column and set of items (``queries.find_by_keys``) for all of them."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    pools = {}
    for subj, codes in wanted:
        group = (subj.pool.table_name, subj.column, codes)
        groups.setdefault(group, []).append(subj.key)
        pools[group] = subj.pool
    found = {
        group: find_by_keys(conn, pools[group], group[1], keys, group[2], limit)
        for group, keys in groups.items()
    }
    return [
        found[(subj.pool.table_name, subj.column, codes)].get(subj.key, [])
        for subj, codes in wanted
    ]


def fail_started(
    guard: Guard, out: list[Any], started: Sequence[Authorised], exc: Exception
) -> None:
    """The batch's read failed: the calls authorised so far are released, and every call
    without an outcome yet (refusals keep theirs) fails with ``exc``."""
    for auth in started:
        guard.release(auth)
    for i, outcome in enumerate(out):
        if outcome is None:
            out[i] = exc
