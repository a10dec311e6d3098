"""Cross-source checks (一数一源 / 多元校核; SQ-15, YX-17, HB-17, NX-27).

Two published resources of different providers may carry the same data element (same
normalised item name) for the same subject (both pools keyed by 身份证号, or both by
统一社会信用代码). After a batch loads, ``check_after_load`` compares the rows the batch
touched with every such pool and opens a coordination item (协调事项) for each value
conflict, for the authority of the jurisdiction. The authority names the authoritative
source (数源部门) of an element; conflicts on it are then routed to the other provider to
correct, who reloads and marks the item corrected, or disputes it back to the authority.

Cost. A batch's rows are found without scanning the pool: every row a batch writes gets a
fresh ``_seq`` above all earlier ones, so the batch occupies the top of the ``_seq`` index
(``_batch_range`` finds its bottom by binary search, O(log n) index probes). The rows are
then joined, window by window of ``CHUNK`` sequence numbers, to the other pool on its
unique key index. Only joined rows whose values differ in SQL (a superset of real
conflicts) reach Python, unless unresolved items of that pair must learn whether their
values now agree.

Privacy. Items hold the key masked plus a keyed fingerprint (HMAC with the platform's
crosscheck key) to find it again, and each value masked by the element's sensitivity plus
a keyed hash. Raw values stay in the pools; none goes to the audit log or an error.

Where it runs: ``aggregation.ingest.ingest`` calls ``check_after_load`` inside the batch's
transaction, after the rows are written and before the batch's audit entries, so a batch
and the conflicts it reveals commit together. On PostgreSQL the check takes its own
advisory lock first (always before the audit lock), so two batches of different resources
never open the same item twice. At most ``MAX_NEW_ITEMS`` items open per batch; the rest
are counted in the batch's VERIFY audit entry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Table, and_, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from govshare.aggregation.cells import DATE_FORMATS, DATETIME_FORMATS
from govshare.aggregation.crosscheck_tables import (
    authoritative_source,
    coordination_event,
    coordination_item,
    crosscheck_key,
)
from govshare.aggregation.pools import Pool, active_pool
from govshare.aggregation.tables import data_pool, ingest_batch
from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries as catalog_queries
from govshare.catalog.model import IdentifierKind, ItemType, ResourceStatus
from govshare.catalog.standards import normalise
from govshare.catalog.tables import data_item, resource
from govshare.identity import queries as identity_queries
from govshare.kernel.actor import Actor
from govshare.kernel.clock import utcnow
from govshare.kernel.ids import new_id
from govshare.kernel.masking import SensitivityKind, mask
from govshare.storage.engine import Database, Transaction

CHUNK = 5000  # sequence numbers per join window
MAX_NEW_ITEMS = 10_000  # per batch: a wholesale mismatch is one finding, not a million items
LOCK_KEY = zlib.crc32(b"govshare.crosscheck")
CHECKER = Actor.system("crosscheck")
KEY_KINDS = {IdentifierKind.ID_CARD.value, IdentifierKind.USCC.value}
DISPLAY_MAX = 300


class ItemStatus(StrEnum):
    OPEN = "open"  # with the authority
    ROUTED = "routed"  # with the provider that must correct
    RESOLVED = "resolved"


class Resolution(StrEnum):
    CORRECTED = "corrected"  # the values agree again
    SETTLED = "settled"  # the authority closed it after joint verification


class EventAction(StrEnum):
    OPENED = "opened"
    ROUTED = "routed"
    AGREED = "agreed"  # a later load made the values agree
    DIFFERS = "differs"  # ... and a still later one made them differ again
    CORRECTED = "corrected"
    DISPUTED = "disputed"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Side:
    resource_id: str
    department_id: str
    item_code: str
    value_masked: str
    value_hash: str


@dataclass(frozen=True)
class CoordinationItem:
    id: str
    jurisdiction_id: str
    element: str
    element_label: str
    key_kind: str
    key_masked: str
    key_fingerprint: str
    sensitivity: str
    a: Side
    b: Side
    status: ItemStatus
    assignee_department_id: str | None
    authoritative_department_id: str | None
    values_agree: bool
    disputed: bool
    opened_batch_id: str
    last_batch_id: str
    opened_at: datetime
    updated_at: datetime
    routed_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    resolved_by: str | None

    @property
    def department_ids(self) -> tuple[str, str]:
        return self.a.department_id, self.b.department_id

    def other_department(self, department_id: str) -> str:
        return (
            self.b.department_id
            if department_id == self.a.department_id
            else (self.a.department_id)
        )


@dataclass(frozen=True)
class CoordinationEvent:
    at: datetime
    action: EventAction
    actor_name: str
    department_id: str | None
    batch_id: str | None
    note: str


@dataclass(frozen=True)
class AuthoritativeSource:
    id: str
    jurisdiction_id: str
    element: str
    element_label: str
    department_id: str
    resource_id: str | None
    note: str
    named_by: str
    named_at: datetime


@dataclass
class CheckResult:
    pools: int = 0  # other pools compared
    rows: int = 0  # joined rows examined in Python
    opened: int = 0
    seen_again: int = 0
    agreed: int = 0
    not_opened: int = 0  # beyond MAX_NEW_ITEMS


# Values -------------------------------------------------------------------------------
def _half_width(s: str) -> str:
    out = []
    for ch in s:
        code = ord(ch)
        if code == 0x3000:
            ch = " "
        elif 0xFF01 <= code <= 0xFF5E:
            ch = chr(code - 0xFEE0)
        out.append(ch)
    return "".join(out)


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(_half_width(str(value)).split())


def _category(item_type: str) -> str:
    t = ItemType(item_type)
    if t in (ItemType.INTEGER, ItemType.DECIMAL):
        return "number"
    if t in (ItemType.DATE, ItemType.DATETIME, ItemType.BOOLEAN):
        return t.value
    return "text"


def _as(value: Any, category: str) -> str | None:
    """The comparison form of ``value`` read as ``category``; None if it does not read so."""
    s = _text(value)
    try:
        if category == "number":
            d = Decimal(s.replace(",", ""))
            return "0" if d == 0 else format(d.normalize(), "f")
        if category == "date":
            if isinstance(value, date):
                return (value.date() if isinstance(value, datetime) else value).isoformat()
            for fmt in DATE_FORMATS:
                try:
                    return datetime.strptime(s, fmt).date().isoformat()
                except ValueError:
                    continue
            return None
        if category == "datetime":
            if isinstance(value, datetime):
                return value.replace(tzinfo=None).isoformat(sep=" ")
            for fmt in DATETIME_FORMATS:
                try:
                    return datetime.strptime(s, fmt).isoformat(sep=" ")
                except ValueError:
                    continue
            return None
        if category == "boolean":
            if isinstance(value, bool):
                return "1" if value else "0"
            return {"1": "1", "true": "1", "是": "1", "0": "0", "false": "0", "否": "0"}.get(
                s.lower()
            )
    except (InvalidOperation, ValueError):
        return None
    return s


def canonical(a: Any, a_type: str, b: Any, b_type: str) -> tuple[str | None, str | None]:
    """Both values in one comparison form: stripped, full-width folded to half-width,
    numbers and dates by value. An empty value is None (NULL vs value is no conflict)."""
    if a is None or b is None:
        return None, None
    ca, cb = _category(a_type), _category(b_type)
    common = ca if ca == cb else (cb if ca == "text" else ca if cb == "text" else "text")
    out: list[str | None] = []
    for v in (a, b):
        c = _as(v, common) if common != "text" else None
        out.append(c if c is not None else (_text(v) or None))
    return out[0], out[1]


def _display(value: Any, sensitivity: str) -> str:
    kind = sensitivity if sensitivity in set(SensitivityKind) else SensitivityKind.SECRET
    shown = str(mask(_text(value), kind))
    return shown if len(shown) <= DISPLAY_MAX else shown[: DISPLAY_MAX - 1] + "…"


def _secret(conn: Connection, *, create: bool = False) -> bytes | None:
    row = conn.execute(select(crosscheck_key.c.secret).where(crosscheck_key.c.id == 1)).first()
    if row is not None:
        return bytes.fromhex(row.secret)
    if not create:
        return None
    value = secrets.token_hex(32)
    conn.execute(insert(crosscheck_key).values(id=1, secret=value, created_at=utcnow()))
    return bytes.fromhex(value)


def _hmac(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _key_fp(secret: bytes, kind: str, key: Any) -> str:
    return _hmac(secret, f"k|{kind}|{str(key).strip().upper()}")


def _value_hash(secret: bytes, canon: str) -> str:
    return _hmac(secret, f"v|{canon}")


def _open_key(element: str, fp: str, resource_a: str, resource_b: str) -> str:
    return hashlib.sha256(f"{element}|{fp}|{resource_a}|{resource_b}".encode()).hexdigest()


# The pools to compare -------------------------------------------------------------------
@dataclass(frozen=True)
class _Element:
    name: str  # normalised
    label: str
    code: str
    type: str
    sensitivity: str


@dataclass(frozen=True)
class _Pooled:
    resource_id: str
    department_id: str
    pool: Pool
    key_code: str
    key_kind: str
    elements: dict[str, _Element]


def _pooled(conn: Connection, resource_id: str) -> _Pooled | None:
    res = catalog_queries.get_resource(conn, resource_id)
    if res.published_version_id is None or res.status is ResourceStatus.RETIRED:
        return None
    pool = active_pool(conn, resource_id)
    if pool is None or len(pool.key_columns) != 1:
        return None
    key = pool.column(pool.key_columns[0])
    if key is None or key.identifier not in KEY_KINDS:
        return None
    elements: dict[str, _Element] = {}
    for it in catalog_queries.items_of(conn, res.published_version_id):
        name = normalise(it.name)
        if it.code != key.code and pool.column(it.code) is not None and name not in elements:
            elements[name] = _Element(name, it.name, it.code, it.type.value, it.sensitivity)
    return _Pooled(
        resource_id, res.provider_department_id, pool, key.code, key.identifier, elements
    )


def _others(conn: Connection, mine: _Pooled) -> list[_Pooled]:
    """Live pools of other providers that share an element and the key kind with ``mine``."""
    if not mine.elements:
        return []
    ids = conn.execute(
        select(resource.c.id)
        .distinct()
        .join(data_item, data_item.c.version_id == resource.c.published_version_id)
        .join(
            data_pool,
            and_(data_pool.c.resource_id == resource.c.id, data_pool.c.active.is_(True)),
        )
        .where(
            data_item.c.norm_name.in_(sorted(mine.elements)),
            resource.c.id != mine.resource_id,
            resource.c.provider_department_id != mine.department_id,
            resource.c.status != ResourceStatus.RETIRED.value,
        )
        .order_by(resource.c.id)
    ).scalars()
    out = []
    for rid in ids:
        other = _pooled(conn, rid)
        if (
            other is not None
            and other.key_kind == mine.key_kind
            and set(other.elements) & set(mine.elements)
        ):
            out.append(other)
    return out


def _batch_range(conn: Connection, pool: Pool, batch_id: str) -> tuple[int, int] | None:
    """The ``_seq`` range [first, last] of the rows ``batch_id`` wrote last. Each write
    takes a new highest ``_seq``, so the rows a batch still owns lie above every row it
    does not: the owner of "the highest row at or below s" changes once, found by
    bisection over the ``_seq`` index."""
    t = pool.table()

    def owner(s: int) -> str | None:
        row = conn.execute(
            select(t.c._updated_batch_id).where(t.c._seq <= s).order_by(t.c._seq.desc()).limit(1)
        ).first()
        return None if row is None else str(row[0])

    last = conn.execute(select(func.max(t.c._seq))).scalar()
    if last is None:
        return None
    if owner(int(last)) != batch_id:  # a later batch has loaded since: find ours (a scan)
        last = conn.execute(
            select(func.max(t.c._seq)).where(t.c._updated_batch_id == batch_id)
        ).scalar()
        if last is None:
            return None
    lo, hi = -1, int(last)  # owner(lo) is not the batch, owner(hi) is
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if owner(mid) == batch_id:
            hi = mid
        else:
            lo = mid
    return hi, int(last)


# Jurisdictions and sources ---------------------------------------------------------------
def jurisdiction_parents(conn: Connection) -> dict[str, str | None]:
    return {j.id: j.parent_id for j in identity_queries.list_jurisdictions(conn)}


def _chain(parents: dict[str, str | None], jid: str | None) -> list[str]:
    out: list[str] = []
    while jid is not None and jid not in out:
        out.append(jid)
        jid = parents.get(jid)
    return out


def _common_jurisdiction(parents: dict[str, str | None], a: str, b: str) -> str:
    up = _chain(parents, b)
    return next((j for j in _chain(parents, a) if j in up), a)


def source_from_row(row: Any) -> AuthoritativeSource:
    return AuthoritativeSource(
        **{k: row._mapping[k] for k in AuthoritativeSource.__dataclass_fields__}
    )


def source_for(
    conn: Connection, parents: dict[str, str | None], jurisdiction_id: str, element: str
) -> AuthoritativeSource | None:
    """The authoritative source of ``element`` nearest to ``jurisdiction_id`` (upwards)."""
    chain = _chain(parents, jurisdiction_id)
    rows = {
        r.jurisdiction_id: r
        for r in conn.execute(
            select(authoritative_source).where(
                authoritative_source.c.element == element,
                authoritative_source.c.jurisdiction_id.in_(chain),
            )
        ).all()
    }
    return next((source_from_row(rows[j]) for j in chain if j in rows), None)


def assignee_for(
    src: AuthoritativeSource | None, a: tuple[str, str], b: tuple[str, str]
) -> tuple[str | None, str | None]:
    """(assignee, authoritative department) for sides given as (resource, department)."""
    if src is None:
        return None, None
    for mine, other in ((a, b), (b, a)):
        if (src.resource_id or None) == mine[0] or (
            src.resource_id is None and src.department_id == mine[1]
        ):
            return other[1], mine[1]
    return None, None


def record_event(
    tx: Transaction,
    item_id: str,
    action: EventAction,
    actor: Actor,
    *,
    department_id: str | None = None,
    batch_id: str | None = None,
    note: str = "",
) -> None:
    tx.conn.execute(
        insert(coordination_event).values(
            id=new_id(),
            item_id=item_id,
            at=utcnow(),
            action=action.value,
            actor_name=actor.name,
            department_id=department_id,
            batch_id=batch_id,
            note=note,
        )
    )


def lock(tx: Transaction) -> None:
    """Serialise cross-check writers (PostgreSQL), always before the audit lock."""
    tx.serialize(LOCK_KEY)


# The check ------------------------------------------------------------------------------
def _differ(p: Table, q: Table, ep: _Element, eq: _Element) -> ColumnElement[bool]:
    a: ColumnElement[Any] = p.c[ep.code]
    b: ColumnElement[Any] = q.c[eq.code]
    if ep.type == eq.type or {ep.type, eq.type} <= {ItemType.STRING.value, ItemType.CODE.value}:
        return a != b  # NULL on either side is not true: no conflict
    return and_(a.is_not(None), b.is_not(None))


@dataclass(frozen=True)
class _Value:
    element: _Element
    raw: Any
    canon: str
    pooled: _Pooled


class _Checker:
    """Compares one batch with the other pools; holds what the comparisons share."""

    def __init__(self, tx: Transaction, batch_id: str) -> None:
        self.tx, self.conn, self.batch_id = tx, tx.conn, batch_id
        secret = _secret(tx.conn, create=True)
        assert secret is not None
        self.secret = secret
        self.parents = jurisdiction_parents(tx.conn)
        depts = identity_queries.list_departments(tx.conn)
        self.juris = {d.id: d.jurisdiction_id for d in depts}
        self.names = {d.id: d.short_name for d in depts}
        self.sources: dict[tuple[str, str], AuthoritativeSource | None] = {}
        self.result = CheckResult()

    def pair(self, mine: _Pooled, other: _Pooled, first: int, last: int) -> None:
        shared = [
            (mine.elements[n], other.elements[n])
            for n in sorted(mine.elements)
            if n in other.elements
        ]
        ra, rb = sorted((mine.resource_id, other.resource_id))
        c = coordination_item.c
        watched = {
            (r.element, r.key_fingerprint): r
            for r in self.conn.execute(
                select(coordination_item).where(
                    c.open_key.is_not(None), c.resource_a_id == ra, c.resource_b_id == rb
                )
            ).all()
        }
        p, q = mine.pool.table(), other.pool.table()
        cols = [p.c[mine.key_code].label("k")]
        for i, (ep, eq) in enumerate(shared):
            cols += [p.c[ep.code].label(f"p{i}"), q.c[eq.code].label(f"q{i}")]
        query = (
            select(*cols)
            .select_from(p.join(q, q.c[other.key_code] == p.c[mine.key_code]))
            .where(
                p.c._updated_batch_id == self.batch_id,
                p.c._deleted.is_(False),
                q.c._deleted.is_(False),
            )
        )
        if not watched:  # then only rows that differ somewhere need Python
            query = query.where(or_(*[_differ(p, q, ep, eq) for ep, eq in shared]))
        self.result.pools += 1
        for lo in range(first, last + 1, CHUNK):
            rows = self.conn.execute(query.where(p.c._seq.between(lo, lo + CHUNK - 1))).all()
            self.result.rows += len(rows)
            seen: list[str] = []
            for row in rows:
                m = row._mapping
                fp: str | None = None
                for i, (ep, eq) in enumerate(shared):
                    cp, cq = canonical(m[f"p{i}"], ep.type, m[f"q{i}"], eq.type)
                    if cp is None or cq is None or (cp == cq and not watched):
                        continue
                    fp = fp or _key_fp(self.secret, mine.key_kind, m["k"])
                    known = watched.get((ep.name, fp))
                    vp = _Value(ep, m[f"p{i}"], cp, mine)
                    vq = _Value(eq, m[f"q{i}"], cq, other)
                    a, b = (vp, vq) if mine.resource_id == ra else (vq, vp)
                    if known is None:
                        if cp == cq:
                            continue
                        if self.result.opened < MAX_NEW_ITEMS:
                            self.open(m["k"], fp, a, b, mine.key_kind)
                        else:
                            self.result.not_opened += 1
                    elif cp == cq:
                        if not known.values_agree:
                            self.update(known, a, b, agree=True)
                    elif known.values_agree or (
                        known.value_a_hash,
                        known.value_b_hash,
                    ) != (self._hash(a), self._hash(b)):
                        self.update(known, a, b, agree=False)
                    else:
                        seen.append(known.id)
            for at in range(0, len(seen), 500):  # the same conflict again: note the batch
                self.conn.execute(
                    update(coordination_item)
                    .where(coordination_item.c.id.in_(seen[at : at + 500]))
                    .values(last_batch_id=self.batch_id, updated_at=utcnow())
                )
            self.result.seen_again += len(seen)

    def _hash(self, v: _Value) -> str:
        return _value_hash(self.secret, v.canon)

    def open(self, key: Any, fp: str, a: _Value, b: _Value, kind: str) -> None:
        el = a.element
        sens = next(
            (s for s in (a.element.sensitivity, b.element.sensitivity) if s != "none"), "none"
        )
        pa, pb = a.pooled, b.pooled
        jid = _common_jurisdiction(
            self.parents, self.juris[pa.department_id], self.juris[pb.department_id]
        )
        if (jid, el.name) not in self.sources:
            self.sources[(jid, el.name)] = source_for(self.conn, self.parents, jid, el.name)
        assignee, authoritative = assignee_for(
            self.sources[(jid, el.name)],
            (pa.resource_id, pa.department_id),
            (pb.resource_id, pb.department_id),
        )
        now = utcnow()
        item_id = new_id()
        key_masked = str(mask(str(key), SensitivityKind.ID_CARD if kind == "id_card" else "uscc"))
        self.conn.execute(
            insert(coordination_item).values(
                id=item_id,
                jurisdiction_id=jid,
                element=el.name,
                element_label=el.label,
                key_kind=kind,
                key_masked=key_masked,
                key_fingerprint=fp,
                sensitivity=sens,
                resource_a_id=pa.resource_id,
                department_a_id=pa.department_id,
                item_a_code=a.element.code,
                value_a_masked=_display(a.raw, sens),
                value_a_hash=self._hash(a),
                resource_b_id=pb.resource_id,
                department_b_id=pb.department_id,
                item_b_code=b.element.code,
                value_b_masked=_display(b.raw, sens),
                value_b_hash=self._hash(b),
                status=(ItemStatus.ROUTED if assignee else ItemStatus.OPEN).value,
                assignee_department_id=assignee,
                authoritative_department_id=authoritative,
                values_agree=False,
                disputed=False,
                opened_batch_id=self.batch_id,
                last_batch_id=self.batch_id,
                opened_at=now,
                updated_at=now,
                routed_at=now if assignee else None,
                open_key=_open_key(el.name, fp, pa.resource_id, pb.resource_id),
            )
        )
        record_event(self.tx, item_id, EventAction.OPENED, CHECKER, batch_id=self.batch_id)
        audit.record(
            self.tx,
            CHECKER,
            AuditAction.CREATE,
            "coordination_item",
            item_id,
            details={
                "element": el.label,
                "key": key_masked,
                "key_fingerprint": fp[:16],
                "providers": [self.names[pa.department_id], self.names[pb.department_id]],
                "batch": self.batch_id,
            },
        )
        if assignee:
            record_event(self.tx, item_id, EventAction.ROUTED, CHECKER, department_id=assignee)
            audit.record(
                self.tx,
                CHECKER,
                AuditAction.ASSIGN,
                "coordination_item",
                item_id,
                details={
                    "assignee": self.names[assignee],
                    "authoritative": self.names.get(authoritative or ""),
                },
            )
        self.result.opened += 1

    def update(self, known: Any, a: _Value, b: _Value, *, agree: bool) -> None:
        """New values for an unresolved item: they now agree, or differ otherwise."""
        sens = known.sensitivity
        self.conn.execute(
            update(coordination_item)
            .where(coordination_item.c.id == known.id)
            .values(
                value_a_masked=_display(a.raw, sens),
                value_a_hash=self._hash(a),
                value_b_masked=_display(b.raw, sens),
                value_b_hash=self._hash(b),
                values_agree=agree,
                last_batch_id=self.batch_id,
                updated_at=utcnow(),
            )
        )
        if agree:
            record_event(self.tx, known.id, EventAction.AGREED, CHECKER, batch_id=self.batch_id)
            self.result.agreed += 1
        else:
            if known.values_agree:
                record_event(
                    self.tx, known.id, EventAction.DIFFERS, CHECKER, batch_id=self.batch_id
                )
            self.result.seen_again += 1


def check_after_load(
    tx_or_db: Transaction | Database, resource_id: str, batch_id: str
) -> CheckResult:
    """Compare the rows ``batch_id`` loaded into ``resource_id``'s pool with the pools of
    other providers that carry the same elements for the same keys; open, update or mark
    agreeing the coordination items. Runs inside the ingest transaction."""
    if isinstance(tx_or_db, Database):
        with tx_or_db.transaction() as tx:
            return check_after_load(tx, resource_id, batch_id)
    tx = tx_or_db
    mine = _pooled(tx.conn, resource_id)
    if mine is None:
        return CheckResult()
    others = _others(tx.conn, mine)
    if not others:
        return CheckResult()
    wrote = tx.conn.execute(
        select(ingest_batch.c.rows_loaded + ingest_batch.c.rows_deleted).where(
            ingest_batch.c.id == batch_id
        )
    ).scalar()
    span = _batch_range(tx.conn, mine.pool, batch_id) if wrote else None
    if span is None:
        return CheckResult()
    lock(tx)
    checker = _Checker(tx, batch_id)
    for other in others:
        checker.pair(mine, other, *span)
    r = checker.result
    audit.record(
        tx,
        CHECKER,
        AuditAction.VERIFY,
        "ingest_batch",
        batch_id,
        details={
            "cross_source_check": True,
            "pools": r.pools,
            "opened": r.opened,
            "seen_again": r.seen_again,
            "agreed": r.agreed,
            "not_opened": r.not_opened,
        },
    )
    return r


def item_from_row(row: Any) -> CoordinationItem:
    m = row._mapping

    def side(s: str) -> Side:
        return Side(
            m[f"resource_{s}_id"],
            m[f"department_{s}_id"],
            m[f"item_{s}_code"],
            m[f"value_{s}_masked"],
            m[f"value_{s}_hash"],
        )

    skip = {"a", "b", "status"}
    return CoordinationItem(
        a=side("a"),
        b=side("b"),
        status=ItemStatus(m["status"]),
        **{k: m[k] for k in CoordinationItem.__dataclass_fields__ if k not in skip},
    )


def key_fingerprints(conn: Connection, raw_key: str) -> list[str]:
    """Fingerprints under which ``raw_key`` (a 身份证号 or 统一社会信用代码) is filed."""
    secret = _secret(conn)
    key = _half_width(raw_key).strip()
    if secret is None or not key:
        return []
    return [_key_fp(secret, kind, key) for kind in sorted(KEY_KINDS)]
