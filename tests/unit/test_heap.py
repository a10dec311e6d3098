"""The server's collector (issue 7): start-up's objects are kept out of the cyclic
collector's walks and collections come less often while the server runs; both are given
back when it stops."""

from __future__ import annotations

import gc
import weakref

import pytest

from govshare.kernel.heap import OLDER, YOUNG, tuned_gc


class _Node:
    def __init__(self) -> None:
        self.peer: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    """A two-object reference cycle nobody else holds; only the cyclic collector frees it."""
    a, b = _Node(), _Node()
    a.peer, b.peer = b, a
    return weakref.ref(a)


def test_what_was_alive_is_frozen_for_the_block_and_given_back_after() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with tuned_gc() as frozen:
        assert frozen > 1000 and gc.get_freeze_count() > 0  # the whole test process
        assert gc.get_threshold() == (YOUNG, OLDER, OLDER)
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_the_block_gives_everything_back_when_it_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), tuned_gc():
        raise RuntimeError("the server stopped")
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_cycles_made_while_frozen_are_still_collected() -> None:
    with tuned_gc():
        gone = _cycle()
        gc.collect()
        assert gone() is None


def test_a_frozen_cycle_is_collected_once_the_block_ends() -> None:
    """A cycle alive at start-up and dropped while frozen waits for the end of the block
    (that is what freezing means); ``unfreeze`` hands it back to the collector."""
    holder = [_Node()]
    holder[0].peer = holder[0]
    kept = weakref.ref(holder[0])
    with tuned_gc():
        holder.clear()
        gc.collect()
        assert kept() is not None
    gc.collect()
    assert kept() is None
