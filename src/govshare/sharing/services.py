"""The sharing write path: submit a share application, route it by the rule profile of the
provider's jurisdiction, review, decide, notify, and manage the grants it produces.

Each function is one transaction with its audit entry. The platform's own clock stamps every
event and every deadline is counted from the event its article names (HB-22):

- ``application_submitted`` and ``application_accepted``: the submission date (the platform
  accepts, 受理, an application the moment it is submitted online);
- ``forwarded`` and ``provider_received``: the day the authority forwards the application,
  which is the day the provider receives it on the platform;
- ``provider_replied``: the day of the decision.

Routing (who acts, in order):

- ``not_shared``: refused at submission, with the coordination path in the message.
- 专用 (SZ-16.3): a listed department gets a grant at once, without review.
- unconditional, ``unconditional_needs_application: false`` (SQ-19, YX-8): refused at
  submission with the message that the resource is used directly on the platform; no grant
  is needed, so none is created.
- unconditional with an application: direct authorisation by the platform when the profile
  sets one (HB-21), else the compliance review whose pass grants (SZ-15.1), else a decision
  by the ``unconditional_decider`` (NX-12: the authority).
- conditional: the authority's compliance review when the profile sets one (SZ-15.1/15.2,
  HB-19), then a decision by the ``conditional_decider``: the provider (SQ-19, HB-20), the
  provider or its delegated reviewer (SZ-16.1), or the authority (NX-12). Under
  ``three_party_agreement`` (YX-21) the provider decides and the grant stays
  ``pending_agreement`` until the authority confirms the signed security agreement.
- after a decision, a consumer-notice step when the profile sets one (HB-20: 1 WD).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import insert, select, update

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries as catalog_queries
from govshare.catalog.model import ResourceStatus, ResourceVersion
from govshare.catalog.services import deadline_for, profile_for
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.identity.policy import Permission, can, require
from govshare.kernel.actor import Actor, ActorKind, Role
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import Conflict, Forbidden, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.notify.services import notify
from govshare.rules import RuleProfile
from govshare.rules.schema import Deadline as ProfileDeadline
from govshare.sharing import queries
from govshare.sharing.model import (
    DEFAULT_QUOTA_PER_DAY,
    DEFAULT_RATE_LIMIT_PER_MINUTE,
    SUPERSEDED,
    Application,
    ApplicationInput,
    ApplicationState,
    AttachmentKind,
    Grant,
    GrantStatus,
    Masking,
    StepDecision,
    StepKind,
)
from govshare.sharing.tables import (
    application_step,
    delegated_reviewer,
    share_application,
    share_grant,
)
from govshare.storage.engine import Database, Transaction

Profiles = Mapping[str, RuleProfile]


@dataclass(frozen=True)
class Limits:
    """A grant's call limits: requests per minute and per day (enforced by delivery)."""

    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE
    quota_per_day: int = DEFAULT_QUOTA_PER_DAY


# The coordination path shown when a not_shared resource is asked for (SZ-15.3, HB-25).
COORDINATION_PATH_ZH = (
    "该资源为不予共享类。如确因履职需要，请先与提供部门协商；协商不成的，由数据主管部门协调处理"
)
COORDINATION_PATH_EN = (
    "this resource is not shared. If your duties require it, negotiate with the provider "
    "first; if that fails, the data authority coordinates and decides"
)


# Helpers -------------------------------------------------------------------------------
def authority_of(tx: Transaction, dept: Department) -> Department:
    """The data authority of ``dept``'s jurisdiction, or of the nearest one above it
    (a county tenant of a city platform, NX-35)."""
    jid: str | None = dept.jurisdiction_id
    while jid is not None:
        for d in identity_queries.list_departments(tx.conn, jurisdiction_ids={jid}):
            if d.is_authority:
                return d
        jid = identity_queries.get_jurisdiction(tx.conn, jid).parent_id
    raise Conflict(
        "该辖区未设数据主管部门", "the jurisdiction has no data authority", code="no_authority"
    )


def _provider_staff(actor: Actor, department_id: str) -> bool:
    """Staff who may answer for a department: its admins, approvers and cataloguers (the
    authority's admins are not among them, so the authority cannot answer for a provider)."""
    if actor.kind is ActorKind.SYSTEM:
        return True
    return any(
        actor.has_role(role, department_id)
        for role in (Role.DEPT_ADMIN, Role.APPROVER, Role.CATALOGUER)
    )


def party_side(
    tx: Transaction,
    actor: Actor,
    consumer_id: str,
    provider_id: str,
    *,
    with_agent: bool = False,
) -> str | None:
    """Which party of an application or grant ``actor`` acts for: "consumer", "provider"
    (with ``with_agent``, also the provider's delegated reviewer) or "authority" (of the
    provider's jurisdiction); None for anyone else."""
    if can(actor, Permission.FILE_DEMAND, department_id=consumer_id):
        return "consumer"
    if _provider_staff(actor, provider_id):
        return "provider"
    if with_agent:
        agent = queries.delegated_reviewer_of(tx.conn, provider_id)
        if agent is not None and _provider_staff(actor, agent):
            return "provider"
    provider = identity_queries.get_department(tx.conn, provider_id)
    authority = authority_of(tx, provider)
    if can(actor, Permission.REVIEW_CATALOG, jurisdiction_id=authority.jurisdiction_id):
        return "authority"
    return None


def _require_authority(actor: Actor, authority: Department) -> None:
    require(actor, Permission.REVIEW_CATALOG, jurisdiction_id=authority.jurisdiction_id)


def _due(tx: Transaction, rule: ProfileDeadline | None, start: date) -> tuple[date | None, bool]:
    d = deadline_for(tx, rule, start)
    return (d.day, d.provisional) if d else (None, False)


def _open_step(
    tx: Transaction,
    application_id: str,
    kind: StepKind,
    department_id: str | None,
    rule: ProfileDeadline | None,
    start: date,
) -> str:
    due_on, provisional = _due(tx, rule, start)
    sid = new_id()
    tx.conn.execute(
        insert(application_step).values(
            id=sid,
            application_id=application_id,
            kind=kind.value,
            department_id=department_id,
            opened_at=utcnow(),
            counted_from=start if due_on is not None else None,
            due_on=due_on,
            due_provisional=provisional,
            reason="",
        )
    )
    if kind not in (StepKind.SUBMISSION, StepKind.DEDICATED):
        _tell_actor_department(tx, application_id, department_id, kind)
    return sid


def _close_step(
    tx: Transaction,
    step_id: str,
    actor: Actor,
    decision: StepDecision,
    reason: str = "",
    agent_department_id: str | None = None,
) -> None:
    """Close an open step. Compare-and-set on ``at IS NULL``: of two concurrent answers to
    one step (PostgreSQL, READ COMMITTED, two server processes) the second finds the step
    closed once the first commits and fails, so one decision never makes two grants."""
    closed = tx.conn.execute(
        update(application_step)
        .where(application_step.c.id == step_id, application_step.c.at.is_(None))
        .values(
            actor=actor.name,
            at=utcnow(),
            decision=decision.value,
            reason=reason,
            agent_department_id=agent_department_id,
        )
    ).rowcount
    if closed != 1:
        raise Conflict(
            "该环节已由他人处理",
            "the step was answered by someone else in the meantime",
            code="sharing_no_open_step",
        )


def _set_state(
    tx: Transaction, application_id: str, state: ApplicationState, grant_id: str | None = None
) -> None:
    values: dict[str, object] = {"state": state.value, "updated_at": utcnow()}
    if grant_id is not None:
        values["grant_id"] = grant_id
    tx.conn.execute(
        update(share_application).where(share_application.c.id == application_id).values(**values)
    )


def _refuse(code: str, zh: str, en: str, field: str | None = None) -> ValidationFailed:
    return ValidationFailed(zh, en, code=code, field=field)


def _check_renewal(tx: Transaction, data: ApplicationInput) -> None:
    """A renewal names a grant of the same consumer and resource that has not been
    revoked; it then runs the full route again (a renewal is a new decision)."""
    old = queries.get_grant(tx.conn, data.renews_grant_id or "")
    if old.consumer_department_id != data.consumer_department_id or (
        old.resource_id != data.resource_id
    ):
        raise _refuse(
            "sharing_renewal_mismatch",
            "续期只能针对本部门同一资源的授权",
            "a renewal is for a grant of the same consumer and resource",
            "renews_grant_id",
        )
    if old.status in (GrantStatus.REVOKED,) or old.superseded:
        raise Conflict(
            "该授权已撤销或已续期，不能续期",
            "a revoked or already renewed grant cannot be renewed",
            code="sharing_renewal_state",
        )


def _check_request(
    version: ResourceVersion,
    data: ApplicationInput,
    profile: RuleProfile,
    *,
    coordination: bool = False,
) -> None:
    """Refuse a malformed request; a not_shared resource only by way of coordination."""
    entry = version.entry
    not_shared = entry.share_category is not None and entry.share_category.value == "not_shared"
    if not_shared and not coordination:
        raise Conflict(COORDINATION_PATH_ZH, COORDINATION_PATH_EN, code="sharing_not_shared")
    if not data.items:
        raise _refuse("sharing_no_items", "请选择所需信息项", "choose the data items", "items")
    known = {i.code for i in entry.data_items}
    unknown = [c for c in data.items if c not in known]
    if unknown:
        raise _refuse(
            "sharing_unknown_item",
            f"以下信息项不在目录中：{'、'.join(unknown)}",
            f"these items are not in the catalog version: {', '.join(unknown)}",
            "items",
        )
    if len(set(data.items)) != len(data.items):
        raise _refuse("sharing_duplicate_item", "信息项重复", "duplicate items", "items")
    if not data.modes:
        raise _refuse("sharing_no_modes", "请选择共享方式", "choose the delivery modes", "modes")
    offered = {m.value for m in entry.delivery_modes}
    if not_shared:  # a not_shared entry offers no mode; coordination may grant any
        offered = {str(m) for m in profile.delivery.modes}
    bad = [m for m in data.modes if m not in offered]
    if bad:
        raise _refuse(
            "sharing_mode_not_offered",
            f"该资源不提供以下共享方式：{'、'.join(bad)}",
            f"the resource is not delivered by: {', '.join(bad)}",
            "modes",
        )
    delivery = profile.delivery
    if (
        "batch" in data.modes
        and delivery.batch_only_when_query_or_verify_insufficient
        and not data.batch_justification.strip()
    ):
        preferred = [m for m in delivery.preference if m != "batch"]
        raise _refuse(
            "sharing_batch_not_justified",
            f"应优先采用{'、'.join(preferred)}方式；申请批量交换须说明查询、核验方式不能满足的理由",
            f"use {', '.join(preferred)} first; a batch exchange needs a reason why query or "
            "verify do not suffice",
            "batch_justification",
        )
    if not data.scenario.strip():
        raise _refuse("sharing_no_scenario", "请说明应用场景", "state the scenario", "scenario")
    if not data.legal_basis.strip():
        raise _refuse("sharing_no_basis", "请说明履职依据", "state the legal basis", "legal_basis")


def _create_grant(
    tx: Transaction,
    actor: Actor,
    *,
    application_id: str | None,
    consumer_department_id: str,
    client_system_id: str | None,
    version: ResourceVersion,
    items: tuple[str, ...],
    masking: Mapping[str, Masking],
    modes: tuple[str, ...],
    purpose: str,
    valid_until: date,
    status: GrantStatus,
    limits: Limits | None = None,
    controlled_parameters: str = "",
    renewed_from: str | None = None,
) -> str:
    now = utcnow()
    gid = new_id()
    lim = limits or Limits()
    tx.conn.execute(
        insert(share_grant).values(
            id=gid,
            application_id=application_id,
            consumer_department_id=consumer_department_id,
            client_system_id=client_system_id,
            resource_id=version.resource_id,
            version_id=version.id,
            items=json.dumps(
                [{"code": c, "masking": masking.get(c, Masking.MASKED).value} for c in items]
            ),
            modes=json.dumps(list(modes)),
            purpose=purpose,
            valid_until=valid_until,
            status=status.value,
            reason="",
            created_at=now,
            updated_at=now,
            rate_limit_per_minute=lim.rate_limit_per_minute,
            quota_per_day=lim.quota_per_day,
            controlled_parameters=controlled_parameters,
            renewed_from=renewed_from,
            destruction_note="",
        )
    )
    if renewed_from is not None:
        _supersede(tx, actor, renewed_from, gid)
    audit.record(
        tx,
        actor,
        AuditAction.CREATE,
        "share_grant",
        gid,
        details={
            "application": application_id,
            "resource": version.code,
            "items": list(items),
            "masking": {c: m.value for c, m in masking.items() if m is not Masking.MASKED},
            "modes": list(modes),
            "valid_until": valid_until.isoformat(),
            "status": status.value,
            "rate_limit_per_minute": lim.rate_limit_per_minute,
            "quota_per_day": lim.quota_per_day,
            "renewed_from": renewed_from,
        },
    )
    return gid


def _supersede(tx: Transaction, actor: Actor, old_id: str, new_id_: str) -> None:
    """A renewal's grant replaces the grant it renews: the old one ends without a
    destruction duty, since the data stays in lawful use under the new grant."""
    old = queries.get_grant(tx.conn, old_id)
    if old.status in (GrantStatus.ACTIVE, GrantStatus.SUSPENDED, GrantStatus.EXPIRED):
        _set_grant(tx, old_id, GrantStatus.EXPIRED, f"{SUPERSEDED}：{new_id_}")
        audit.record(
            tx,
            actor,
            AuditAction.RENEW,
            "share_grant",
            old_id,
            details={"renewed_by": new_id_},
        )


# Submission ----------------------------------------------------------------------------
def _intake(
    tx: Transaction,
    profiles: Profiles,
    data: ApplicationInput,
    actor: Actor,
    *,
    coordination: bool = False,
) -> tuple[Department, Department, ResourceVersion, RuleProfile]:
    """The checks every application passes: the consumer may file, the resource is
    published and not the consumer's own, and the request is well-formed."""
    consumer = identity_queries.get_department(tx.conn, data.consumer_department_id)
    require(actor, Permission.FILE_DEMAND, department_id=consumer.id)
    res = catalog_queries.get_resource(tx.conn, data.resource_id)
    version = catalog_queries.published_version(tx.conn, data.resource_id)
    if version is None or res.status is not ResourceStatus.PUBLISHED:
        raise Conflict(
            "该资源未发布，不能申请",
            "the resource is not published",
            code="sharing_unpublished",
        )
    provider = identity_queries.get_department(tx.conn, res.provider_department_id)
    if provider.id == consumer.id:
        raise Conflict(
            "不能申请本部门的资源",
            "a department does not apply for its own resource",
            code="sharing_own_resource",
        )
    profile = profile_for(tx, profiles, provider)
    _check_request(version, data, profile, coordination=coordination)
    return consumer, provider, version, profile


def _insert_application(
    tx: Transaction,
    actor: Actor,
    consumer_id: str,
    provider_id: str,
    version: ResourceVersion,
    data: ApplicationInput,
    category: str,
    state: ApplicationState,
) -> tuple[str, date]:
    """Store the application and its closed submission step, audited; returns its id and
    the submission date (Asia/Shanghai)."""
    now = utcnow()
    today = local_date(now)
    aid = new_id()
    tx.conn.execute(
        insert(share_application).values(
            id=aid,
            consumer_department_id=consumer_id,
            provider_department_id=provider_id,
            resource_id=version.resource_id,
            version_id=version.id,
            items=json.dumps(list(data.items)),
            modes=json.dumps(list(data.modes)),
            purpose=data.purpose.value,
            scenario=data.scenario.strip(),
            legal_basis=data.legal_basis.strip(),
            client_system_id=data.client_system_id,
            valid_until=data.valid_until,
            batch_justification=data.batch_justification.strip(),
            renews_grant_id=data.renews_grant_id,
            controlled_parameters=data.controlled_parameters.strip(),
            share_category=category,
            state=state.value,
            submitted_at=now,
            submitted_by=actor.name,
            updated_at=now,
        )
    )
    sub = _open_step(tx, aid, StepKind.SUBMISSION, consumer_id, None, today)
    _close_step(tx, sub, actor, StepDecision.DONE)
    audit.record(
        tx,
        actor,
        AuditAction.SUBMIT,
        "share_application",
        aid,
        purpose=data.purpose.value,
        details={
            "resource": version.code,
            "items": list(data.items),
            "modes": list(data.modes),
            "category": category,
        },
    )
    return aid, today


def submit_application(
    db: Database, profiles: Profiles, data: ApplicationInput, *, actor: Actor
) -> Application:
    """Submit a share application and open its first step under the provider's profile."""
    with db.transaction() as tx:
        consumer, provider, version, profile = _intake(tx, profiles, data, actor)
        rules = profile.sharing
        if data.renews_grant_id is not None:
            _check_renewal(tx, data)
        category = version.entry.share_category.value if version.entry.share_category else ""
        # HB-11: an unconditional resource served under controlled parameters is authorised
        # by its provider, like a conditional one.
        controlled = bool(
            category == "unconditional"
            and rules.controlled_parameter_grants_by_provider
            and version.entry.controlled_parameters.strip()
        )
        if controlled and not data.controlled_parameters.strip():
            raise _refuse(
                "sharing_parameters_required",
                f"该资源须说明管控参数：{version.entry.controlled_parameters.strip()}",
                "state the controlled parameters this resource is served under",
                "controlled_parameters",
            )
        dedicated = (
            rules.dedicated_resources and consumer.id in version.entry.dedicated_department_ids
        )
        if (
            category == "unconditional"
            and not rules.unconditional_needs_application
            and not (dedicated)
        ):
            raise Conflict(
                "无条件共享资源无需申请，可直接在共享平台获取使用",
                "unconditional resources need no application: use them directly on the platform",
                code="sharing_direct_use",
            )
        if data.valid_until <= local_date(utcnow()):
            raise _refuse(
                "sharing_validity",
                "有效期须晚于今天",
                "validity must end after today",
                "valid_until",
            )
        if category == "unconditional" and not controlled:
            data = replace(data, controlled_parameters="")  # only where the entry has them
        aid, today = _insert_application(
            tx,
            actor,
            consumer.id,
            provider.id,
            version,
            data,
            category,
            ApplicationState.AWAITING_DECISION,
        )
        authority = authority_of(tx, provider)
        if dedicated:  # 专用: listed departments use it without review (SZ-16.3)
            step = _open_step(tx, aid, StepKind.DEDICATED, provider.id, None, today)
            _close_step(tx, step, actor, StepDecision.APPROVE, "专用资源，免审核 (SZ-16.3)")
            gid = _create_grant(
                tx,
                actor,
                application_id=aid,
                consumer_department_id=consumer.id,
                client_system_id=data.client_system_id,
                version=version,
                items=data.items,
                masking={},
                modes=data.modes,
                purpose=data.purpose.value,
                valid_until=data.valid_until,
                status=GrantStatus.ACTIVE,
                renewed_from=data.renews_grant_id,
            )
            _set_state(tx, aid, ApplicationState.APPROVED, gid)
            _tell_consumer(tx, aid, consumer.id, "approved")
        elif category == "unconditional" and not controlled:
            if rules.direct_authorisation is not None and rules.unconditional_decider == "platform":
                _open_step(
                    tx,
                    aid,
                    StepKind.DIRECT_AUTHORISATION,
                    authority.id,
                    rules.direct_authorisation,
                    today,
                )
            elif rules.compliance_review is not None:
                _open_step(
                    tx,
                    aid,
                    StepKind.COMPLIANCE_REVIEW,
                    authority.id,
                    rules.compliance_review,
                    today,
                )
                _set_state(tx, aid, ApplicationState.COMPLIANCE_REVIEW)
            else:
                _open_decision(tx, aid, profile, provider, authority, today, unconditional=True)
        else:  # conditional, or unconditional under controlled parameters (HB-11)
            if rules.compliance_review is not None:
                _open_step(
                    tx,
                    aid,
                    StepKind.COMPLIANCE_REVIEW,
                    authority.id,
                    rules.compliance_review,
                    today,
                )
                _set_state(tx, aid, ApplicationState.COMPLIANCE_REVIEW)
            else:
                _open_decision(tx, aid, profile, provider, authority, today, unconditional=False)
        return queries.get_application(tx.conn, aid)


def _open_decision(
    tx: Transaction,
    application_id: str,
    profile: RuleProfile,
    provider: Department,
    authority: Department,
    forwarded_on: date,
    *,
    unconditional: bool,
) -> None:
    """Open the decision step with the decider the profile names."""
    rules = profile.sharing
    decider = rules.unconditional_decider if unconditional else rules.conditional_decider
    dept = authority if decider in ("authority", "platform") else provider
    rule = rules.provider_reply if dept.id == provider.id else None
    start = forwarded_on
    if rule is not None and rule.start == "application_submitted":
        row = tx.conn.execute(
            select(share_application.c.submitted_at).where(share_application.c.id == application_id)
        ).one()
        start = local_date(row.submitted_at)
    _open_step(tx, application_id, StepKind.DECISION, dept.id, rule, start)
    _set_state(tx, application_id, ApplicationState.AWAITING_DECISION)


def _current_step(tx: Transaction, application_id: str, kind: StepKind) -> str:
    row = tx.conn.execute(
        select(application_step.c.id).where(
            application_step.c.application_id == application_id,
            application_step.c.kind == kind.value,
            application_step.c.at.is_(None),
        )
    ).first()
    if row is None:
        raise Conflict(
            "该申请当前没有此待办环节",
            f"the application has no open {kind.value} step",
            code="sharing_no_open_step",
        )
    return str(row.id)


# Compliance review and direct authorisation ------------------------------------------
def review_compliance(
    db: Database,
    profiles: Profiles,
    application_id: str,
    *,
    actor: Actor,
    passed: bool,
    reason: str = "",
) -> Application:
    """The authority's compliance review (符合性审查, SZ-15.1/15.2, HB-19). A pass forwards a
    conditional application to its decider, and grants an unconditional one (SZ-15.1)."""
    with db.transaction() as tx:
        app = queries.get_application(tx.conn, application_id)
        provider = identity_queries.get_department(tx.conn, app.provider_department_id)
        authority = authority_of(tx, provider)
        _require_authority(actor, authority)
        step = _current_step(tx, application_id, StepKind.COMPLIANCE_REVIEW)
        profile = profile_for(tx, profiles, provider)
        if not passed:
            if not reason.strip():
                raise _refuse(
                    "sharing_reason_required",
                    "不通过须说明理由",
                    "a refusal needs reasons",
                    "reason",
                )
            _refuse_at(tx, actor, step, application_id, "compliance_review", reason)
            return queries.get_application(tx.conn, application_id)
        _close_step(tx, step, actor, StepDecision.PASSED, reason.strip())
        audit.record(
            tx,
            actor,
            AuditAction.VERIFY,
            "share_application",
            application_id,
            details={"step": "compliance_review", "result": "pass"},
        )
        controlled = bool(
            profile.sharing.controlled_parameter_grants_by_provider and app.controlled_parameters
        )
        if app.share_category == "unconditional" and not controlled:  # SZ-15.1 (HB-11)
            _grant_application(tx, actor, app, app.items, {}, app.modes, app.valid_until)
        else:
            today = local_date(utcnow())
            _open_decision(
                tx, application_id, profile, provider, authority, today, unconditional=False
            )
            audit.record(
                tx,
                actor,
                AuditAction.FORWARD,
                "share_application",
                application_id,
                details={"step": "forwarded"},
            )
        return queries.get_application(tx.conn, application_id)


def authorise_directly(
    db: Database,
    profiles: Profiles,
    application_id: str,
    *,
    actor: Actor,
    approve: bool = True,
    reason: str = "",
) -> Application:
    """The platform authorises an unconditional application directly (HB-21)."""
    with db.transaction() as tx:
        app = queries.get_application(tx.conn, application_id)
        provider = identity_queries.get_department(tx.conn, app.provider_department_id)
        _require_authority(actor, authority_of(tx, provider))
        step = _current_step(tx, application_id, StepKind.DIRECT_AUTHORISATION)
        profile = profile_for(tx, profiles, provider)
        if approve:
            _close_step(tx, step, actor, StepDecision.APPROVE, reason.strip())
            audit.record(
                tx,
                actor,
                AuditAction.APPROVE,
                "share_application",
                application_id,
                details={"step": "direct_authorisation"},
            )
            _grant_application(tx, actor, app, app.items, {}, app.modes, app.valid_until)
        else:
            if profile.sharing.refusal_needs_reasons and not reason.strip():
                raise _refuse(
                    "sharing_reason_required",
                    "拒绝须说明具体理由",
                    "a refusal needs specific reasons",
                    "reason",
                )
            _refuse_at(tx, actor, step, application_id, "direct_authorisation", reason)
        return queries.get_application(tx.conn, application_id)


def _refuse_at(
    tx: Transaction, actor: Actor, step: str, application_id: str, step_name: str, reason: str
) -> None:
    """Close ``step`` as refused, refuse the application and audit it (same transaction)."""
    _close_step(tx, step, actor, StepDecision.REFUSE, reason.strip())
    _set_state(tx, application_id, ApplicationState.REFUSED)
    consumer = tx.conn.execute(
        select(share_application.c.consumer_department_id).where(
            share_application.c.id == application_id
        )
    ).scalar_one()
    _tell_consumer(tx, application_id, consumer, "refused")
    audit.record(
        tx,
        actor,
        AuditAction.REFUSE,
        "share_application",
        application_id,
        details={"step": step_name, "reason": reason.strip()},
    )


def _grant_application(
    tx: Transaction,
    actor: Actor,
    app: Application,
    items: tuple[str, ...],
    masking: Mapping[str, Masking],
    modes: tuple[str, ...],
    valid_until: date,
    status: GrantStatus = GrantStatus.ACTIVE,
    limits: Limits | None = None,
    controlled_parameters: str | None = None,
) -> str:
    version = catalog_queries.get_version(tx.conn, app.version_id)
    gid = _create_grant(
        tx,
        actor,
        application_id=app.id,
        consumer_department_id=app.consumer_department_id,
        client_system_id=app.client_system_id,
        version=version,
        items=items,
        masking=masking,
        modes=modes,
        purpose=app.purpose.value,
        valid_until=valid_until,
        status=status,
        limits=limits,
        controlled_parameters=(
            app.controlled_parameters if controlled_parameters is None else controlled_parameters
        ),
        renewed_from=app.renews_grant_id,
    )
    _set_state(tx, app.id, ApplicationState.APPROVED, gid)
    _tell_consumer(tx, app.id, app.consumer_department_id, "approved")
    return gid


_RESULT_ZH = {"approved": "已获授权", "refused": "未获同意", "forwarded": "已转提供部门"}


def _tell_consumer(tx: Transaction, application_id: str, consumer_id: str, result: str) -> None:
    """Tell the consumer department (its users, client systems' webhooks and e-mail) the
    result, after commit (HB-20)."""
    notify(
        tx,
        event=f"sharing.application.{result}",
        department_id=consumer_id,
        subject_zh=f"共享申请{_RESULT_ZH.get(result, result)}",
        subject_en=f"share application {result}",
        link=f"/sharing/applications/{application_id}",
        data={"application": application_id, "result": result},
    )


def _tell_actor_department(
    tx: Transaction, application_id: str, department_id: str | None, kind: StepKind
) -> None:
    """Tell the department that must act on a newly opened step."""
    if department_id is None:
        return
    notify(
        tx,
        event=f"sharing.step.{kind.value}",
        department_id=department_id,
        subject_zh=f"新的共享申请待办：{_STEP_ZH.get(kind, kind.value)}",
        subject_en=f"new share application task: {kind.value.replace('_', ' ')}",
        link=f"/sharing/applications/{application_id}",
        data={"application": application_id, "step": kind.value},
    )


_STEP_ZH = {
    StepKind.COMPLIANCE_REVIEW: "符合性审查",
    StepKind.DIRECT_AUTHORISATION: "直接授权",
    StepKind.DECISION: "授权审核",
    StepKind.CONSUMER_NOTICE: "告知使用部门",
    StepKind.COORDINATION: "协调",
}


# Decision ------------------------------------------------------------------------------
def name_delegated_reviewer(
    db: Database, provider_department_id: str, agent_department_id: str, *, actor: Actor
) -> None:
    """A provider names its 授权代理方 for conditional resources (SZ-16.1)."""
    with db.transaction() as tx:
        provider = identity_queries.get_department(tx.conn, provider_department_id)
        require(
            actor,
            Permission.EDIT_CATALOG,
            department_id=provider.id,
            jurisdiction_id=provider.jurisdiction_id,
        )
        if provider_department_id == agent_department_id:
            raise _refuse(
                "sharing_agent_self",
                "不能指定本部门为代理方",
                "name another department",
                "agent_department_id",
            )
        identity_queries.get_department(tx.conn, agent_department_id)
        tx.conn.execute(
            delegated_reviewer.delete().where(
                delegated_reviewer.c.provider_department_id == provider_department_id
            )
        )
        tx.conn.execute(
            insert(delegated_reviewer).values(
                provider_department_id=provider_department_id,
                agent_department_id=agent_department_id,
                named_by=actor.name,
                named_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.ASSIGN,
            "department",
            provider_department_id,
            details={"delegated_reviewer": agent_department_id},
        )


@dataclass(frozen=True)
class Decision:
    """The decider's answer: approve as asked or narrowed, or refuse with reasons."""

    approve: bool
    reason: str = ""
    basis: str = ""  # the basis of a refusal, or of raw (unmasked) items
    basis_type: str = ""  # law | regulation | policy | ... (a BasisType of the profile)
    items: tuple[str, ...] | None = None  # narrowed items (None: as asked)
    modes: tuple[str, ...] | None = None  # narrowed modes
    valid_until: date | None = None  # shortened validity
    raw_items: tuple[str, ...] = ()  # items delivered unmasked, approved with a basis
    pseudonym_items: tuple[str, ...] = ()  # items replaced by a keyed pseudonym
    suppressed_items: tuple[str, ...] = ()  # items withheld in every answer
    limits: Limits | None = None  # call limits (None: the defaults)
    # SZ-11: where the provider's release review decides, whether this grant waits for a
    # signed security agreement (None: as the catalog entry's release review says).
    security_agreement: bool | None = None
    controlled_parameters: str | None = None  # the parameters granted (HB-11)

    def masking(self) -> dict[str, Masking]:
        out = {c: Masking.PSEUDONYM for c in self.pseudonym_items}
        out.update({c: Masking.SUPPRESSED for c in self.suppressed_items})
        out.update({c: Masking.RAW for c in self.raw_items})
        return out


def approval_terms(
    app: Application, decision: Decision
) -> tuple[tuple[str, ...], tuple[str, ...], date]:
    """Check that an approval only narrows what was asked, and return its items, modes and
    validity; raw items need a basis."""
    items = decision.items if decision.items is not None else app.items
    modes = decision.modes if decision.modes is not None else app.modes
    until = decision.valid_until or app.valid_until
    if not set(items) <= set(app.items) or not items:
        raise _refuse(
            "sharing_items_widened",
            "只能在申请范围内缩减信息项",
            "items can only be narrowed",
            "items",
        )
    if not set(modes) <= set(app.modes) or not modes:
        raise _refuse(
            "sharing_modes_widened",
            "只能在申请范围内缩减共享方式",
            "modes can only be narrowed",
            "modes",
        )
    if until > app.valid_until:
        raise _refuse(
            "sharing_validity_widened",
            "有效期不能超过申请",
            "validity can only be shortened",
            "valid_until",
        )
    special = (
        set(decision.raw_items) | set(decision.pseudonym_items) | set(decision.suppressed_items)
    )
    if not special <= set(items):
        raise _refuse(
            "sharing_raw_unknown",
            "明文、假名或屏蔽的信息项须在授权范围内",
            "raw, pseudonymised or suppressed items must be granted items",
            "raw_items",
        )
    if decision.raw_items and not decision.basis.strip():
        raise _refuse(
            "sharing_raw_basis", "提供明文须说明依据", "raw (unmasked) items need a basis", "basis"
        )
    lim = decision.limits
    if lim is not None and (lim.rate_limit_per_minute < 1 or lim.quota_per_day < 1):
        raise _refuse("sharing_limits", "调用限额须为正数", "limits must be positive", "limits")
    return items, modes, until


def _check_refusal_basis(profile: RuleProfile, decision: Decision) -> None:
    """A department's internal management rules are no basis for refusing (SZ-14.1); a
    refusal names a statutory basis (YX-18, SQ-17)."""
    if (
        decision.basis_type == "department_internal_rule"
        and profile.classification.basis.department_internal_rules_rejected
    ):
        raise _refuse(
            "sharing_internal_rule_basis",
            "部门内部管理办法不能作为拒绝共享的依据",
            "a department's internal management rules are no basis for refusing",
            "basis_type",
        )


def _initial_status(
    profile: RuleProfile, app: Application, version: ResourceVersion, decision: Decision
) -> GrantStatus:
    """A grant waits for its security agreement where YX-21 makes one mandatory for
    conditional sharing, or where the provider's release review asks for one (SZ-11)."""
    policy = profile.security.security_agreement
    if policy == "mandatory_three_party" and app.share_category == "conditional":
        return GrantStatus.PENDING_AGREEMENT
    if policy == "provider_decides":
        wanted = (
            decision.security_agreement
            if decision.security_agreement is not None
            else version.entry.security_agreement_required
        )
        if wanted:
            return GrantStatus.PENDING_AGREEMENT
    return GrantStatus.ACTIVE


def decide(
    db: Database, profiles: Profiles, application_id: str, decision: Decision, *, actor: Actor
) -> Application:
    """The decider answers: the provider (SQ-19, HB-20), its delegated reviewer, whose
    decision counts as the provider's (SZ-16.1), or the authority (NX-12)."""
    with db.transaction() as tx:
        app = queries.get_application(tx.conn, application_id)
        step_id = _current_step(tx, application_id, StepKind.DECISION)
        step = next(s for s in app.steps if s.id == step_id)
        provider = identity_queries.get_department(tx.conn, app.provider_department_id)
        profile = profile_for(tx, profiles, provider)
        rules = profile.sharing
        agent_id: str | None = None
        dept = identity_queries.get_department(tx.conn, step.department_id or "")
        if dept.is_authority and dept.id != provider.id:
            _require_authority(actor, dept)
        elif _provider_staff(actor, provider.id):
            pass
        else:
            agent = queries.delegated_reviewer_of(tx.conn, provider.id)
            if (
                rules.delegated_reviewer
                and app.share_category == "conditional"
                and agent is not None
                and _provider_staff(actor, agent)
            ):
                agent_id = agent
            else:
                raise Forbidden(
                    "只有决定部门或其授权代理方可以答复",
                    "only the deciding department or its delegated reviewer may answer",
                    code="forbidden",
                )
        today = local_date(utcnow())
        if not decision.approve:
            if rules.refusal_needs_reasons and not (
                decision.reason.strip() and decision.basis.strip()
            ):
                raise _refuse(
                    "sharing_reason_required",
                    "不予共享须说明理由和依据",
                    "a refusal needs its reasons and basis",
                    "reason",
                )
            _check_refusal_basis(profile, decision)
            text = "；".join(t for t in (decision.reason.strip(), decision.basis.strip()) if t)
            _close_step(tx, step_id, actor, StepDecision.REFUSE, text, agent_id)
            _set_state(tx, application_id, ApplicationState.REFUSED)
            _tell_consumer(tx, application_id, app.consumer_department_id, "refused")
            audit.record(
                tx,
                actor,
                AuditAction.REFUSE,
                "share_application",
                application_id,
                details={
                    "step": "decision",
                    "reason": decision.reason.strip(),
                    "basis": decision.basis.strip(),
                    "agent": agent_id,
                },
            )
        else:
            items, modes, until = approval_terms(app, decision)
            _close_step(tx, step_id, actor, StepDecision.APPROVE, decision.reason.strip(), agent_id)
            audit.record(
                tx,
                actor,
                AuditAction.APPROVE,
                "share_application",
                application_id,
                details={
                    "step": "decision",
                    "items": list(items),
                    "modes": list(modes),
                    "valid_until": until.isoformat(),
                    "agent": agent_id,
                },
            )
            version = catalog_queries.get_version(tx.conn, app.version_id)
            _grant_application(
                tx,
                actor,
                app,
                items,
                decision.masking(),
                modes,
                until,
                _initial_status(profile, app, version, decision),
                decision.limits,
                decision.controlled_parameters,
            )
        if rules.consumer_notice is not None and rules.consumer_notice.days is not None:
            _open_step(
                tx,
                application_id,
                StepKind.CONSUMER_NOTICE,
                authority_of(tx, provider).id,
                rules.consumer_notice,
                today,
            )
        return queries.get_application(tx.conn, application_id)


def notify_consumer(db: Database, application_id: str, *, actor: Actor) -> Application:
    """The platform records that the consumer was told the result (HB-20)."""
    with db.transaction() as tx:
        app = queries.get_application(tx.conn, application_id)
        provider = identity_queries.get_department(tx.conn, app.provider_department_id)
        _require_authority(actor, authority_of(tx, provider))
        step = _current_step(tx, application_id, StepKind.CONSUMER_NOTICE)
        _close_step(tx, step, actor, StepDecision.DONE)
        audit.record(
            tx,
            actor,
            AuditAction.NOTIFY,
            "share_application",
            application_id,
            details={"step": "consumer_notice", "state": app.state.value},
        )
        return queries.get_application(tx.conn, application_id)


# Grants --------------------------------------------------------------------------------
def _grant_for_change(tx: Transaction, grant_id: str, actor: Actor) -> Grant:
    g = queries.get_grant(tx.conn, grant_id)
    res = catalog_queries.get_resource(tx.conn, g.resource_id)
    provider = identity_queries.get_department(tx.conn, res.provider_department_id)
    if not _provider_staff(actor, provider.id):
        _require_authority(actor, authority_of(tx, provider))
    return g


_GRANT_ZH = {
    "activated": "授权已生效",
    "active": "授权已恢复",
    "suspended": "授权已暂停",
    "revoked": "授权已撤销",
    "expired": "授权已到期，请确认数据已销毁",
    "retiring": "授权所涉资源将下线",
}


def _tell_grant(tx: Transaction, g: Grant, what: str, reason: str = "") -> None:
    """Tell the grant's consumer department (users, client-system webhooks, e-mail)."""
    notify(
        tx,
        event=f"sharing.grant.{what}",
        department_id=g.consumer_department_id,
        subject_zh=_GRANT_ZH.get(what, what),
        subject_en=f"grant {what}",
        link=f"/sharing/grants/{g.id}",
        data={"grant": g.id, "status": what, "reason": reason},
    )


def _set_grant(tx: Transaction, grant_id: str, status: GrantStatus, reason: str) -> None:
    tx.conn.execute(
        update(share_grant)
        .where(share_grant.c.id == grant_id)
        .values(status=status.value, reason=reason, updated_at=utcnow())
    )


def confirm_security_agreement(db: Database, grant_id: str, *, actor: Actor, note: str) -> Grant:
    """The authority confirms the signed security agreement, uploaded as an attachment of
    the grant: three-party under YX-21, or as the provider's release review asks (SZ-11)."""
    with db.transaction() as tx:
        g = queries.get_grant(tx.conn, grant_id)
        res = catalog_queries.get_resource(tx.conn, g.resource_id)
        provider = identity_queries.get_department(tx.conn, res.provider_department_id)
        _require_authority(actor, authority_of(tx, provider))
        if g.status is not GrantStatus.PENDING_AGREEMENT:
            raise Conflict("该授权无需确认协议", "no agreement is pending", code="grant_state")
        agreements = [
            x
            for x in queries.attachments_of(tx.conn, "grant", grant_id)
            if x.kind is AttachmentKind.SECURITY_AGREEMENT
        ]
        if not agreements:
            raise Conflict(
                "请先上传已签署的安全保密协议",
                "upload the signed security agreement first",
                code="grant_agreement_missing",
            )
        if not note.strip():
            raise _refuse(
                "grant_agreement_note", "请填写协议编号或说明", "name the agreement", "note"
            )
        _set_grant(tx, grant_id, GrantStatus.ACTIVE, "")
        _tell_grant(tx, g, "activated")
        audit.record(
            tx,
            actor,
            AuditAction.ACTIVATE,
            "share_grant",
            grant_id,
            details={"security_agreement": note.strip(), "file": agreements[-1].sha256},
        )
        return queries.get_grant(tx.conn, grant_id)


def suspend_grant(db: Database, grant_id: str, *, actor: Actor, reason: str) -> Grant:
    """Provider or authority suspends a grant with a reason (SZ-27, NX-41)."""
    return _change_grant(db, grant_id, actor, reason, GrantStatus.SUSPENDED)


def revoke_grant(db: Database, grant_id: str, *, actor: Actor, reason: str) -> Grant:
    """Provider or authority revokes a grant with a reason (SZ-27, NX-41)."""
    return _change_grant(db, grant_id, actor, reason, GrantStatus.REVOKED)


def resume_grant(db: Database, grant_id: str, *, actor: Actor, reason: str) -> Grant:
    return _change_grant(db, grant_id, actor, reason, GrantStatus.ACTIVE)


def _change_grant(
    db: Database, grant_id: str, actor: Actor, reason: str, status: GrantStatus
) -> Grant:
    allowed = {
        GrantStatus.SUSPENDED: {GrantStatus.ACTIVE},
        GrantStatus.REVOKED: {
            GrantStatus.ACTIVE,
            GrantStatus.SUSPENDED,
            GrantStatus.PENDING_AGREEMENT,
        },
        GrantStatus.ACTIVE: {GrantStatus.SUSPENDED},
    }[status]
    action = {
        GrantStatus.SUSPENDED: AuditAction.SUSPEND,
        GrantStatus.REVOKED: AuditAction.REVOKE,
        GrantStatus.ACTIVE: AuditAction.RESUME,
    }[status]
    with db.transaction() as tx:
        g = _grant_for_change(tx, grant_id, actor)
        if not reason.strip():
            raise _refuse("grant_reason_required", "须说明理由", "state the reason", "reason")
        if g.status not in allowed:
            raise Conflict(
                "授权当前状态不允许此操作",
                f"a {g.status.value} grant cannot become {status.value}",
                code="grant_state",
            )
        _set_grant(tx, grant_id, status, reason.strip())
        _tell_grant(tx, g, status.value, reason.strip())
        audit.record(
            tx,
            actor,
            action,
            "share_grant",
            grant_id,
            details={"status": status.value, "reason": reason.strip()},
        )
        return queries.get_grant(tx.conn, grant_id)


def expire_grants(db: Database, *, actor: Actor, today: date | None = None) -> list[str]:
    """Mark grants whose validity ended before ``today`` as expired, one audit entry each."""
    day = today or local_date(utcnow())
    with db.transaction() as tx:
        rows = tx.conn.execute(
            select(share_grant.c.id).where(
                share_grant.c.valid_until < day,
                share_grant.c.status.in_(
                    [
                        GrantStatus.ACTIVE.value,
                        GrantStatus.SUSPENDED.value,
                        GrantStatus.PENDING_AGREEMENT.value,
                    ]
                ),
            )
        ).all()
        ids = sorted(str(r.id) for r in rows)
        for gid in ids:
            _set_grant(tx, gid, GrantStatus.EXPIRED, "有效期届满")
            _tell_grant(tx, queries.get_grant(tx.conn, gid), "expired")
            audit.record(
                tx,
                actor,
                AuditAction.EXPIRE,
                "share_grant",
                gid,
                details={"status": "expired", "on": day.isoformat()},
            )
        return ids
