"""Calls that reach one event loop in the same turn are started together.

A server's event loop starts the calls whose requests arrived together one after the
other, in one turn of the loop; each would open its own read, read its grant, and read
its records with a statement of its own (on PostgreSQL, a round trip each, during which
the loop waits). ``TurnBatcher.call(item)`` queues the call and lets the loop finish the
turn; then ``start_many`` starts every queued call inside ONE read (``start_calls``, the
steps lookup and verification share): the grant of calls on
the same grant by the same system is read once (``Guard.authorise(grants=...)``), and the
records of all authorised calls on one pool are read with one statement
(``queries.find_by_keys``). Authorisation, limits, refusals, masking, the audit entry and
the receipt stay per call, in the order the calls came, exactly as for a call alone; a
call's refusal or failure is its own. A record is read only for a call already
authorised.

``start_many(items)`` returns one outcome per item, in order: what the call's coroutine
goes on with, or the exception it raises. A call whose coroutine was cancelled before the
turn ended (its client left) is not started (``kernel.turns``).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection

from govshare.delivery.guard import (
    Authorised,
    CallRequest,
    GrantReads,
    Guard,
    RecordedRefusal,
    guard_for,
)
from govshare.delivery.queries import find_by_keys
from govshare.delivery.services.common import Subject
from govshare.identity.model import VerifiedClient
from govshare.kernel.actor import Actor
from govshare.kernel.errors import DomainError
from govshare.kernel.turns import TurnBatcher
from govshare.platform import Platform
from govshare.storage.engine import Database

Item = TypeVar("Item")
Out = TypeVar("Out")


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


class Call(Protocol):
    """What a batched call carries for ``start_calls``: at least its caller."""

    @property
    def actor(self) -> Actor | VerifiedClient: ...


CallT = TypeVar("CallT", bound=Call)


def start_calls(
    platform: Platform,
    calls: Sequence[CallT],
    *,
    request: Callable[[CallT], CallRequest],
    admit: Callable[[Guard, Connection, Authorised, CallT], Subject],
    codes: Callable[[CallT, Authorised], tuple[str, ...]],
    limit: int,
    finish: Callable[[Guard, CallT, Authorised, Subject, list[dict[str, Any]]], Out],
    on_loop: bool = False,
    prepare: Callable[[list[tuple[Authorised, list[dict[str, Any]]]]], list[list[dict[str, Any]]]]
    | None = None,
) -> list[Out | BaseException]:
    """Start ``calls`` in one read, the steps lookup and verification share. In the read:
    each call authorised (``request``: what it asks of its grant), then ``admit``ted
    (its own checks after authorisation; returns the subject, or raises the refusal,
    which is recorded); then the records of every admitted call read together
    (``codes``: the items it reads, at most ``limit`` records a subject). After the read,
    ``finish`` answers each admitted call from its records and queues its audit entry.
    One outcome per call, in order: ``finish``'s result or the exception the call
    raises. If the read fails, every call without an outcome fails with it, and the
    calls authorised so far are released (refusals keep their own). ``on_loop``: the
    refusals are not waited for here, on the loop's thread (``RecordedRefusal``; the
    call's coroutine awaits them, ``started``). ``prepare``: what ``finish`` gets instead
    of each admitted call's records, made for all of them at once (lookup masks them a
    column at a time); if it fails, so do the admitted calls."""
    guard = guard_for(platform)
    out: list[Out | BaseException | None] = [None] * len(calls)
    ready: list[tuple[int, Authorised, Subject]] = []
    found: list[list[dict[str, Any]]] = []
    try:
        with platform.db.read(snapshot=False) as conn:
            grants: GrantReads = {}
            for i, c in enumerate(calls):
                try:
                    auth = guard.authorise(
                        conn, c.actor, request(c), grants=grants, on_loop=on_loop
                    )
                except (DomainError, RecordedRefusal) as exc:  # refused (and recorded)
                    out[i] = exc
                    continue
                try:
                    subj = admit(guard, conn, auth, c)
                except DomainError as exc:
                    out[i] = guard.refuse(auth, exc, on_loop=on_loop)
                    continue
                except Exception:
                    guard.release(auth)
                    raise
                ready.append((i, auth, subj))
            wanted = [(subj, codes(calls[i], auth)) for i, auth, subj in ready]
            found = records_of(conn, wanted, limit)
        if prepare is not None:
            found = prepare([(auth, rows) for (_, auth, _), rows in zip(ready, found, strict=True)])
    except Exception as exc:  # the read (or prepare) failed: so do the calls
        for _, auth, _ in ready:
            guard.release(auth)
        out = [exc if o is None else o for o in out]
        ready = []
    for (i, auth, subj), rows in zip(ready, found, strict=True):
        try:
            out[i] = finish(guard, calls[i], auth, subj, rows)
        except Exception as exc:
            guard.release(auth)
            out[i] = exc
    return [o if o is not None else RuntimeError("call not started") for o in out]


def only(outcomes: list[Out | BaseException]) -> Out:
    """The one call's outcome (``start_calls`` for a call alone): its result, or raised."""
    outcome = outcomes[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


async def started(call: Awaitable[Out]) -> Out:
    """A batched call's outcome on the event loop (``TurnBatcher.call``): a refusal is
    raised once its audit entry is durable."""
    try:
        return await call
    except RecordedRefusal as refused:
        await refused.raise_refusal()
