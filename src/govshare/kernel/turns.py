"""Work that calls on one event loop start in the same turn of the loop, done together.

A server's event loop runs the coroutines whose requests (or whose awaited results)
arrived together one after the other, in one turn. ``TurnBatcher.call(item)`` queues the
item and lets the loop finish the turn; then ``start_many`` takes every item queued in
that turn at once (``delivery.services.batch``: the calls of a turn read together) and
returns one outcome per item, in
order: what the item's coroutine goes on with, or the exception it raises. An item whose
coroutine was cancelled before the turn ended (its client left) is not started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

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
