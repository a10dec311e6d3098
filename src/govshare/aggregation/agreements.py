"""Aggregation agreements between a provider and its data authority, per resource.

- NX-29: how the resource's data reaches the platform (a self-built system in real time, a
  source connector, or a manual upload over the e-government extranet) and, where real time
  is impossible, the agreed aggregation interval, FILED with the authority (备案: who, when).
- SQ-20: the update cycle agreed between provider and authority. ``agreed_cycle_days`` is what
  the freshness check uses in preference to the catalog's update cycle.
- NX-13: agreed delivery dates of the service interfaces the authority asks for, and written
  extension requests approved by the authority: at most 5 working days in all.
- HB-16: where the rule profile says so, an offline file delivery (an upload) is accepted only
  when an approval by the provincial big-data agency is recorded for the resource.
- YX-22: where the rule profile says so, the agreement names the organ's data-exchange
  front-end system (a department interface of kind front_end_processor, YX-4); resources
  without one are flagged and their agreement cannot be filed.

Every write is one transaction with its audit entry. A provider's change to a filed
agreement withdraws the filing: the authority files the new terms again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from govshare.aggregation.sources_tables import (
    aggregation_agreement,
    interface_delivery,
    interface_extension,
    offline_approval,
)
from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries as catalog_queries
from govshare.catalog.model import ResourceStatus
from govshare.catalog.tables import resource
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department, InterfaceKind
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import Conflict, DomainError, NotFound, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.rules import RuleProfile
from govshare.rules.calendar import load_calendar
from govshare.rules.loader import load_profile, profile_paths
from govshare.storage.engine import Database, Transaction

MAX_EXTENSION_WORKING_DAYS = 5  # NX-13: 最长不超过5个工作日
MAX_INTERVAL_HOURS = 366 * 24
MAX_CYCLE_DAYS = 366
Profiles = Mapping[str, RuleProfile]


class AggregationMode(StrEnum):
    """NX-29's modes (the return flow from upper platforms comes with federation)."""

    REALTIME_SYSTEM = "realtime_system"  # 自建系统实时对接
    CONNECTOR = "connector"  # 前置机 / 库表定时抽取
    MANUAL_UPLOAD = "manual_upload"  # 经电子政务外网手工上传


class ExtensionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class AgreementInput:
    mode: AggregationMode
    interval_hours: int | None = None  # NX-29: where real time is impossible
    agreed_cycle_days: int | None = None  # SQ-20
    front_end_interface_id: str | None = None  # YX-22
    note: str = ""


@dataclass(frozen=True)
class Agreement:
    id: str
    resource_id: str
    department_id: str
    mode: AggregationMode
    interval_hours: int | None
    agreed_cycle_days: int | None
    front_end_interface_id: str | None
    note: str
    filed_at: datetime | None
    filed_by_id: str | None
    filed_by_name: str | None
    filing_ref: str | None
    updated_at: datetime
    updated_by: str

    @property
    def filed(self) -> bool:
        return self.filed_at is not None


@dataclass(frozen=True)
class Extension:
    id: str
    delivery_id: str
    working_days: int
    reason: str
    status: ExtensionStatus
    requested_at: datetime
    requested_by: str
    decided_at: datetime | None
    decided_by: str | None
    new_due_on: date | None


@dataclass(frozen=True)
class Delivery:
    id: str
    resource_id: str
    department_id: str
    title: str
    agreed_on: date
    due_on: date
    delivered_at: datetime | None
    requested_by: str
    created_at: datetime
    extensions: tuple[Extension, ...] = ()

    def overdue(self, today: date) -> bool:
        return self.delivered_at is None and today > self.due_on


@dataclass(frozen=True)
class OfflineApproval:
    id: str
    resource_id: str
    agency: str
    approval_ref: str
    approved_on: date
    valid_until: date | None
    note: str
    recorded_at: datetime
    recorded_by: str
    revoked_at: datetime | None

    def valid_on(self, day: date) -> bool:
        return (
            self.revoked_at is None
            and self.approved_on <= day
            and (self.valid_until is None or day <= self.valid_until)
        )


class OfflineApprovalMissing(DomainError):
    """HB-16: an offline file delivery without the provincial agency's recorded approval."""

    status = 403
    code = "offline_exchange_not_approved"


# Profiles ------------------------------------------------------------------------------
class _ProfileFiles(Mapping[str, RuleProfile]):
    """The profiles of a profile directory, each read when first asked for and again when
    its file changes (cached by path, modification time and size): an upload needs only its
    provider's profile, not all of them parsed."""

    def __init__(self, profile_dir: Path | None) -> None:
        self._paths = profile_paths(profile_dir)

    def __getitem__(self, name: str) -> RuleProfile:
        path = self._paths[name]
        stat = path.stat()
        return _profile_file(path, stat.st_mtime_ns, stat.st_size)

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


@lru_cache(maxsize=32)
def _profile_file(path: Path, mtime_ns: int, size: int) -> RuleProfile:
    return load_profile(path)


def configured_profiles() -> Profiles:
    """The rule profiles of this process's settings (the same files the platform validated
    at start-up). For code paths that are not handed the platform's profiles."""
    from govshare.config import get_settings

    return _ProfileFiles(get_settings().profile_dir)


def profile_of(conn: Connection, profiles: Profiles, department: Department) -> RuleProfile:
    j = identity_queries.get_jurisdiction(conn, department.jurisdiction_id)
    return profiles.get(j.profile) or profiles["default"]


# Reading -------------------------------------------------------------------------------
def _agreement(row: Any) -> Agreement:
    m = dict(row._mapping)
    m["mode"] = AggregationMode(m["mode"])
    return Agreement(**{k: m[k] for k in Agreement.__dataclass_fields__})


def get_agreement(conn: Connection, resource_id: str) -> Agreement | None:
    row = conn.execute(
        select(aggregation_agreement).where(aggregation_agreement.c.resource_id == resource_id)
    ).first()
    return _agreement(row) if row is not None else None


def list_agreements(conn: Connection, department_ids: set[str]) -> list[Agreement]:
    rows = conn.execute(
        select(aggregation_agreement)
        .where(aggregation_agreement.c.department_id.in_(department_ids))
        .order_by(aggregation_agreement.c.updated_at.desc())
    ).all()
    return [_agreement(r) for r in rows]


def agreed_cycle_days(conn: Connection, resource_id: str) -> int | None:
    """SQ-20 / NX-29: the longest, in days, the resource's data may go without an update
    under its FILED agreement: the agreed update cycle, else the agreed aggregation interval
    rounded up to whole days. None when nothing is filed (the freshness check then uses the
    catalog's update cycle). An agreement changed after filing counts only once re-filed."""
    a = get_agreement(conn, resource_id)
    if a is None or not a.filed:
        return None
    if a.agreed_cycle_days is not None:
        return a.agreed_cycle_days
    if a.interval_hours is not None:
        return max(1, math.ceil(a.interval_hours / 24))
    return None


def agreed_interval(conn: Connection, resource_id: str) -> timedelta | None:
    """The agreed aggregation interval (NX-29), filed or not: a source connector runs at
    least this often. None when no interval is agreed."""
    a = get_agreement(conn, resource_id)
    if a is None or a.interval_hours is None:
        return None
    return timedelta(hours=a.interval_hours)


def _extension(row: Any) -> Extension:
    m = dict(row._mapping)
    m["status"] = ExtensionStatus(m["status"])
    return Extension(**{k: m[k] for k in Extension.__dataclass_fields__})


def list_deliveries(conn: Connection, department_ids: set[str]) -> list[Delivery]:
    rows = conn.execute(
        select(interface_delivery)
        .where(interface_delivery.c.department_id.in_(department_ids))
        .order_by(interface_delivery.c.due_on)
    ).all()
    ids = [r.id for r in rows]
    exts: dict[str, list[Extension]] = {i: [] for i in ids}
    if ids:
        for e in conn.execute(
            select(interface_extension)
            .where(interface_extension.c.delivery_id.in_(ids))
            .order_by(interface_extension.c.requested_at)
        ).all():
            exts[e.delivery_id].append(_extension(e))
    out = []
    for r in rows:
        m = dict(r._mapping)
        out.append(
            Delivery(
                **{k: m[k] for k in Delivery.__dataclass_fields__ if k != "extensions"},
                extensions=tuple(exts[r.id]),
            )
        )
    return out


def get_delivery(conn: Connection, delivery_id: str) -> Delivery:
    row = conn.execute(
        select(interface_delivery.c.department_id).where(interface_delivery.c.id == delivery_id)
    ).first()
    if row is None:
        raise NotFound("接口交付事项不存在", "no such interface delivery")
    return next(d for d in list_deliveries(conn, {row.department_id}) if d.id == delivery_id)


def _approval(row: Any) -> OfflineApproval:
    m = dict(row._mapping)
    return OfflineApproval(**{k: m[k] for k in OfflineApproval.__dataclass_fields__})


def list_offline_approvals(conn: Connection, resource_ids: set[str]) -> list[OfflineApproval]:
    rows = conn.execute(
        select(offline_approval)
        .where(offline_approval.c.resource_id.in_(resource_ids))
        .order_by(offline_approval.c.recorded_at.desc())
    ).all()
    return [_approval(r) for r in rows]


def offline_approval_required(conn: Connection, profiles: Profiles, department_id: str) -> bool:
    dept = identity_queries.get_department(conn, department_id)
    return profile_of(conn, profiles, dept).delivery.offline_exchange_needs_approval


def require_offline_approval(
    conn: Connection,
    resource_id: str,
    *,
    profiles: Profiles | None = None,
    today: date | None = None,
) -> None:
    """HB-16: refuse an offline file delivery (an upload) to ``resource_id`` unless its
    provider's profile does not ask for approval, or a valid approval by the provincial
    big-data agency is recorded. Called by ingest inside the batch's transaction."""
    res = catalog_queries.get_resource(conn, resource_id)
    profiles = profiles if profiles is not None else configured_profiles()
    if not offline_approval_required(conn, profiles, res.provider_department_id):
        return
    day = today or local_date(utcnow())
    if any(a.valid_on(day) for a in list_offline_approvals(conn, {resource_id})):
        return
    raise OfflineApprovalMissing(
        "按规定，非在线文件交换须经省大数据主管部门批准；该资源尚未登记批准，不能上传文件",
        "offline file exchange needs the provincial big-data agency's approval (HB-16); "
        "none is recorded for this resource, so the upload is refused",
    )


@dataclass(frozen=True)
class FrontEndGap:
    """YX-22: a published resource whose agreement names no front-end system."""

    resource_id: str
    resource_code: str
    department_id: str
    reason: str  # no_agreement | no_front_end | front_end_inactive


def front_end_gaps(
    conn: Connection, profiles: Profiles, department_ids: set[str]
) -> list[FrontEndGap]:
    """Published resources of ``department_ids`` under a profile with
    ``delivery.real_time_via_front_end`` that lack a recorded, active front-end system."""
    gaps: list[FrontEndGap] = []
    needs: dict[str, bool] = {}
    for dept_id in department_ids:
        dept = identity_queries.get_department(conn, dept_id)
        needs[dept_id] = profile_of(conn, profiles, dept).delivery.real_time_via_front_end
    wanted = {d for d, need in needs.items() if need}
    if not wanted:
        return gaps
    rows = conn.execute(
        select(resource.c.id, resource.c.code, resource.c.provider_department_id)
        .where(
            resource.c.provider_department_id.in_(wanted),
            resource.c.published_version_id.is_not(None),
            resource.c.status != ResourceStatus.RETIRED.value,
        )
        .order_by(resource.c.code)
    ).all()
    for r in rows:
        a = get_agreement(conn, r.id)
        if a is None:
            reason = "no_agreement"
        elif a.front_end_interface_id is None:
            reason = "no_front_end"
        else:
            active = {
                i.id
                for i in identity_queries.list_interfaces(conn, r.provider_department_id)
                if i.active and i.kind is InterfaceKind.FRONT_END_PROCESSOR
            }
            reason = "" if a.front_end_interface_id in active else "front_end_inactive"
        if reason:
            gaps.append(FrontEndGap(r.id, r.code, r.provider_department_id, reason))
    return gaps


# Writing -------------------------------------------------------------------------------
def _provider(tx: Transaction, resource_id: str) -> tuple[Any, Department]:
    res = catalog_queries.get_resource(tx.conn, resource_id)
    dept = identity_queries.get_department(tx.conn, res.provider_department_id)
    return res, dept


def _require_provider(actor: Actor, dept: Department) -> None:
    require(
        actor, Permission.LOAD_DATA, department_id=dept.id, jurisdiction_id=dept.jurisdiction_id
    )


def _require_authority(actor: Actor, dept: Department) -> None:
    require(actor, Permission.GOVERN_AGGREGATION, jurisdiction_id=dept.jurisdiction_id)


def _check_input(tx: Transaction, dept: Department, data: AgreementInput) -> AgreementInput:
    try:
        mode = AggregationMode(data.mode)
    except ValueError as exc:
        raise ValidationFailed("汇聚方式无效", "unknown aggregation mode", field="mode") from exc
    interval = data.interval_hours
    if interval is not None and not 1 <= interval <= MAX_INTERVAL_HOURS:
        raise ValidationFailed(
            f"汇聚间隔应在1至{MAX_INTERVAL_HOURS}小时之间",
            f"the aggregation interval must be 1 to {MAX_INTERVAL_HOURS} hours",
            field="interval_hours",
        )
    if mode is not AggregationMode.REALTIME_SYSTEM and interval is None:
        raise ValidationFailed(
            "不能实时汇聚的，须约定并备案汇聚间隔",
            "where aggregation is not real time, an aggregation interval must be agreed",
            field="interval_hours",
        )
    cycle = data.agreed_cycle_days
    if cycle is not None and not 1 <= cycle <= MAX_CYCLE_DAYS:
        raise ValidationFailed(
            f"约定更新周期应在1至{MAX_CYCLE_DAYS}天之间",
            f"the agreed update cycle must be 1 to {MAX_CYCLE_DAYS} days",
            field="agreed_cycle_days",
        )
    front_end = (data.front_end_interface_id or "").strip() or None
    if front_end is not None:
        ifaces = {i.id: i for i in identity_queries.list_interfaces(tx.conn, dept.id)}
        iface = ifaces.get(front_end)
        if iface is None or iface.kind is not InterfaceKind.FRONT_END_PROCESSOR or not iface.active:
            raise ValidationFailed(
                "所选前置系统不是本部门在用的数据交换前置机",
                "the front-end system is not an active front-end processor of the provider",
                field="front_end_interface_id",
            )
    note = (data.note or "").strip()
    if len(note) > 2000:
        raise ValidationFailed("说明过长", "the note is too long", field="note")
    return AgreementInput(mode, interval, cycle, front_end, note)


def save_agreement(
    db: Database, resource_id: str, data: AgreementInput, *, actor: Actor
) -> Agreement:
    """The provider records (or changes) the resource's aggregation agreement. A change to a
    filed agreement withdraws the filing until the authority files it again."""
    with db.transaction() as tx:
        res, dept = _provider(tx, resource_id)
        _require_provider(actor, dept)
        clean = _check_input(tx, dept, data)
        now = utcnow()
        values = dict(
            mode=clean.mode.value,
            interval_hours=clean.interval_hours,
            agreed_cycle_days=clean.agreed_cycle_days,
            front_end_interface_id=clean.front_end_interface_id,
            note=clean.note,
            updated_at=now,
            updated_by=actor.id,
        )
        existing = get_agreement(tx.conn, resource_id)
        if existing is None:
            agreement_id = new_id()
            tx.conn.execute(
                insert(aggregation_agreement).values(
                    id=agreement_id, resource_id=resource_id, department_id=dept.id, **values
                )
            )
            action = AuditAction.CREATE
        else:
            agreement_id = existing.id
            changed = (
                existing.mode is not clean.mode
                or existing.interval_hours != clean.interval_hours
                or existing.agreed_cycle_days != clean.agreed_cycle_days
                or existing.front_end_interface_id != clean.front_end_interface_id
            )
            if changed:  # new terms need a new filing
                values.update(filed_at=None, filed_by_id=None, filed_by_name=None, filing_ref=None)
            tx.conn.execute(
                update(aggregation_agreement)
                .where(aggregation_agreement.c.id == agreement_id)
                .values(**values)
            )
            action = AuditAction.UPDATE
        audit.record(
            tx,
            actor,
            action,
            "aggregation_agreement",
            agreement_id,
            details={
                "resource": res.code,
                "mode": clean.mode.value,
                "interval_hours": clean.interval_hours,
                "agreed_cycle_days": clean.agreed_cycle_days,
                "front_end_interface_id": clean.front_end_interface_id,
            },
        )
        saved = get_agreement(tx.conn, resource_id)
        assert saved is not None
        return saved


def file_agreement(
    db: Database,
    profiles: Profiles,
    resource_id: str,
    *,
    filing_ref: str = "",
    actor: Actor,
) -> Agreement:
    """The authority files (备案) the agreement: who and when are recorded (NX-29). Under a
    profile with ``delivery.real_time_via_front_end`` the agreement must name the organ's
    front-end system first (YX-22)."""
    with db.transaction() as tx:
        res, dept = _provider(tx, resource_id)
        _require_authority(actor, dept)
        a = get_agreement(tx.conn, resource_id)
        if a is None:
            raise Conflict(
                "提供部门尚未登记汇聚约定", "the provider has not recorded an agreement yet"
            )
        if a.filed:
            raise Conflict("该约定已备案", "the agreement is already filed", code="already_filed")
        if profile_of(tx.conn, profiles, dept).delivery.real_time_via_front_end and (
            a.front_end_interface_id is None
        ):
            raise Conflict(
                "按规定须通过数据交换前置系统实时对接；约定未登记前置系统，不能备案",
                "real-time docking goes through the data-exchange front-end system (YX-22); "
                "the agreement names none, so it cannot be filed",
                code="front_end_missing",
            )
        now = utcnow()
        tx.conn.execute(
            update(aggregation_agreement)
            .where(aggregation_agreement.c.id == a.id)
            .values(
                filed_at=now,
                filed_by_id=actor.id,
                filed_by_name=actor.name,
                filing_ref=(filing_ref or "").strip()[:200] or None,
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.FILE,
            "aggregation_agreement",
            a.id,
            details={"resource": res.code, "mode": a.mode.value, "ref": filing_ref or None},
        )
        filed = get_agreement(tx.conn, resource_id)
        assert filed is not None
        return filed


# NX-13: interface deliveries and extensions ----------------------------------------------
def record_interface_request(
    db: Database, resource_id: str, *, title: str, agreed_on: date, actor: Actor
) -> Delivery:
    """The authority records an interface it asked the provider for, with the agreed date."""
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise ValidationFailed("请填写接口名称", "name the interface", field="title")
    with db.transaction() as tx:
        res, dept = _provider(tx, resource_id)
        _require_authority(actor, dept)
        delivery_id = new_id()
        tx.conn.execute(
            insert(interface_delivery).values(
                id=delivery_id,
                resource_id=resource_id,
                department_id=dept.id,
                title=title,
                agreed_on=agreed_on,
                due_on=agreed_on,
                requested_by=actor.id,
                created_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.CREATE,
            "interface_delivery",
            delivery_id,
            details={"resource": res.code, "title": title, "agreed_on": agreed_on.isoformat()},
        )
        return get_delivery(tx.conn, delivery_id)


def _extension_days(d: Delivery, *, statuses: tuple[ExtensionStatus, ...]) -> int:
    return sum(e.working_days for e in d.extensions if e.status in statuses)


def request_extension(
    db: Database, delivery_id: str, *, working_days: int, reason: str, actor: Actor
) -> Extension:
    """The provider's written extension request (NX-13). The extensions of one delivery add
    up to at most 5 working days; a request beyond that is refused."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "延期须提交书面申请理由", "an extension needs a written reason", field="reason"
        )
    with db.transaction() as tx:
        d = get_delivery(tx.conn, delivery_id)
        dept = identity_queries.get_department(tx.conn, d.department_id)
        _require_provider(actor, dept)
        if d.delivered_at is not None:
            raise Conflict("接口已交付", "the interface is already delivered")
        if any(e.status is ExtensionStatus.PENDING for e in d.extensions):
            raise Conflict("已有待审批的延期申请", "an extension request is already pending")
        used = _extension_days(d, statuses=(ExtensionStatus.APPROVED,))
        if working_days < 1 or used + working_days > MAX_EXTENSION_WORKING_DAYS:
            left = MAX_EXTENSION_WORKING_DAYS - used
            raise ValidationFailed(
                f"延期最长不超过{MAX_EXTENSION_WORKING_DAYS}个工作日（还可申请{left}个工作日）",
                f"an extension is at most {MAX_EXTENSION_WORKING_DAYS} working days in all "
                f"({left} left)",
                field="working_days",
                code="extension_too_long",
            )
        ext_id = new_id()
        tx.conn.execute(
            insert(interface_extension).values(
                id=ext_id,
                delivery_id=delivery_id,
                working_days=working_days,
                reason=reason,
                status=ExtensionStatus.PENDING.value,
                requested_at=utcnow(),
                requested_by=actor.id,
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.SUBMIT,
            "interface_extension",
            ext_id,
            details={"delivery": delivery_id, "working_days": working_days},
        )
        return _extension(
            tx.conn.execute(
                select(interface_extension).where(interface_extension.c.id == ext_id)
            ).one()
        )


def decide_extension(db: Database, extension_id: str, *, approve: bool, actor: Actor) -> Extension:
    """The authority approves or refuses an extension request. An approved extension moves
    the due date to the agreed date plus all approved working days (kernel calendar)."""
    with db.transaction() as tx:
        row = tx.conn.execute(
            select(interface_extension).where(interface_extension.c.id == extension_id)
        ).first()
        if row is None:
            raise NotFound("延期申请不存在", "no such extension request")
        ext = _extension(row)
        d = get_delivery(tx.conn, ext.delivery_id)
        dept = identity_queries.get_department(tx.conn, d.department_id)
        _require_authority(actor, dept)
        if ext.status is not ExtensionStatus.PENDING:
            raise Conflict("该申请已处理", "the request has been decided")
        new_due: date | None = None
        if approve:
            total = _extension_days(d, statuses=(ExtensionStatus.APPROVED,)) + ext.working_days
            if total > MAX_EXTENSION_WORKING_DAYS:
                raise ValidationFailed(
                    f"延期合计不得超过{MAX_EXTENSION_WORKING_DAYS}个工作日",
                    f"extensions may not exceed {MAX_EXTENSION_WORKING_DAYS} working days in all",
                    code="extension_too_long",
                )
            new_due = load_calendar(tx.conn).add_working_days(d.agreed_on, total).day
            tx.conn.execute(
                update(interface_delivery)
                .where(interface_delivery.c.id == d.id)
                .values(due_on=new_due)
            )
        status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
        tx.conn.execute(
            update(interface_extension)
            .where(interface_extension.c.id == extension_id)
            .values(
                status=status.value, decided_at=utcnow(), decided_by=actor.id, new_due_on=new_due
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.APPROVE,
            "interface_extension",
            extension_id,
            details={
                "decision": status.value,
                "delivery": d.id,
                "due_on": new_due.isoformat() if new_due else None,
            },
        )
        return _extension(
            tx.conn.execute(
                select(interface_extension).where(interface_extension.c.id == extension_id)
            ).one()
        )


def mark_delivered(db: Database, delivery_id: str, *, actor: Actor) -> Delivery:
    with db.transaction() as tx:
        d = get_delivery(tx.conn, delivery_id)
        dept = identity_queries.get_department(tx.conn, d.department_id)
        _require_provider(actor, dept)
        if d.delivered_at is not None:
            raise Conflict("接口已交付", "the interface is already delivered")
        tx.conn.execute(
            update(interface_delivery)
            .where(interface_delivery.c.id == delivery_id)
            .values(delivered_at=utcnow())
        )
        audit.record(
            tx,
            actor,
            AuditAction.FULFIL,
            "interface_delivery",
            delivery_id,
            details={"due_on": d.due_on.isoformat()},
        )
        return get_delivery(tx.conn, delivery_id)


# HB-16: offline exchange approvals ---------------------------------------------------------
def record_offline_approval(
    db: Database,
    resource_id: str,
    *,
    approval_ref: str,
    approved_on: date,
    valid_until: date | None = None,
    agency: str = "省大数据主管部门",
    note: str = "",
    actor: Actor,
) -> OfflineApproval:
    """The authority records the provincial big-data agency's approval of offline file
    exchange for a resource (HB-16). Uploads are accepted from ``approved_on`` to
    ``valid_until`` (open-ended when None), until revoked."""
    approval_ref = (approval_ref or "").strip()
    agency = (agency or "").strip()
    if not approval_ref or len(approval_ref) > 200:
        raise ValidationFailed(
            "请填写批准文号", "give the approval's reference", field="approval_ref"
        )
    if not agency or len(agency) > 200:
        raise ValidationFailed("请填写批准机关", "name the approving agency", field="agency")
    if valid_until is not None and valid_until < approved_on:
        raise ValidationFailed(
            "有效期不能早于批准日期",
            "the approval cannot end before it starts",
            field="valid_until",
        )
    with db.transaction() as tx:
        res, dept = _provider(tx, resource_id)
        _require_authority(actor, dept)
        approval_id = new_id()
        tx.conn.execute(
            insert(offline_approval).values(
                id=approval_id,
                resource_id=resource_id,
                agency=agency,
                approval_ref=approval_ref,
                approved_on=approved_on,
                valid_until=valid_until,
                note=(note or "").strip(),
                recorded_at=utcnow(),
                recorded_by=actor.id,
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.APPROVE,
            "offline_approval",
            approval_id,
            details={
                "resource": res.code,
                "ref": approval_ref,
                "agency": agency,
                "approved_on": approved_on.isoformat(),
                "valid_until": valid_until.isoformat() if valid_until else None,
            },
        )
        return _approval(
            tx.conn.execute(
                select(offline_approval).where(offline_approval.c.id == approval_id)
            ).one()
        )


def revoke_offline_approval(db: Database, approval_id: str, *, actor: Actor) -> OfflineApproval:
    with db.transaction() as tx:
        row = tx.conn.execute(
            select(offline_approval).where(offline_approval.c.id == approval_id)
        ).first()
        if row is None:
            raise NotFound("批准记录不存在", "no such approval")
        _res, dept = _provider(tx, row.resource_id)
        _require_authority(actor, dept)
        if row.revoked_at is not None:
            raise Conflict("已撤销", "already revoked")
        tx.conn.execute(
            update(offline_approval)
            .where(offline_approval.c.id == approval_id)
            .values(revoked_at=utcnow())
        )
        audit.record(tx, actor, AuditAction.REVOKE, "offline_approval", approval_id)
        return _approval(
            tx.conn.execute(
                select(offline_approval).where(offline_approval.c.id == approval_id)
            ).one()
        )
