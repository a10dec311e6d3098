"""Who collects what: demand lists (NX-19, YX-19), collection-responsibility (duty) lists
(NX-21) and joint-collection registration (NX-26, SQ-15)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select, update

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries
from govshare.catalog.services import require_edit
from govshare.catalog.standards import normalise
from govshare.catalog.tables import demand, duty, joint_collection
from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import Conflict, NotFound, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.storage.engine import Database


# Demand and duty lists (NX-19, NX-21, YX-19) ------------------------------------------
def file_demand(
    db: Database,
    *,
    actor: Actor,
    consumer_department_id: str,
    title: str,
    duty_text: str,
    items: list[str],
) -> str:
    items = [i.strip() for i in items if i.strip()]
    if not title.strip() or not duty_text.strip() or not items:
        raise ValidationFailed(
            "须填写需求名称、履职依据和所需信息项",
            "give a title, the duty it serves and the items needed",
            field="items" if title.strip() and duty_text.strip() else "title",
        )
    now = utcnow()
    with db.transaction() as tx:
        dept = identity_queries.get_department(tx.conn, consumer_department_id)
        require(
            actor,
            Permission.FILE_DEMAND,
            department_id=dept.id,
            jurisdiction_id=dept.jurisdiction_id,
        )
        did = new_id()
        tx.conn.execute(
            insert(demand).values(
                id=did,
                consumer_department_id=dept.id,
                title=title.strip(),
                duty=duty_text.strip(),
                items=json.dumps(items, ensure_ascii=False),
                status="open",
                created_by=actor.name,
                created_at=now,
                updated_at=now,
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.CREATE,
            "catalog_demand",
            did,
            details={"title": title.strip(), "items": items},
        )
        return did


def match_demand(db: Database, demand_id: str, resource_id: str, *, actor: Actor) -> None:
    """The demand is met by a published resource: the consumer applies for it."""
    with db.transaction() as tx:
        d = queries.get_demand(tx.conn, demand_id)
        dept = identity_queries.get_department(tx.conn, d.consumer_department_id)
        require(
            actor,
            Permission.FILE_DEMAND,
            department_id=dept.id,
            jurisdiction_id=dept.jurisdiction_id,
        )
        res = queries.get_resource(tx.conn, resource_id)
        if res.published_version_id is None:
            raise ValidationFailed(
                "只能匹配已发布的资源", "match a published resource", field="resource_id"
            )
        tx.conn.execute(
            update(demand)
            .where(demand.c.id == demand_id)
            .values(status="matched", matched_resource_id=resource_id, updated_at=utcnow())
        )
        audit.record(
            tx,
            actor,
            AuditAction.UPDATE,
            "catalog_demand",
            demand_id,
            details={"matched": res.code},
        )


def assign_duty(
    db: Database,
    *,
    actor: Actor,
    producer_department_id: str,
    title: str,
    items: list[str],
    due_on: date,
    demand_id: str | None = None,
) -> str:
    """The authority turns an unmet demand into a producer's duty-list entry (NX-21)."""
    items = [i.strip() for i in items if i.strip()]
    if not title.strip() or not items:
        raise ValidationFailed(
            "须填写责任事项和信息项", "give a title and the items", field="title"
        )
    now = utcnow()
    with db.transaction() as tx:
        dept = identity_queries.get_department(tx.conn, producer_department_id)
        require(actor, Permission.REVIEW_CATALOG, jurisdiction_id=dept.jurisdiction_id)
        if due_on < local_date(now):
            raise ValidationFailed(
                "完成期限不能早于今天", "the due date is in the past", field="due_on"
            )
        if demand_id is not None:  # before the insert: its foreign key needs the demand
            queries.get_demand(tx.conn, demand_id)
        did = new_id()
        tx.conn.execute(
            insert(duty).values(
                id=did,
                demand_id=demand_id,
                producer_department_id=dept.id,
                title=title.strip(),
                items=json.dumps(items, ensure_ascii=False),
                due_on=due_on,
                status="assigned",
                created_by=actor.name,
                created_at=now,
            )
        )
        if demand_id is not None:
            tx.conn.execute(
                update(demand)
                .where(demand.c.id == demand_id)
                .values(status="assigned", updated_at=now)
            )
        audit.record(
            tx,
            actor,
            AuditAction.ASSIGN,
            "catalog_duty",
            did,
            details={"producer": dept.id, "due_on": due_on.isoformat(), "demand": demand_id},
        )
        return did


def fulfil_duty(db: Database, duty_id: str, resource_id: str, *, actor: Actor) -> None:
    with db.transaction() as tx:
        row = tx.conn.execute(select(duty).where(duty.c.id == duty_id)).first()
        if row is None:
            raise NotFound("责任事项不存在", "no such duty")
        dept = identity_queries.get_department(tx.conn, row.producer_department_id)
        require_edit(actor, dept)
        if row.status != "assigned":
            raise Conflict("该责任事项已办结", "this duty is closed already")
        res = queries.get_resource(tx.conn, resource_id)
        if res.provider_department_id != dept.id or res.published_version_id is None:
            raise ValidationFailed(
                "须以本部门已发布的资源完成责任事项",
                "fulfil it with a published resource of this department",
                field="resource_id",
            )
        now = utcnow()
        tx.conn.execute(
            update(duty)
            .where(duty.c.id == duty_id)
            .values(status="fulfilled", resource_id=resource_id, fulfilled_at=now)
        )
        if row.demand_id:
            tx.conn.execute(
                update(demand)
                .where(demand.c.id == row.demand_id)
                .values(status="fulfilled", matched_resource_id=resource_id, updated_at=now)
            )
        audit.record(
            tx, actor, AuditAction.FULFIL, "catalog_duty", duty_id, details={"resource": res.code}
        )


# Joint collection (NX-26, SQ-15) -------------------------------------------------------
@dataclass(frozen=True)
class JointShare:
    """One department's part of a jointly collected resource: the items it collects."""

    department_id: str
    items: tuple[str, ...]
    duty: str


def register_joint_collection(
    db: Database, resource_id: str, shares: list[JointShare], *, actor: Actor
) -> str:
    """The provider registers the agreed division of collection duties (采集登记) for a
    resource that several departments collect. Every item of the published version is
    collected by exactly one department, so the data stays consistent and complete; each
    partner then confirms its part."""
    now = utcnow()
    with db.transaction() as tx:
        res = queries.get_resource(tx.conn, resource_id)
        provider = identity_queries.get_department(tx.conn, res.provider_department_id)
        require_edit(actor, provider)
        version = queries.published_version(tx.conn, resource_id)
        if version is None:
            raise ValidationFailed(
                "只能为已发布的资源登记联合采集",
                "register a published resource",
                field="resource_id",
            )
        if tx.conn.execute(
            select(joint_collection.c.id).where(joint_collection.c.resource_id == resource_id)
        ).first():
            raise Conflict("该资源已登记联合采集", "this resource has a joint collection already")
        if len({sh.department_id for sh in shares}) != len(shares) or len(shares) < 2:
            raise ValidationFailed(
                "联合采集须有两个以上不同部门",
                "a joint collection names two or more distinct departments",
                field="shares",
            )
        if provider.id not in {sh.department_id for sh in shares}:
            raise ValidationFailed(
                "提供部门须承担部分采集", "the provider takes a share", field="shares"
            )
        wanted = {normalise(i.name): i.name for i in version.entry.data_items}
        seen: dict[str, str] = {}
        for n, sh in enumerate(shares, start=1):
            identity_queries.get_department(tx.conn, sh.department_id)
            if not sh.duty.strip() or not sh.items:
                raise ValidationFailed(
                    f"第{n}个部门须写明分工和负责的信息项",
                    f"share {n} needs its duty and items",
                    field=f"shares[{n}]",
                )
            for item in sh.items:
                key = normalise(item)
                if key not in wanted:
                    raise ValidationFailed(
                        f"信息项“{item}”不在该资源中",
                        f"'{item}' is not an item of this resource",
                        field=f"shares[{n}].items",
                    )
                if key in seen:
                    raise ValidationFailed(
                        f"信息项“{item}”被分给了两个部门（一数一源）",
                        f"'{item}' is given to two departments",
                        field=f"shares[{n}].items",
                    )
                seen[key] = sh.department_id
        missing = [name for key, name in wanted.items() if key not in seen]
        if missing:
            raise ValidationFailed(
                f"以下信息项没有指定采集部门：{'、'.join(missing)}",
                f"no department collects: {', '.join(missing)}",
                field="shares",
            )
        jid = new_id()
        tx.conn.execute(
            insert(joint_collection),
            [
                {
                    "id": jid if i == 0 else new_id(),
                    "group_id": jid,
                    "resource_id": resource_id,
                    "department_id": sh.department_id,
                    "position": i,
                    "items": json.dumps(list(sh.items), ensure_ascii=False),
                    "duty": sh.duty.strip(),
                    "registered_by": actor.name,
                    "registered_at": now,
                    "confirmed_at": now if sh.department_id == provider.id else None,
                    "confirmed_by": actor.name if sh.department_id == provider.id else None,
                }
                for i, sh in enumerate(shares)
            ],
        )
        audit.record(
            tx,
            actor,
            AuditAction.CREATE,
            "joint_collection",
            jid,
            details={"resource": res.code, "departments": [sh.department_id for sh in shares]},
        )
        return jid


def confirm_joint_share(db: Database, group_id: str, department_id: str, *, actor: Actor) -> None:
    """A partner department confirms its part of the agreed division."""
    with db.transaction() as tx:
        row = tx.conn.execute(
            select(joint_collection).where(
                joint_collection.c.group_id == group_id,
                joint_collection.c.department_id == department_id,
            )
        ).first()
        if row is None:
            raise NotFound("联合采集登记不存在", "no such joint-collection share")
        dept = identity_queries.get_department(tx.conn, department_id)
        require_edit(actor, dept)
        if row.confirmed_at is not None:
            raise Conflict("已确认", "already confirmed")
        tx.conn.execute(
            update(joint_collection)
            .where(joint_collection.c.id == row.id)
            .values(confirmed_at=utcnow(), confirmed_by=actor.name)
        )
        audit.record(
            tx,
            actor,
            AuditAction.APPROVE,
            "joint_collection",
            group_id,
            details={"department": department_id},
        )
