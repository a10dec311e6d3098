"""The guard every data-service call passes (lookup, verify, and the batch, feed and file
paths built on it): authorise against the grant, mask, audit with group commit, receipt.

Usage (one ``Guard`` per database per process: ``guard_for(platform)``)::

    guard = guard_for(platform)
    with platform.db.read() as conn:
        auth = guard.authorise(conn, actor, CallRequest(grant_id, DeliveryMode.QUERY,
                                                        call_headers(request.headers)))
        try:
            rows = ...  # read only auth.plan.codes from the grant's pool
        except DomainError as exc:
            guard.fail(auth, exc)  # audited refusal after authorisation; raises exc
    out = [auth.plan.apply(r) for r in rows]          # masked at each item's granted level
    entry, receipt = guard.complete(auth, action=AuditAction.QUERY, keys=[key], rows=len(out))
    # entry: the durable AuditEntry (seq, hash); receipt: SignedReceipt (.compact / .as_json())
    # on an event loop: done = guard.submit(auth, ...); entry, receipt = await done.wait()
    # auth.response_headers(): Deprecation / Sunset / X-Replacement-Resource while retiring

``authorise(conn, actor, CallRequest)`` -> ``Authorised`` or raises a ``DomainError``
after recording the refusal (``AuditAction.ACCESS_DENIED``, no key or value in it). In
order, it refuses with these codes:

- ``grant_not_found`` (404); ``grant_not_yours`` (403: the grant is another department's);
  ``grant_wrong_client`` (403: the grant names another client system of the department);
- ``grant_pending_agreement``, ``grant_suspended``, ``grant_revoked``, ``grant_expired``
  (403: the status, read from ``share_grant`` on every call, so that a suspension or a
  revocation bites at the next call, NX-41; ``grant_expired`` also once ``valid_until``
  has passed, before the daily expiry job has run);
- ``resource_retired`` (410, SZ-27): the resource is retired, or the cut-off of its
  transition (``share_grant.transition_until`` / ``resource.transition_ends_on``, the
  earlier) has passed; the error names the replacement. Until the cut-off the call is
  served (SZ-19) and ``Authorised.sunset`` is set;
- ``mode_not_granted`` (403); ``item_not_granted`` (403: ``CallRequest.items`` asks for an
  item the grant lacks; ``None`` means all granted items);
- ``purpose_required``, ``end_user_required``, ``case_number_required`` (422: the
  ``X-Purpose``, ``X-End-User``, ``X-Case-Number`` headers; ``header_too_long``);
  ``purpose_mismatch`` (403: ``X-Purpose`` must be the grant's purpose code, SQ-21);
- ``rate_limited`` (429: ``share_grant.rate_limit_per_minute``, per process and service;
  ``verify`` gets a quarter of it, at least 1 a minute, so that 核验 cannot be used as an
  oracle); ``quota_exceeded`` (429: ``share_grant.quota_per_day`` authorised calls per
  Shanghai day, over all modes and processes: the persisted statistics plus the calls in
  flight in this process).

``Authorised`` carries the call id, the client, the grant (``GrantView``), the mode, the
granted items asked for, the compiled ``MaskPlan``, purpose / end user / case number, and
the sunset. ``complete`` writes the call's audit entry (``action``: QUERY for lookup and
exports, VERIFY for verification; details: grant, resource, version, items, mode, rows, a
masked key and a keyed key reference, end user) through the group-commit writer, waits
until it is durable, updates the call statistics in the same flush, and returns the entry
and the signed receipt (SZ-16.4; signed alone). On an event loop (``submit(...,
on_loop=True)``, then ``await done.wait()``) the receipts of the calls whose entries one
turn of the loop sees durable are signed together, one signature over their Merkle root
(``Guard._durable``, called by the group-commit writer's ``submit_then`` as it settles a
flush; ``receipts``, version 2). ``fail(auth, exc)`` records a refusal that
happens after authorisation (bad key, no data) and raises ``exc`` (``refuse`` records it
without the raise). On an event loop (``authorise(..., on_loop=True)``, ``refuse(...,
on_loop=True)``) a refusal is queued for the writer, not waited for on the loop's thread,
and comes as a ``RecordedRefusal``: ``await raise_refusal()`` raises the refusal once its
entry is durable. ``check_subject(auth, key)`` counts verifications of one subject per
grant per day and raises ``verify_attempts_exceeded`` past the limit, for the caller to
record.

``authorise(..., grants=reads)``: the calls of one batch (``delivery.services.batch``)
share a dict in which the grant read of each grant, day and calling system is kept, so
that the batch reads each once; every check above still runs for every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any, NoReturn
from urllib.parse import unquote

from sqlalchemy import Connection

from govshare.audit.group_commit import GroupCommitWriter, PendingEntry, writer_for
from govshare.audit.keys import PlatformKeys
from govshare.audit.model import AuditAction, AuditEntry
from govshare.catalog.model import DeliveryMode
from govshare.delivery import errors
from govshare.delivery.limits import DailyCounter, InFlight, TokenBuckets
from govshare.delivery.masking import MaskPlan, compile_plan, key_ref, pseudonym_key
from govshare.delivery.model import (
    CallHeaders,
    ClientRef,
    GrantedItem,
    GrantView,
    MaskLevel,
    Sunset,
)
from govshare.delivery.queries import grant_and_caller, grant_for_call
from govshare.delivery.receipts import Receipt, SignedReceipt, keys_digest, sign, sign_batch
from govshare.delivery.stats import CallStat, flush_stats
from govshare.identity.model import VerifiedClient
from govshare.identity.queries import active_client
from govshare.kernel.actor import Actor, ActorKind
from govshare.kernel.clock import SHANGHAI, iso_utc, local_date, utcnow
from govshare.kernel.errors import DomainError, Unauthenticated, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.kernel.masking import SensitivityKind, mask
from govshare.platform import Platform
from govshare.storage.engine import Database

PURPOSE_HEADER = "X-Purpose"
END_USER_HEADER = "X-End-User"
CASE_HEADER = "X-Case-Number"
RECEIPT_HEADER = "X-Call-Receipt"
HEADER_MAX = 100
VERIFY_RATE_DIVISOR = 4  # verify gets a quarter of the grant's per-minute rate
VERIFY_PER_SUBJECT_PER_DAY = 10  # verifications of one subject per grant and day
PLAN_CACHE_SIZE = 4096  # compiled masking plans kept per process

Observer = Callable[[str, str, str, float], None]  # (grant, mode, "ok" or the code, seconds)
# a batch's grant reads: (grant id, day, caller's client id) -> (grant, active caller)
GrantReads = dict[tuple[str, date, str], tuple[GrantView | None, Actor | None]]


_DECODED: dict[str, str | None] = {}  # header values decoded recently (end users' names)
DECODED_CACHE_SIZE = 1024


def _header_text(value: str | None) -> str | None:
    """A header value as text: percent-encoded UTF-8 (the portable way to send 张三), or
    raw UTF-8 bytes that arrived as latin-1. A client system sends the same few end users
    over and over: their decoded names are kept."""
    if value is None:
        return None
    if value.isascii() and "%" not in value:  # nothing to decode (the usual case)
        return value.strip() or None
    text = _DECODED.get(value, "")
    if text != "":
        return text
    raw = value
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("latin-1").decode("utf-8")
    text = unquote(value).strip() or None
    if len(_DECODED) >= DECODED_CACHE_SIZE:
        _DECODED.clear()
    _DECODED[raw] = text
    return text


def call_headers(headers: Mapping[str, str]) -> CallHeaders:
    """The call context from HTTP headers (case-insensitive mapping)."""
    return CallHeaders(
        purpose=_header_text(headers.get(PURPOSE_HEADER)),
        end_user=_header_text(headers.get(END_USER_HEADER)),
        case_no=_header_text(headers.get(CASE_HEADER)),
    )


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class CallRequest:
    grant_id: str
    mode: DeliveryMode | str
    headers: CallHeaders
    items: tuple[str, ...] | None = None  # None: every granted item


class RecordedRefusal(Exception):
    """A refusal made on an event loop whose audit entry is still being written:
    ``await raise_refusal()`` waits until the entry is durable (a client that leaves
    meanwhile does not take it with it) and raises the refusal, ``error``."""

    def __init__(self, error: DomainError, recording: asyncio.Future[AuditEntry]) -> None:
        super().__init__(error.code)
        self.error = error
        self.recording = recording

    async def raise_refusal(self) -> NoReturn:
        await asyncio.shield(self.recording)  # a failed audit write raises here instead
        raise self.error


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class Authorised:
    call_id: str
    actor: Actor
    client: ClientRef
    grant: GrantView
    mode: str
    items: tuple[GrantedItem, ...]
    plan: MaskPlan
    purpose: str
    end_user: str
    case_no: str
    day: date
    started: float  # perf_counter at the start of the call
    sunset: Sunset | None = None
    released: bool = field(default=False, repr=False)  # by ``Guard.release``

    def response_headers(self) -> dict[str, str]:
        """Deprecation (RFC 9745) and Sunset (RFC 8594) while the resource retires."""
        if self.sunset is None:
            return {}
        end = datetime.combine(
            self.sunset.cut_off + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI
        )
        today = datetime.combine(self.day, datetime.min.time(), tzinfo=SHANGHAI)
        out = {
            "Deprecation": f"@{int(today.timestamp())}",
            "Sunset": format_datetime(end.astimezone(UTC), usegmt=True),
        }
        if self.sunset.replacement_code:
            out["X-Replacement-Resource"] = self.sunset.replacement_code
        return out


class Guard:
    def __init__(
        self, db: Database, keys: PlatformKeys, *, writer: GroupCommitWriter | None = None
    ) -> None:
        self.keys = keys
        self.writer = writer or writer_for(db)
        self.writer.add_hook(flush_stats)
        self.buckets = TokenBuckets()
        self.subjects = DailyCounter()
        self.in_flight = InFlight()
        self._plans: dict[tuple[tuple[GrantedItem, ...], bytes | None], MaskPlan] = {}
        # the last call's layout: its grant's items (by identity, as the calls of one batch
        # share their grant read), the items it asked for, the items and the plan it got
        # (hashing the items for ``_plans`` took a call as long as the lookup of the plan)
        self._last_layout: (
            tuple[
                tuple[GrantedItem, ...], tuple[str, ...] | None, tuple[GrantedItem, ...], MaskPlan
            ]
            | None
        ) = None
        self.observe: Observer | None = None

    def sign_together(self, done: Sequence[tuple[Completion, AuditEntry]]) -> list[SignedReceipt]:
        """The receipts of calls whose entries are durable, signed together (one signature
        per batch, ``receipts``); each call is answered (its metrics)."""
        signed = sign_batch(self.keys, [c.unsigned(entry) for c, entry in done])
        for c, _ in done:
            c.observed()
        return signed

    def _durable(self, flushed: list[tuple[asyncio.Future[Any], AuditEntry, Any]]) -> None:
        """On the event loop, the calls of one flush submitted there (``submit(...,
        on_loop=True)``): their receipts signed together, each call's future set to its
        entry and receipt, so that each call wakes up once, answered."""
        done: list[tuple[Completion, AuditEntry]] = [(c, entry) for _, entry, c in flushed]
        for c, _ in done:
            self.release(c.auth)
        for (future, entry, _), receipt in zip(flushed, self.sign_together(done), strict=True):
            future.set_result((entry, receipt))

    # Authorisation ---------------------------------------------------------------------
    def authorise(
        self,
        conn: Connection,
        caller: Actor | VerifiedClient,
        request: CallRequest,
        *,
        grants: GrantReads | None = None,
        on_loop: bool = False,
    ) -> Authorised:
        """``caller``: the request's actor, or a verified client-system token whose system
        is read here, in the call's own transaction (401 ``client_revoked`` when it is
        revoked; like a bad token, that refusal is not recorded against a grant).

        ``grants``: the grant reads of the calls authorised before this one in the same
        read (a batch, ``delivery.services.batch``), by grant, day and caller: calls on one
        grant by one system read it once. Everything else is checked for every call.

        ``on_loop``: called on a running event loop, a refusal is queued for the audit
        writer without waiting and raised as ``RecordedRefusal`` (await it before
        answering); otherwise the refusal is durable when it is raised."""
        started = time.perf_counter()
        asked = request.mode
        mode = asked.value if isinstance(asked, DeliveryMode) else DeliveryMode(asked).value
        day = local_date(utcnow())
        grant: GrantView | None
        if isinstance(caller, VerifiedClient):  # the grant and the caller in one read
            read_key = (request.grant_id, day, caller.client_id)
            known = grants.get(read_key) if grants is not None else None
            if known is None:
                known = grant_and_caller(conn, request.grant_id, day, caller.client_id)
                if grants is not None:
                    grants[read_key] = known
            grant, found = known
            actor = found if found is not None else active_client(conn, caller)
        else:
            actor, grant = caller, None
        try:
            if actor.kind is not ActorKind.CLIENT_SYSTEM or actor.department_id is None:
                raise Unauthenticated(
                    "请使用业务系统的访问令牌", "a client system token is required"
                )
            if not isinstance(caller, VerifiedClient):
                grant = grant_for_call(conn, request.grant_id, day)
            if grant is None:
                raise errors.grant_not_found()
            if grant.consumer_department_id != actor.department_id:
                grant = None  # another department's grant: record nothing of it
                raise errors.grant_not_yours()
            # the caller is an active client system (checked with its token); a grant
            # that names a client system serves that system only
            if grant.client_system_id and grant.client_system_client_id != actor.id:
                raise errors.grant_wrong_client()
            client = ClientRef(
                grant.client_system_id or "", actor.id, actor.name, actor.department_id
            )
            if grant.status != "active":
                raise errors.grant_status(grant.status)
            if grant.valid_until < day:
                raise errors.grant_expired(grant.valid_until)
            sunset = self._transition(grant, day)
            if mode not in grant.modes:
                raise errors.mode_not_granted(mode)
            wanted = request.items
            seen = self._last_layout
            if seen is not None and seen[0] is grant.items and seen[1] == wanted:
                items, plan = seen[2], seen[3]  # a batch's calls on one grant, same items
            else:
                items = self._items(grant, wanted)
                plan = self._plan(items, grant.consumer_department_id)
                self._last_layout = (grant.items, wanted, items, plan)
            h = request.headers
            self._required(h)
            assert h.purpose is not None and h.end_user is not None and h.case_no is not None
            if h.purpose != grant.purpose:
                raise errors.purpose_mismatch(grant.purpose)
            self._rate(grant, mode)
            if not self.in_flight.admit(grant.id, grant.calls_today, grant.quota_per_day):
                raise errors.quota_exceeded(grant.quota_per_day)
        except DomainError as exc:
            recording = self._record_refusal(
                actor, request, mode, day, grant, exc, started, on_loop=on_loop
            )
            if recording is not None:
                raise RecordedRefusal(exc, recording) from exc
            raise
        return Authorised(
            call_id=new_id(),
            actor=actor,
            client=client,
            grant=grant,
            mode=mode,
            items=items,
            plan=plan,
            purpose=h.purpose,
            end_user=h.end_user,
            case_no=h.case_no,
            day=day,
            started=started,
            sunset=sunset,
        )

    def _plan(self, items: tuple[GrantedItem, ...], consumer_department_id: str) -> MaskPlan:
        """The compiled masking plan of a grant layout (items, levels, pseudonym key)."""
        pkey = (
            pseudonym_key(self.keys, consumer_department_id)
            if any(i.level is MaskLevel.PSEUDONYM for i in items)
            else None
        )
        plan = self._plans.get((items, pkey))
        if plan is None:  # compiled once per layout
            if len(self._plans) >= PLAN_CACHE_SIZE:
                self._plans.clear()
            plan = self._plans[(items, pkey)] = compile_plan(items, pseudonym_key=pkey)
        return plan

    @staticmethod
    def _transition(grant: GrantView, day: date) -> Sunset | None:
        cut_off = grant.cut_off
        if grant.resource_status == "retired" or (cut_off is not None and day > cut_off):
            raise errors.resource_retired(cut_off, grant.replacement_code)
        if cut_off is None:
            return None
        return Sunset(cut_off, grant.replacement_code)

    @staticmethod
    def _items(grant: GrantView, asked: tuple[str, ...] | None) -> tuple[GrantedItem, ...]:
        if asked is None:
            return grant.items
        wanted = list(dict.fromkeys(asked))
        missing = [c for c in wanted if grant.item(c) is None]
        if missing:
            raise errors.item_not_granted(missing)
        return tuple(i for c in wanted if (i := grant.item(c)) is not None)

    @staticmethod
    def _required(h: CallHeaders) -> None:
        for value, header, code, zh in (
            (h.purpose, PURPOSE_HEADER, "purpose_required", "数据用途（须与授权用途一致）"),
            (h.end_user, END_USER_HEADER, "end_user_required", "实际使用数据的工作人员"),
            (h.case_no, CASE_HEADER, "case_number_required", "办件编号或业务编号"),
        ):
            if not value:
                raise errors.header_required(header, code, zh)
            if len(value) > HEADER_MAX:
                raise ValidationFailed(
                    f"请求头 {header} 过长（最多{HEADER_MAX}个字符）",
                    f"the {header} header is longer than {HEADER_MAX} characters",
                    code="header_too_long",
                    field=header,
                )

    def _rate(self, grant: GrantView, mode: str) -> None:
        limit = grant.rate_limit_per_minute
        if mode == DeliveryMode.VERIFY.value:
            limit = max(1, limit // VERIFY_RATE_DIVISOR)
        wait = self.buckets.take(f"{grant.id}:{mode}", limit)
        if wait:
            raise errors.rate_limited(limit, wait)

    def check_subject(self, auth: Authorised, key: str) -> str:
        """Count one verification of ``key`` under the grant today; past the daily limit,
        raise ``verify_attempts_exceeded`` (the caller records it with ``fail`` or
        ``refuse``, as any refusal after authorisation). Returns the key's keyed
        reference (for the audit entry)."""
        ref = key_ref(self.keys, key)
        if not self.subjects.add(f"{auth.grant.id}:{ref}", auth.day, VERIFY_PER_SUBJECT_PER_DAY):
            raise errors.verify_attempts_exceeded(VERIFY_PER_SUBJECT_PER_DAY)
        return ref

    # Recording -------------------------------------------------------------------------
    def _record_refusal(
        self,
        actor: Actor,
        request: CallRequest,
        mode: str,
        day: date,
        grant: GrantView | None,
        exc: DomainError,
        started: float,
        *,
        on_loop: bool = False,
    ) -> asyncio.Future[AuditEntry] | None:
        """Audit a refusal: durable on return, or with ``on_loop`` queued, its future
        returned (the event loop's thread must not wait for a flush: a burst of refused
        calls, a client over its rate limit, would stall every other call)."""
        h = request.headers
        details: dict[str, Any] = {
            "code": exc.code,
            "mode": mode,
            "grant": request.grant_id if grant is not None else None,
            "items": list(request.items) if request.items is not None else None,
            "end_user": (h.end_user or "")[:HEADER_MAX] or None,
        }
        stat = CallStat(
            grant_id=grant.id if grant is not None else None,
            day=day,
            mode=mode,
            consumer_department_id=grant.consumer_department_id if grant else None,
            resource_id=grant.resource_id if grant else None,
            error_code=exc.code,
        )
        entry = PendingEntry(
            actor=actor,
            action=AuditAction.ACCESS_DENIED,
            object_type="share_grant",
            object_id=(request.grant_id if grant is not None else "-")[:64],
            details=details,
            purpose=(h.purpose or "")[:HEADER_MAX] or None,
            case_no=(h.case_no or "")[:HEADER_MAX] or None,
            payload=stat,
        )
        recording = None
        if on_loop:
            recording = self.writer.submit_async(entry)
        else:
            self.writer.append(entry)
        if self.observe is not None:
            self.observe(grant.id if grant else "-", mode, exc.code, time.perf_counter() - started)
        return recording

    def fail(self, auth: Authorised, exc: DomainError) -> NoReturn:
        """Record a refusal after authorisation (the call is not counted) and raise it."""
        self.refuse(auth, exc)
        raise exc

    def refuse(
        self, auth: Authorised, exc: DomainError, *, on_loop: bool = False
    ) -> DomainError | RecordedRefusal:
        """``fail`` without the raise (a batch records the refusal and goes on); returns
        what the call raises: ``exc``, or with ``on_loop`` (as ``authorise``) a
        ``RecordedRefusal``."""
        self.release(auth)
        request = CallRequest(
            auth.grant.id,
            auth.mode,
            CallHeaders(auth.purpose, auth.end_user, auth.case_no),
            tuple(i.code for i in auth.items),
        )
        recording = self._record_refusal(
            auth.actor,
            request,
            auth.mode,
            auth.day,
            auth.grant,
            exc,
            auth.started,
            on_loop=on_loop,
        )
        return exc if recording is None else RecordedRefusal(exc, recording)

    def submit(
        self,
        auth: Authorised,
        *,
        action: AuditAction,
        keys: Sequence[str],
        rows: int,
        key_kind: str = SensitivityKind.ID_CARD.value,
        details: Mapping[str, Any] | None = None,
        on_loop: bool = False,
    ) -> Completion:
        """Queue the call's audit entry (group commit) and return at once; the
        ``Completion`` waits until it is durable (``result()``; with ``on_loop``, called
        on the running event loop, ``await wait()``) and then signs the receipt."""
        grant = auth.grant
        latency = time.perf_counter() - auth.started
        codes = tuple(i.code for i in auth.items)
        shown = keys[:10]
        entry_details: dict[str, Any] = {
            "call": auth.call_id,
            "grant": grant.id,
            "resource": grant.resource_code,
            "version_no": grant.version_no,
            "items": list(codes),
            "mode": auth.mode,
            "rows": rows,
            "end_user": auth.end_user,
            "keys": [str(mask(k, key_kind)) for k in shown],
            "key_refs": [key_ref(self.keys, k) for k in shown],
            "key_count": len(keys),
        }
        if auth.sunset is not None:
            entry_details["sunset"] = auth.sunset.cut_off.isoformat()
        entry_details.update(details or {})
        stat = CallStat(
            grant_id=grant.id,
            day=auth.day,
            mode=auth.mode,
            consumer_department_id=grant.consumer_department_id,
            resource_id=grant.resource_id,
            rows=rows,
            latency_ms=latency * 1000.0,
        )
        pending = PendingEntry(
            actor=auth.actor,
            action=action,
            object_type="delivery_call",
            object_id=auth.call_id,
            details=entry_details,
            purpose=auth.purpose,
            case_no=auth.case_no,
            payload=stat,
        )
        done = Completion(self, auth, None, codes, keys_digest(keys), rows)
        try:
            done.future = (
                self.writer.submit_then(pending, self._durable, done)
                if on_loop
                else self.writer.submit(pending)
            )
        except BaseException:
            self.release(auth)
            raise
        return done

    def complete(
        self,
        auth: Authorised,
        *,
        action: AuditAction,
        keys: Sequence[str],
        rows: int,
        key_kind: str = SensitivityKind.ID_CARD.value,
        details: Mapping[str, Any] | None = None,
    ) -> tuple[AuditEntry, SignedReceipt]:
        """Audit the call (group commit: returns once durable) and sign its receipt."""
        return self.submit(
            auth, action=action, keys=keys, rows=rows, key_kind=key_kind, details=details
        ).result()

    def release(self, auth: Authorised) -> None:
        """The call is over for this process's quota count (idempotent)."""
        if not auth.released:
            auth.released = True
            self.in_flight.release(auth.grant.id)


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class Completion:
    """A call whose audit entry is queued: wait for it to be durable, then the receipt."""

    guard: Guard
    auth: Authorised
    # a thread's: the durable entry; on an event loop: the entry and its receipt
    future: Future[AuditEntry] | asyncio.Future[tuple[AuditEntry, SignedReceipt]] | None
    codes: tuple[str, ...]
    keys_sha256: str
    rows: int

    def result(self, timeout: float = 60.0) -> tuple[AuditEntry, SignedReceipt]:
        """Block until the entry is durable (threads, CLI, workers); the receipt is
        signed alone."""
        if not isinstance(self.future, Future):
            raise TypeError("a call submitted on an event loop is awaited: wait()")
        try:
            entry = self.future.result(timeout=timeout)
        finally:
            self.guard.release(self.auth)
        receipt = sign(self.guard.keys, self.unsigned(entry))
        self.observed()
        return entry, receipt

    async def wait(self) -> tuple[AuditEntry, SignedReceipt]:
        """Await durability without holding a thread (the HTTP hot path); the receipts of
        the calls whose entries one flush made durable are signed together, on the loop,
        as the flush settles them (``Guard._durable``)."""
        future = self.future
        if not isinstance(future, asyncio.Future):
            raise TypeError("a call submitted from a thread is waited for: result()")
        try:
            return await future
        finally:
            self.guard.release(self.auth)

    def unsigned(self, entry: AuditEntry) -> Receipt:
        """The call's receipt, naming its durable audit entry."""
        auth, grant = self.auth, self.auth.grant
        return Receipt(
            call_id=auth.call_id,
            client_id=auth.client.client_id,
            client_system=auth.client.name,
            grant_id=grant.id,
            resource=grant.resource_code,
            version_no=grant.version_no,
            items=self.codes,
            mode=auth.mode,
            keys_sha256=self.keys_sha256,
            rows=self.rows,
            at=iso_utc(entry.occurred_at),
            audit_seq=entry.seq,
            audit_hash=entry.hash,
            key_id=self.guard.keys.key_id,
        )

    def observed(self) -> None:
        """The call is answered: its metrics (``Guard.observe``)."""
        observe = self.guard.observe
        if observe is not None:
            auth = self.auth
            observe(auth.grant.id, auth.mode, "ok", time.perf_counter() - auth.started)


_guards: weakref.WeakKeyDictionary[Database, Guard] = weakref.WeakKeyDictionary()


def guard_for(platform: Platform) -> Guard:
    """The process-wide guard of a platform's database."""
    guard = _guards.get(platform.db)
    if guard is None:
        guard = _guards.setdefault(platform.db, Guard(platform.db, platform.keys))
    return guard
