"""Read side of the data services: the grant as a call sees it, the client system, the
data pool of a grant's resource version, records by key, and call statistics.

The grant is read with its own select on ``share_grant`` (not through the sharing
package's model), one indexed primary-key lookup per call, so that a status change is
seen at the very next call (NX-41).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Date, String, Table, bindparam, func, or_, select

from govshare.aggregation.pools import Pool, PoolRow, pool_of_row, pools_of, serving_pool_id
from govshare.aggregation.tables import data_pool
from govshare.catalog.tables import data_item, resource, resource_version
from govshare.delivery.masking import level_of
from govshare.delivery.model import GrantedItem, GrantView
from govshare.delivery.tables import delivery_call_stat, delivery_error_stat
from govshare.identity.tables import client_system
from govshare.kernel.actor import Actor, ActorKind
from govshare.sharing.tables import share_grant
from govshare.storage.prepared import Prepared


@dataclass(frozen=True)
class _ItemMeta:
    sensitivity: str
    name: str


class _VersionItems:
    """Data items of published versions (immutable once published), cached per version."""

    def __init__(self, size: int = 512) -> None:
        self._cache: OrderedDict[str, dict[str, _ItemMeta]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, conn: Connection, version_id: str) -> dict[str, _ItemMeta]:
        with self._lock:
            hit = self._cache.get(version_id)
            if hit is not None:
                self._cache.move_to_end(version_id)
                return hit
        rows = conn.execute(
            select(data_item.c.code, data_item.c.sensitivity, data_item.c.name).where(
                data_item.c.version_id == version_id
            )
        ).all()
        found = {str(r.code): _ItemMeta(str(r.sensitivity), str(r.name)) for r in rows}
        with self._lock:
            self._cache[version_id] = found
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return found


_version_items = _VersionItems()


def _grant_statement() -> Any:
    """One statement for the call's grant, built once (the hot path binds three values)."""
    replacement = resource.alias()
    caller = client_system.alias()
    serving = data_pool.alias("serving")  # the grant's pool, read in the same statement
    calls_today = (
        select(func.coalesce(func.sum(delivery_call_stat.c.calls), 0))
        .where(delivery_call_stat.c.grant_id == share_grant.c.id)
        .where(delivery_call_stat.c.day == bindparam("today", type_=Date()))
        .scalar_subquery()
    )
    grant_client = (  # the OAuth client id of the client system the grant names
        select(client_system.c.client_id)
        .where(
            or_(
                client_system.c.id == share_grant.c.client_system_id,
                client_system.c.client_id == share_grant.c.client_system_id,
            )
        )
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            share_grant.c.id,
            share_grant.c.consumer_department_id,
            share_grant.c.client_system_id,
            share_grant.c.resource_id,
            share_grant.c.version_id,
            share_grant.c["items"],
            share_grant.c.modes,
            share_grant.c.purpose,
            share_grant.c.valid_until,
            share_grant.c.status,
            share_grant.c.rate_limit_per_minute,
            share_grant.c.quota_per_day,
            share_grant.c.transition_until,
            share_grant.c.replacement_code,
            resource.c.code.label("resource_code"),
            resource.c.status.label("resource_status"),
            resource.c.provider_department_id,
            resource.c.transition_ends_on,
            replacement.c.code.label("resource_replacement_code"),
            resource_version.c.version_no,
            calls_today.label("calls_today"),
            grant_client.label("client_system_client_id"),
            caller.c.name.label("caller_name"),
            caller.c.department_id.label("caller_department_id"),
            caller.c.active.label("caller_active"),
            *[serving.c[name].label(f"pool_{name}") for name in PoolRow._fields],
        )
        .select_from(share_grant)
        .join(resource, resource.c.id == share_grant.c.resource_id)
        .join(resource_version, resource_version.c.id == share_grant.c.version_id)
        .outerjoin(replacement, replacement.c.id == resource.c.replacement_resource_id)
        .outerjoin(
            serving,
            serving.c.id
            == serving_pool_id(share_grant.c.resource_id, resource_version.c.version_no),
        )
        .outerjoin(  # the calling system, when the caller is a verified token (one read)
            caller, caller.c.client_id == bindparam("caller", type_=String())
        )
        .where(share_grant.c.id == bindparam("grant_id", type_=String()))
    )


_GRANT = Prepared(_grant_statement())
_POOL_AT = -len(PoolRow._fields)  # the serving pool's columns end the grant's row


_PARSED_MAX = 4096
_parsed_grants: dict[tuple[str, str, str], tuple[tuple[GrantedItem, ...], tuple[str, ...]]] = {}


def _parsed(
    conn: Connection, version_id: str, items_json: str, modes_json: str
) -> tuple[tuple[GrantedItem, ...], tuple[str, ...]]:
    """A grant's items (with their version's sensitivity and names) and modes, parsed once
    per distinct stored text (a grant's terms change only by a new row value)."""
    key = (version_id, items_json, modes_json)
    hit = _parsed_grants.get(key)
    if hit is not None:
        return hit
    meta = _version_items.get(conn, version_id)
    items = []
    for raw in json.loads(items_json):
        code = str(raw["code"])
        m = meta.get(code)
        items.append(
            GrantedItem(
                code=code,
                level=level_of(raw.get("masking")),
                sensitivity=m.sensitivity if m else "secret",  # unknown: fail closed
                name=m.name if m else code,
            )
        )
    parsed = (tuple(items), tuple(json.loads(modes_json)))
    if len(_parsed_grants) >= _PARSED_MAX:
        _parsed_grants.clear()
    _parsed_grants[key] = parsed
    return parsed


def grant_for_call(conn: Connection, grant_id: str, today: date) -> GrantView | None:
    """The grant with its resource, version, replacement and today's call count."""
    return grant_and_caller(conn, grant_id, today, None)[0]


def grant_and_caller(
    conn: Connection, grant_id: str, today: date, client_id: str | None
) -> tuple[GrantView | None, Actor | None]:
    """``grant_for_call`` and, in the same statement, the active client system whose
    OAuth client id is ``client_id`` (None when there is no such grant, or no such
    active system)."""
    row = _GRANT.first(conn, {"grant_id": grant_id, "today": today, "caller": client_id})
    if row is None:
        return None, None
    caller = (
        Actor(
            kind=ActorKind.CLIENT_SYSTEM,
            id=client_id,
            name=row.caller_name,
            department_id=row.caller_department_id,
        )
        if client_id is not None and row.caller_active
        else None
    )
    return _grant_view(conn, row), caller


def _grant_view(conn: Connection, row: Any) -> GrantView:
    items, modes = _parsed(conn, str(row.version_id), row.items, row.modes)
    return GrantView(
        id=str(row.id),
        consumer_department_id=str(row.consumer_department_id),
        client_system_id=row.client_system_id,
        resource_id=str(row.resource_id),
        resource_code=str(row.resource_code),
        resource_status=str(row.resource_status),
        provider_department_id=str(row.provider_department_id),
        version_id=str(row.version_id),
        version_no=int(row.version_no),
        items=items,
        modes=modes,
        purpose=str(row.purpose),
        valid_until=row.valid_until,
        status=str(row.status),
        rate_limit_per_minute=int(row.rate_limit_per_minute or 0),
        quota_per_day=int(row.quota_per_day or 0),
        transition_until=row.transition_until,
        resource_transition_ends_on=row.transition_ends_on,
        replacement_code=row.replacement_code or row.resource_replacement_code,
        calls_today=int(row.calls_today or 0),
        client_system_client_id=row.client_system_client_id,
        pool=None if row.pool_id is None else pool_of_row(PoolRow(*row[_POOL_AT:])),
    )


# Pools ----------------------------------------------------------------------------------
def pool_for_version(conn: Connection, resource_id: str, version_no: int) -> Pool | None:
    """The pool that serves ``version_no`` of a resource: the oldest generation whose
    newest served version is at least ``version_no`` (a version that only added items is
    served by the migrated pool; one that changed types opened a newer generation, while
    grants on the older versions keep reading the old pool through their transition)."""
    candidates = sorted(pools_of(conn, resource_id), key=lambda p: p.generation)
    for pool in candidates:
        if pool.version_no >= version_no:
            return pool
    return candidates[-1] if candidates else None


def grant_pool(conn: Connection, grant: GrantView) -> Pool | None:
    """The pool serving the grant's version: the one read with the grant (in the call's
    own read), else ``pool_for_version`` (a grant view built without it)."""
    return grant.pool or pool_for_version(conn, grant.resource_id, grant.version_no)


KEYS_PER_READ = 64  # keys bound in one statement by ``find_by_keys``
_by_keys_lock = threading.Lock()
_by_keys: dict[tuple[str, str, tuple[str, ...], int], tuple[Table, Prepared]] = {}


def find_by_keys(
    conn: Connection,
    pool: Pool,
    column: str,
    keys: list[str],
    columns: tuple[str, ...],
    limit: int = 100,
) -> dict[str, list[dict[str, Any]]]:
    """The live (not deleted) records of several values of one key column, only
    ``columns`` (the calls of one batch, ``delivery.services.batch``): key -> its
    records (at most ``limit``; a key with none is absent). One statement per
    ``KEYS_PER_READ`` distinct keys, built once per pool layout, columns and number of
    keys, and run ``Prepared``."""
    table = pool.table()
    wanted = tuple(c for c in columns if c in table.c)
    out: dict[str, list[dict[str, Any]]] = {}
    distinct = list(dict.fromkeys(keys))
    for at in range(0, len(distinct), KEYS_PER_READ):
        part = distinct[at : at + KEYS_PER_READ]
        signature = (pool.table_name, column, wanted, len(part))
        found = _by_keys.get(signature)
        if found is None or found[0] is not table:
            marks = [bindparam(f"k{i}", type_=table.c[column].type) for i in range(len(part))]
            stmt = select(table.c[column].label("_key"), *[table.c[c] for c in wanted]).where(
                table.c._deleted.is_(False), table.c[column].in_(marks)
            )
            found = (table, Prepared(stmt))
            with _by_keys_lock:
                _by_keys[signature] = found
        for row in found[1].tuples(conn, {f"k{i}": k for i, k in enumerate(part)}):
            records = out.setdefault(row[0], [])
            if len(records) < limit:
                records.append(dict(zip(wanted, row[1:], strict=True)))
    return out


# Statistics -----------------------------------------------------------------------------
@dataclass(frozen=True)
class DayStat:
    grant_id: str
    day: date
    mode: str
    calls: int
    rows: int
    refusals: int
    latency_ms_avg: float | None


def call_stats(
    conn: Connection, *, grant_ids: list[str] | None = None, since: date | None = None
) -> list[DayStat]:
    q = select(delivery_call_stat).order_by(
        delivery_call_stat.c.day.desc(), delivery_call_stat.c.grant_id
    )
    if grant_ids is not None:
        q = q.where(delivery_call_stat.c.grant_id.in_(grant_ids))
    if since is not None:
        q = q.where(delivery_call_stat.c.day >= since)
    out = []
    for r in conn.execute(q).all():
        calls = int(r.calls)
        out.append(
            DayStat(
                grant_id=str(r.grant_id),
                day=r.day,
                mode=str(r.mode),
                calls=calls,
                rows=int(r.rows),
                refusals=int(r.refusals),
                latency_ms_avg=(float(r.latency_ms_sum) / calls) if calls else None,
            )
        )
    return out


def error_stats(conn: Connection, grant_id: str, day: date | None = None) -> dict[str, int]:
    """Refusals by error code for one grant (over all days, or one day)."""
    q = (
        select(delivery_error_stat.c.code, func.sum(delivery_error_stat.c.count))
        .where(delivery_error_stat.c.grant_id == grant_id)
        .group_by(delivery_error_stat.c.code)
    )
    if day is not None:
        q = q.where(delivery_error_stat.c.day == day)
    return {str(code): int(n) for code, n in conn.execute(q).all()}
