"""Keeping the catalog current: change triggers with their update deadlines (SQ-8, SZ-7,
NX-22, NX-23, YX-13), annual full maintenance (SQ-7), and numbered releases of the
compiled catalog with their filing upward (SZ-8, NX-18, NX-20)."""

from __future__ import annotations

import hashlib
import json
from datetime import date

from sqlalchemy import func, insert, select, update

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries
from govshare.catalog.services import Profiles, deadline_for, profile_for, require_edit
from govshare.catalog.tables import (
    catalog_change_trigger,
    catalog_maintenance,
    catalog_release,
)
from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import Conflict, NotFound, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.storage.engine import Database


# Change triggers (SQ-8, SZ-7, NX-22, NX-23, YX-13) ------------------------------------
def record_change(
    db: Database,
    profiles: Profiles,
    *,
    actor: Actor,
    department_id: str,
    kind: str,
    occurred_on: date,
    description: str,
    written_notice_ref: str = "",
) -> str:
    if occurred_on > local_date(utcnow()):
        raise ValidationFailed(
            "变更发生日期不能晚于今天", "the change cannot be in the future", field="occurred_on"
        )
    if kind not in ("law", "functions", "content", "demand"):
        raise ValidationFailed("变更类型无效", "unknown kind of change", field="kind")
    if not description.strip():
        raise ValidationFailed("须说明变更情形", "describe the change", field="description")
    with db.transaction() as tx:
        dept = identity_queries.get_department(tx.conn, department_id)
        require_edit(actor, dept)
        profile = profile_for(tx, profiles, dept)
        if profile.catalog.change_needs_written_notice and not written_notice_ref.strip():
            raise ValidationFailed(
                "目录内容或需求变化须书面告知数据主管部门（注明书面通知文号）",
                "a catalog change needs a written notice to the authority (YX-13)",
                field="written_notice_ref",
            )
        due = deadline_for(tx, profile.catalog.update_after_change, occurred_on)
        j = identity_queries.get_jurisdiction(tx.conn, dept.jurisdiction_id)
        report = (
            deadline_for(tx, profile.catalog.report_to_higher_level, occurred_on)
            if j.level.value == "county"
            else None
        )
        tid = new_id()
        tx.conn.execute(
            insert(catalog_change_trigger).values(
                id=tid,
                department_id=dept.id,
                kind=kind,
                occurred_on=occurred_on,
                description=description.strip(),
                written_notice_ref=written_notice_ref.strip(),
                update_due=due.day if due else None,
                update_due_provisional=bool(due and due.provisional),
                report_due=report.day if report else None,
                resolution="",
                created_by=actor.name,
                created_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.RECORD_CHANGE,
            "catalog_change_trigger",
            tid,
            details={
                "kind": kind,
                "occurred_on": occurred_on.isoformat(),
                "update_due": due.day.isoformat() if due else None,
            },
        )
        return tid


def resolve_change(db: Database, trigger_id: str, *, actor: Actor, resolution: str) -> None:
    """Close a change that needed no catalog update, with the reason."""
    if not resolution.strip():
        raise ValidationFailed("须说明处理结果", "state how it was resolved", field="resolution")
    with db.transaction() as tx:
        trig = queries.get_change_trigger(tx.conn, trigger_id)
        dept = identity_queries.get_department(tx.conn, trig.department_id)
        require_edit(actor, dept)
        if trig.resolved_at is not None:
            raise Conflict("该变更事项已处理", "already resolved")
        tx.conn.execute(
            update(catalog_change_trigger)
            .where(catalog_change_trigger.c.id == trigger_id)
            .values(resolved_at=utcnow(), resolution=resolution.strip())
        )
        audit.record(
            tx,
            actor,
            AuditAction.RESOLVE,
            "catalog_change_trigger",
            trigger_id,
            details={"resolution": resolution.strip()},
        )


def report_change(db: Database, trigger_id: str, *, actor: Actor) -> None:
    """NX-23: the county's catalog change reported to the city authority for the record."""
    with db.transaction() as tx:
        trig = queries.get_change_trigger(tx.conn, trigger_id)
        dept = identity_queries.get_department(tx.conn, trig.department_id)
        require(actor, Permission.REVIEW_CATALOG, jurisdiction_id=dept.jurisdiction_id)
        if trig.reported_at is not None:
            raise Conflict("该变更已报备", "this change was reported already")
        tx.conn.execute(
            update(catalog_change_trigger)
            .where(catalog_change_trigger.c.id == trigger_id)
            .values(reported_at=utcnow())
        )
        audit.record(tx, actor, AuditAction.REPORT, "catalog_change_trigger", trigger_id)


# Annual maintenance (SQ-7) -------------------------------------------------------------
def record_maintenance(
    db: Database, *, actor: Actor, department_id: str, completed_on: date, note: str = ""
) -> str:
    with db.transaction() as tx:
        dept = identity_queries.get_department(tx.conn, department_id)
        require_edit(actor, dept)
        mid = new_id()
        tx.conn.execute(
            insert(catalog_maintenance).values(
                id=mid,
                department_id=dept.id,
                year=completed_on.year,
                completed_on=completed_on,
                note=note.strip(),
                created_by=actor.name,
                created_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.MAINTAIN,
            "department",
            dept.id,
            details={"year": completed_on.year, "completed_on": completed_on.isoformat()},
        )
        return mid


# Releases (SZ-8, NX-18, NX-20) -------------------------------------------------------
def publish_release(db: Database, *, actor: Actor, jurisdiction_id: str, title: str) -> str:
    """Compile the jurisdiction's published catalog (its own and its counties') into a
    numbered release; every release is kept."""
    with db.transaction() as tx:
        require(actor, Permission.REVIEW_CATALOG, jurisdiction_id=jurisdiction_id)
        scope = identity_queries.descendant_jurisdictions(tx.conn, jurisdiction_id)
        entries = queries.release_entries(tx.conn, scope)
        body = json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
        number = (
            int(
                tx.conn.execute(
                    select(func.coalesce(func.max(catalog_release.c.number), 0)).where(
                        catalog_release.c.jurisdiction_id == jurisdiction_id
                    )
                ).scalar_one()
            )
            + 1
        )
        rid = new_id()
        tx.conn.execute(
            insert(catalog_release).values(
                id=rid,
                jurisdiction_id=jurisdiction_id,
                number=number,
                title=title.strip() or f"政务信息资源目录（第{number}版）",
                entries=body,
                entry_count=len(entries),
                sha256=hashlib.sha256(body.encode()).hexdigest(),
                published_by=actor.name,
                published_at=utcnow(),
                filed_with="",
                filing_ref="",
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.PUBLISH,
            "catalog_release",
            rid,
            details={"number": number, "entries": len(entries)},
        )
        return rid


def file_release(
    db: Database, release_id: str, *, actor: Actor, filed_with: str, filing_ref: str
) -> None:
    """SZ-8: the release filed with the provincial platform; NX-20: submitted to the city."""
    if not filed_with.strip() or not filing_ref.strip():
        raise ValidationFailed(
            "须填写备案机关和备案文号",
            "name where it was filed and the reference",
            field="filed_with",
        )
    with db.transaction() as tx:
        row = tx.conn.execute(
            select(catalog_release).where(catalog_release.c.id == release_id)
        ).first()
        if row is None:
            raise NotFound("目录版本不存在", "no such release")
        require(actor, Permission.REVIEW_CATALOG, jurisdiction_id=row.jurisdiction_id)
        if row.filed_at is not None:
            raise Conflict("该版本已备案", "this release was filed already")
        tx.conn.execute(
            update(catalog_release)
            .where(catalog_release.c.id == release_id)
            .values(filed_with=filed_with.strip(), filing_ref=filing_ref.strip(), filed_at=utcnow())
        )
        audit.record(
            tx,
            actor,
            AuditAction.FILE,
            "catalog_release",
            release_id,
            details={"filed_with": filed_with.strip(), "ref": filing_ref.strip()},
        )
