"""The catalog write path for entries: drafts, submission, review and publication,
versions and retirement. (Change triggers, maintenance and releases: catalog.upkeep;
demand, duty and joint-collection lists: catalog.collection.)

Each function is one transaction with its audit entry. Rules come from the rule profile of
the provider department's jurisdiction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import delete, func, insert, select, update

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries, search
from govshare.catalog.codec import entry_values
from govshare.catalog.model import (
    BASE_KIND_CODES,
    Classification,
    EntryInput,
    ResourceStatus,
    ResourceVersion,
    ReviewDecision,
    ShareCategory,
    VersionState,
)
from govshare.catalog.standards import normalise
from govshare.catalog.tables import (
    catalog_change_trigger,
    catalog_entry,
    catalog_entry_mode,
    catalog_sequence,
    data_item,
    resource,
    resource_version,
)
from govshare.catalog.validation import check_entry, first_error
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor
from govshare.kernel.calendar import Deadline, add_calendar_days
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import Conflict, NotFound, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.rules import RuleProfile
from govshare.rules.calendar import load_calendar
from govshare.rules.schema import Deadline as ProfileDeadline
from govshare.storage.engine import Database, Transaction

Profiles = Mapping[str, RuleProfile]
CATALOG_LOCK_KEY = 0x636174616C6F67


def profile_for(tx: Transaction, profiles: Profiles, department: Department) -> RuleProfile:
    j = identity_queries.get_jurisdiction(tx.conn, department.jurisdiction_id)
    return profiles.get(j.profile) or profiles["default"]


def deadline_for(tx: Transaction, rule: ProfileDeadline | None, start: date) -> Deadline | None:
    """A profile deadline counted from ``start``; None when the measure sets no number."""
    if rule is None or rule.days is None:
        return None
    if rule.unit == "calendar":
        return Deadline(day=add_calendar_days(start, rule.days), provisional=False)
    return load_calendar(tx.conn).add_working_days(start, rule.days, provisional=True)


def require_edit(actor: Actor, dept: Department) -> None:
    require(
        actor, Permission.EDIT_CATALOG, department_id=dept.id, jurisdiction_id=dept.jurisdiction_id
    )


def _next_code(tx: Transaction, entry: EntryInput, profile: RuleProfile) -> str:
    """Classification code + sub-class + sequence, e.g. 101000012 (base, population, 12th)."""
    cls = {Classification.BASE: 1, Classification.THEME: 2, Classification.DEPARTMENT: 3}[
        entry.classification
    ]
    if entry.classification is Classification.BASE and entry.base_kind is not None:
        sub = BASE_KIND_CODES[entry.base_kind]
    elif entry.classification is Classification.THEME and entry.theme in profile.catalog.themes:
        sub = profile.catalog.themes.index(entry.theme) + 1
    else:
        sub = 0
    prefix = f"{cls}{sub:02d}"
    tx.serialize(CATALOG_LOCK_KEY)
    last = tx.conn.execute(
        select(catalog_sequence.c.last).where(catalog_sequence.c.prefix == prefix)
    ).scalar()
    if last is None:
        tx.conn.execute(insert(catalog_sequence).values(prefix=prefix, last=1))
        nxt = 1
    else:
        nxt = int(last) + 1
        tx.conn.execute(
            update(catalog_sequence).where(catalog_sequence.c.prefix == prefix).values(last=nxt)
        )
    return f"{prefix}{nxt:06d}"


def _write_items(tx: Transaction, version_id: str, entry: EntryInput) -> None:
    tx.conn.execute(delete(data_item).where(data_item.c.version_id == version_id))
    rows = [
        {
            "version_id": version_id,
            "position": i,
            "name": it.name.strip(),
            "code": it.code.strip(),
            "norm_name": normalise(it.name),
            "type": it.type.value,
            "length": it.length,
            "description": it.description,
            "required": it.required,
            "identifier": it.identifier.value,
            "sensitivity": it.sensitivity,
            "code_list": it.code_list,
            "base_item": it.base_item,
            "collection_basis": it.collection_basis.value,
            "collection_basis_text": it.collection_basis_text,
        }
        for i, it in enumerate(entry.data_items, start=1)
    ]
    if rows:
        tx.conn.execute(insert(data_item), rows)


def _validate(entry: EntryInput, profile: RuleProfile, *, complete: bool) -> None:
    err = first_error(check_entry(entry, profile, complete=complete))
    if err is not None:
        raise err


def _check_dedicated(tx: Transaction, entry: EntryInput) -> None:
    for dept_id in entry.dedicated_department_ids:
        try:
            identity_queries.get_department(tx.conn, dept_id)
        except NotFound:
            raise ValidationFailed(
                "专用部门不存在",
                "a dedicated department does not exist",
                field="dedicated_department_ids",
            ) from None


def create_draft(
    db: Database, profiles: Profiles, entry: EntryInput, *, actor: Actor
) -> ResourceVersion:
    """A new resource with its first (draft) version; the resource code is assigned now."""
    with db.transaction() as tx:
        return create_draft_tx(tx, profiles, entry, actor=actor)


def create_draft_tx(
    tx: Transaction, profiles: Profiles, entry: EntryInput, *, actor: Actor
) -> ResourceVersion:
    """The core of :func:`create_draft`, inside the caller's transaction (the XLSX import
    creates many drafts in one)."""
    now = utcnow()
    entry = replace(entry, name=entry.name.strip())
    dept = identity_queries.get_department(tx.conn, entry.provider_department_id)
    require_edit(actor, dept)
    profile = profile_for(tx, profiles, dept)
    _validate(entry, profile, complete=False)
    _check_dedicated(tx, entry)
    if not entry.name:
        raise ValidationFailed("资源名称不能为空", "the resource needs a name", field="name")
    rid, vid = new_id(), new_id()
    code = _next_code(tx, entry, profile)
    tx.conn.execute(
        insert(resource).values(
            id=rid,
            code=code,
            provider_department_id=dept.id,
            status=ResourceStatus.DRAFT.value,
            draft_version_id=vid,
            retired_reason="",
            created_at=now,
            updated_at=now,
        )
    )
    tx.conn.execute(
        insert(resource_version).values(
            id=vid,
            resource_id=rid,
            version_no=1,
            state=VersionState.DRAFT.value,
            created_by=actor.name,
            created_at=now,
            updated_at=now,
            overlaps="[]",
            **entry_values(entry),
        )
    )
    _write_items(tx, vid, entry)
    audit.record(
        tx,
        actor,
        AuditAction.CREATE,
        "resource",
        rid,
        details={"code": code, "name": entry.name, "version": 1},
    )
    return queries.get_version(tx.conn, vid)


def update_draft(
    db: Database, profiles: Profiles, version_id: str, entry: EntryInput, *, actor: Actor
) -> ResourceVersion:
    with db.transaction() as tx:
        version = queries.get_version(tx.conn, version_id)
        if version.state not in (VersionState.DRAFT, VersionState.RETURNED):
            raise Conflict(
                "只有草稿或退回的版本可以修改",
                "only a draft or returned version can be edited",
                code="catalog_not_editable",
            )
        if entry.provider_department_id != version.entry.provider_department_id:
            raise ValidationFailed(
                "不能更改提供部门", "the provider cannot change", field="provider_department_id"
            )
        dept = identity_queries.get_department(tx.conn, entry.provider_department_id)
        require_edit(actor, dept)
        profile = profile_for(tx, profiles, dept)
        _validate(entry, profile, complete=False)
        _check_dedicated(tx, entry)
        if version.version_no > 1:
            published = queries.published_version(tx.conn, version.resource_id)
            if published is not None and published.entry.classification != entry.classification:
                raise ValidationFailed(
                    "已发布资源不能更改分类（资源代码保持不变）",
                    "a published resource keeps its classification",
                    field="classification",
                )
        tx.conn.execute(
            update(resource_version)
            .where(resource_version.c.id == version_id)
            .values(updated_at=utcnow(), state=VersionState.DRAFT.value, **entry_values(entry))
        )
        _write_items(tx, version_id, entry)
        audit.record(
            tx,
            actor,
            AuditAction.UPDATE,
            "resource_version",
            version_id,
            details={"code": version.code, "version": version.version_no},
        )
        return queries.get_version(tx.conn, version_id)


def start_revision(db: Database, resource_id: str, *, actor: Actor) -> ResourceVersion:
    """A new draft version copied from the published one (nothing is overwritten)."""
    now = utcnow()
    with db.transaction() as tx:
        res = queries.get_resource(tx.conn, resource_id)
        dept = identity_queries.get_department(tx.conn, res.provider_department_id)
        require_edit(actor, dept)
        if res.draft_version_id is not None:
            return queries.get_version(tx.conn, res.draft_version_id)
        if res.published_version_id is None or res.status is ResourceStatus.RETIRED:
            raise Conflict(
                "该资源没有可修订的已发布版本",
                "nothing published to revise",
                code="catalog_not_published",
            )
        pub = queries.get_version(tx.conn, res.published_version_id)
        last = tx.conn.execute(
            select(func.max(resource_version.c.version_no)).where(
                resource_version.c.resource_id == resource_id
            )
        ).scalar_one()
        vid = new_id()
        tx.conn.execute(
            insert(resource_version).values(
                id=vid,
                resource_id=resource_id,
                version_no=int(last) + 1,
                state=VersionState.DRAFT.value,
                created_by=actor.name,
                created_at=now,
                updated_at=now,
                overlaps="[]",
                **entry_values(pub.entry),
            )
        )
        _write_items(tx, vid, pub.entry)
        tx.conn.execute(
            update(resource)
            .where(resource.c.id == resource_id)
            .values(draft_version_id=vid, updated_at=now)
        )
        audit.record(
            tx,
            actor,
            AuditAction.CREATE,
            "resource_version",
            vid,
            details={"code": res.code, "version": int(last) + 1, "from": pub.version_no},
        )
        return queries.get_version(tx.conn, vid)


def submit(
    db: Database,
    profiles: Profiles,
    version_id: str,
    *,
    actor: Actor,
    change_trigger_id: str | None = None,
) -> ResourceVersion:
    """Submit a draft for the authority's review. Completeness is checked here, and overlap
    with items another department already provides (一数一源) must be justified."""
    with db.transaction() as tx:
        return submit_tx(tx, profiles, version_id, actor=actor, change_trigger_id=change_trigger_id)


def submit_tx(
    tx: Transaction,
    profiles: Profiles,
    version_id: str,
    *,
    actor: Actor,
    change_trigger_id: str | None = None,
) -> ResourceVersion:
    """The core of :func:`submit`, inside the caller's transaction."""
    now = utcnow()
    version = queries.get_version(tx.conn, version_id)
    if version.state not in (VersionState.DRAFT, VersionState.RETURNED):
        raise Conflict(
            "该版本已提交或已发布",
            "this version was submitted already",
            code="catalog_not_editable",
        )
    dept = identity_queries.get_department(tx.conn, version.entry.provider_department_id)
    require_edit(actor, dept)
    profile = profile_for(tx, profiles, dept)
    _validate(version.entry, profile, complete=True)
    overlaps = queries.overlapping_resources(tx.conn, version)
    if overlaps and not version.entry.single_source_justification.strip():
        names = "、".join(f"{o.name}（{o.code}）" for o in overlaps[:5])
        raise ValidationFailed(
            f"以下信息项已由其他部门的资源提供：{names}。按“一数一源”原则，请说明另行采集的理由",
            "items of this entry are already provided by another department's resource "
            f"({', '.join(o.code for o in overlaps[:5])}); under one-data-one-source, "
            "justify a second source",
            code="catalog_single_source",
            field="single_source_justification",
            extra={"overlaps": [o.code for o in overlaps]},
        )
    if change_trigger_id is not None:
        trig = queries.get_change_trigger(tx.conn, change_trigger_id)
        if trig.department_id != dept.id:
            raise ValidationFailed(
                "变更事项不属于该部门",
                "that change belongs to another department",
                field="change_trigger_id",
            )
    due = deadline_for(tx, profile.catalog.authority_update, local_date(now))
    tx.conn.execute(
        update(resource_version)
        .where(resource_version.c.id == version_id)
        .values(
            state=VersionState.SUBMITTED.value,
            submitted_at=now,
            updated_at=now,
            review_due=due.day if due else None,
            review_due_provisional=bool(due and due.provisional),
            overlaps=json.dumps([o.code for o in overlaps]),
            change_trigger_id=change_trigger_id,
        )
    )
    audit.record(
        tx,
        actor,
        AuditAction.SUBMIT,
        "resource_version",
        version_id,
        details={
            "code": version.code,
            "version": version.version_no,
            "review_due": due.day.isoformat() if due else None,
            "overlaps": [o.code for o in overlaps],
        },
    )
    return queries.get_version(tx.conn, version_id)


def review(
    db: Database, version_id: str, decision: ReviewDecision, *, actor: Actor, comment: str = ""
) -> ResourceVersion:
    """The authority approves (which publishes the version) or returns it with reasons."""
    now = utcnow()
    decision = ReviewDecision(decision)
    with db.transaction() as tx:
        version = queries.get_version(tx.conn, version_id)
        dept = identity_queries.get_department(tx.conn, version.entry.provider_department_id)
        require(actor, Permission.REVIEW_CATALOG, jurisdiction_id=dept.jurisdiction_id)
        if version.state is not VersionState.SUBMITTED:
            raise Conflict(
                "只有待审核的版本可以审核",
                "only a submitted version can be reviewed",
                code="catalog_not_submitted",
            )
        if decision is ReviewDecision.RETURN:
            if not comment.strip():
                raise ValidationFailed(
                    "退回须说明理由", "a return needs its reasons", field="comment"
                )
            tx.conn.execute(
                update(resource_version)
                .where(resource_version.c.id == version_id)
                .values(
                    state=VersionState.RETURNED.value,
                    reviewed_by=actor.name,
                    reviewed_at=now,
                    review_comment=comment.strip(),
                    updated_at=now,
                )
            )
            audit.record(
                tx,
                actor,
                AuditAction.RETURN,
                "resource_version",
                version_id,
                details={"code": version.code, "reason": comment.strip()},
            )
            return queries.get_version(tx.conn, version_id)
        _publish(tx, version, actor, comment)
        return queries.get_version(tx.conn, version_id)


def _publish(tx: Transaction, version: ResourceVersion, actor: Actor, comment: str) -> None:
    now = utcnow()
    res = queries.get_resource(tx.conn, version.resource_id)
    if res.published_version_id is not None:
        tx.conn.execute(
            update(resource_version)
            .where(resource_version.c.id == res.published_version_id)
            .values(state=VersionState.SUPERSEDED.value, updated_at=now)
        )
    tx.conn.execute(
        update(resource_version)
        .where(resource_version.c.id == version.id)
        .values(
            state=VersionState.PUBLISHED.value,
            reviewed_by=actor.name,
            reviewed_at=now,
            review_comment=comment.strip(),
            published_at=now,
            updated_at=now,
        )
    )
    status = res.status if res.status is ResourceStatus.RETIRING else ResourceStatus.PUBLISHED
    tx.conn.execute(
        update(resource)
        .where(resource.c.id == res.id)
        .values(
            published_version_id=version.id,
            draft_version_id=None,
            status=status.value,
            updated_at=now,
        )
    )
    _project(tx, version, status.value, now)
    if version.submitted_at is not None:
        trig_id = tx.conn.execute(
            select(resource_version.c.change_trigger_id).where(resource_version.c.id == version.id)
        ).scalar()
        if trig_id:
            tx.conn.execute(
                update(catalog_change_trigger)
                .where(
                    catalog_change_trigger.c.id == trig_id,
                    catalog_change_trigger.c.resolved_at.is_(None),
                )
                .values(resolved_at=now, resolution=f"{version.code} v{version.version_no}")
            )
    audit.record(
        tx,
        actor,
        AuditAction.PUBLISH,
        "resource",
        res.id,
        details={
            "code": version.code,
            "version": version.version_no,
            "share_category": getattr(version.entry.share_category, "value", None),
        },
    )


def _project(tx: Transaction, version: ResourceVersion, status: str, now: object) -> None:
    """Refresh the published-catalog read model and the search index for one resource."""
    e = version.entry
    provider = identity_queries.get_department(tx.conn, e.provider_department_id)
    tx.conn.execute(
        delete(catalog_entry_mode).where(catalog_entry_mode.c.resource_id == version.resource_id)
    )
    tx.conn.execute(delete(catalog_entry).where(catalog_entry.c.resource_id == version.resource_id))
    tx.conn.execute(
        insert(catalog_entry).values(
            resource_id=version.resource_id,
            version_id=version.id,
            code=version.code,
            name=e.name,
            provider_department_id=e.provider_department_id,
            classification=e.classification.value,
            base_kind=e.base_kind.value if e.base_kind else None,
            theme=e.theme,
            share_category=(e.share_category or ShareCategory.CONDITIONAL).value,
            open_category=e.open_category.value,
            format_category=e.format_category.value if e.format_category else "other",
            update_cycle=e.update_cycle.value if e.update_cycle else "irregular",
            status=status,
            summary=e.summary,
            published_at=now,
        )
    )
    if e.delivery_modes:
        tx.conn.execute(
            insert(catalog_entry_mode),
            [{"resource_id": version.resource_id, "mode": m.value} for m in e.delivery_modes],
        )
    search.index_entry(
        tx.conn,
        version.resource_id,
        e.name,
        [
            e.summary,
            provider.name,
            provider.short_name,
            e.theme,
            e.internal_division,
            " ".join(e.tags),
            " ".join(i.name for i in e.data_items),
            e.format_type,
        ],
    )


@dataclass(frozen=True)
class Retirement:
    resource_id: str
    transition_ends_on: date
    replacement_code: str | None


def retire(
    db: Database,
    profiles: Profiles,
    resource_id: str,
    *,
    actor: Actor,
    reason: str,
    replacement_resource_id: str | None = None,
    transition_days: int | None = None,
) -> Retirement:
    """Retire a published resource, with a replacement or a stated reason. The transition
    runs for at least the profile's minimum (SZ-19: 20 calendar days); the replacement must
    already be published, so it is usable before the old one goes offline."""
    now = utcnow()
    with db.transaction() as tx:
        res = queries.get_resource(tx.conn, resource_id)
        dept = identity_queries.get_department(tx.conn, res.provider_department_id)
        require_edit(actor, dept)
        profile = profile_for(tx, profiles, dept)
        if res.status is not ResourceStatus.PUBLISHED:
            raise Conflict(
                "只有已发布的资源可以下线",
                "only a published resource can be retired",
                code="catalog_not_published",
            )
        if not reason.strip() and replacement_resource_id is None:
            raise ValidationFailed(
                "下线须指明替代资源或说明理由",
                "retirement needs a replacement or a reason",
                field="reason",
            )
        replacement_code = None
        if replacement_resource_id is not None:
            rep = queries.get_resource(tx.conn, replacement_resource_id)
            if rep.id == res.id or rep.status is not ResourceStatus.PUBLISHED:
                raise ValidationFailed(
                    "替代资源须是已发布的其他资源（新资源先上线，旧资源再下线）",
                    "the replacement must be another published resource, "
                    "live before the old one goes offline (SZ-19)",
                    field="replacement_resource_id",
                )
            replacement_code = rep.code
        minimum = profile.retirement.transition_min
        min_days = minimum.days if minimum is not None else 0
        days = transition_days if transition_days is not None else min_days
        if days < min_days:
            raise ValidationFailed(
                f"过渡期不得少于{min_days}个自然日",
                f"the transition period is at least {min_days} calendar days",
                field="transition_days",
            )
        ends = add_calendar_days(local_date(now), days)
        tx.conn.execute(
            update(resource)
            .where(resource.c.id == res.id)
            .values(
                status=ResourceStatus.RETIRING.value,
                retired_reason=reason.strip(),
                replacement_resource_id=replacement_resource_id,
                transition_ends_on=ends,
                updated_at=now,
            )
        )
        tx.conn.execute(
            update(catalog_entry)
            .where(catalog_entry.c.resource_id == res.id)
            .values(status=ResourceStatus.RETIRING.value)
        )
        audit.record(
            tx,
            actor,
            AuditAction.RETIRE,
            "resource",
            res.id,
            details={
                "code": res.code,
                "reason": reason.strip(),
                "replacement": replacement_code,
                "transition_ends_on": ends.isoformat(),
            },
        )
        # Every grant holder is told on the day of the decision, in this transaction
        # (SZ-19); sharing sits above the catalog, hence the import here.
        from govshare.sharing.lifecycle import on_resource_retiring

        on_resource_retiring(tx, actor, res.id, ends, replacement_code)
    return Retirement(resource_id, ends, replacement_code)


def complete_retirements(db: Database, *, actor: Actor, today: date | None = None) -> list[str]:
    """Take offline every resource whose transition period has ended (a daily job)."""
    today = today or local_date(utcnow())
    done: list[str] = []
    with db.transaction() as tx:
        rows = tx.conn.execute(
            select(resource.c.id, resource.c.code).where(
                resource.c.status == ResourceStatus.RETIRING.value,
                resource.c.transition_ends_on < today,
            )
        ).all()
        for r in rows:
            tx.conn.execute(
                update(resource)
                .where(resource.c.id == r.id)
                .values(status=ResourceStatus.RETIRED.value, updated_at=utcnow())
            )
            tx.conn.execute(
                delete(catalog_entry_mode).where(catalog_entry_mode.c.resource_id == r.id)
            )
            tx.conn.execute(delete(catalog_entry).where(catalog_entry.c.resource_id == r.id))
            search.remove_entry(tx.conn, r.id)
            audit.record(
                tx,
                actor,
                AuditAction.DESTROY,
                "catalog_entry",
                r.id,
                details={"code": r.code, "retired": True},
            )
            done.append(r.code)
    return done
