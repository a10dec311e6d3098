"""After a refusal: negotiation between consumer and provider, and, when it fails, the
authority's coordination and decision (SZ-15.3, HB-25, NX-40). A consumer may also take a
need straight to the authority for coordination (YX-19), which is the only route to a
``not_shared`` resource.

One case per application, with a message thread. Each function is one transaction with its
audit entry, and tells the other side after commit (``notify``).

States: ``open`` (the two departments exchange messages; the provider may agree and grant,
the consumer may withdraw) → ``coordination`` (either side escalates; the authority
decides: grant within the application's scope, or uphold the refusal with reasons) →
``closed`` with an outcome.
"""

from __future__ import annotations

from sqlalchemy import insert, update

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries as catalog_queries
from govshare.catalog.services import profile_for
from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_date, utcnow
from govshare.kernel.errors import Conflict, Forbidden, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.notify.services import notify
from govshare.sharing import queries
from govshare.sharing.model import (
    Application,
    ApplicationInput,
    ApplicationState,
    Negotiation,
    NegotiationOutcome,
    NegotiationState,
    StepDecision,
    StepKind,
)
from govshare.sharing.services import (
    Decision,
    Profiles,
    _close_step,
    _current_step,
    _grant_application,
    _initial_status,
    _insert_application,
    _intake,
    _open_step,
    _set_state,
    approval_terms,
    authority_of,
    party_side,
)
from govshare.sharing.tables import negotiation, negotiation_message
from govshare.storage.engine import Database, Transaction

MAX_MESSAGE = 4000


def _body(text: str) -> str:
    body = text.strip()
    if not body:
        raise ValidationFailed(
            "请填写内容", "write a message", code="negotiation_empty", field="body"
        )
    if len(body) > MAX_MESSAGE:
        raise ValidationFailed(
            f"内容不超过{MAX_MESSAGE}字",
            f"at most {MAX_MESSAGE} characters",
            code="negotiation_too_long",
            field="body",
        )
    return body


def _side(tx: Transaction, actor: Actor, app: Application) -> str:
    """Which party ``actor`` speaks for: consumer, provider (incl. its delegated reviewer)
    or authority; Forbidden otherwise."""
    side = party_side(
        tx, actor, app.consumer_department_id, app.provider_department_id, with_agent=True
    )
    if side is None:
        raise Forbidden("不是该申请的当事方", "not a party to this application", code="forbidden")
    return side


def _dept_of(tx: Transaction, app: Application, side: str) -> str:
    if side == "consumer":
        return app.consumer_department_id
    if side == "provider":
        return app.provider_department_id
    provider = identity_queries.get_department(tx.conn, app.provider_department_id)
    return authority_of(tx, provider).id


def _tell(tx: Transaction, department_id: str, app: Application, event: str, zh: str) -> None:
    notify(
        tx,
        event=f"sharing.negotiation.{event}",
        department_id=department_id,
        subject_zh=zh,
        subject_en=f"share application negotiation: {event}",
        link=f"/sharing/applications/{app.id}",
        data={"application": app.id, "event": event},
    )


def _add_message(tx: Transaction, case_id: str, department_id: str, actor: Actor, body: str) -> str:
    mid = new_id()
    tx.conn.execute(
        insert(negotiation_message).values(
            id=mid,
            negotiation_id=case_id,
            department_id=department_id,
            author=actor.name,
            at=utcnow(),
            body=body,
        )
    )
    return mid


def _case(tx: Transaction, negotiation_id: str) -> tuple[Negotiation, Application]:
    case = queries.get_negotiation(tx.conn, negotiation_id)
    return case, queries.get_application(tx.conn, case.application_id)


def _close(tx: Transaction, case_id: str, outcome: NegotiationOutcome, reason: str = "") -> None:
    tx.conn.execute(
        update(negotiation)
        .where(negotiation.c.id == case_id)
        .values(
            state=NegotiationState.CLOSED.value,
            closed_at=utcnow(),
            outcome=outcome.value,
            outcome_reason=reason,
        )
    )


def open_negotiation(
    db: Database, application_id: str, *, actor: Actor, message: str
) -> Negotiation:
    """The consumer opens a negotiation with the provider after a refusal (SZ-15.3)."""
    body = _body(message)
    with db.transaction() as tx:
        app = queries.get_application(tx.conn, application_id)
        require(actor, Permission.FILE_DEMAND, department_id=app.consumer_department_id)
        if app.state is not ApplicationState.REFUSED:
            raise Conflict(
                "只有被拒绝的申请可以发起协商",
                "only a refused application can be negotiated",
                code="negotiation_state",
            )
        if queries.negotiation_of(tx.conn, application_id) is not None:
            raise Conflict(
                "该申请已有协商记录",
                "this application already has a negotiation",
                code="negotiation_exists",
            )
        cid = new_id()
        tx.conn.execute(
            insert(negotiation).values(
                id=cid,
                application_id=application_id,
                state=NegotiationState.OPEN.value,
                opened_by=actor.name,
                opened_at=utcnow(),
                outcome_reason="",
            )
        )
        mid = _add_message(tx, cid, app.consumer_department_id, actor, body)
        _set_state(tx, application_id, ApplicationState.NEGOTIATING)
        audit.record(
            tx,
            actor,
            AuditAction.NEGOTIATE,
            "share_application",
            application_id,
            details={"negotiation": cid, "message": mid, "event": "opened"},
        )
        _tell(tx, app.provider_department_id, app, "opened", "使用部门就被拒绝的共享申请发起协商")
        return queries.get_negotiation(tx.conn, cid)


def post_message(db: Database, negotiation_id: str, *, actor: Actor, body: str) -> Negotiation:
    """A party adds a message to the thread; the other parties are told."""
    text = _body(body)
    with db.transaction() as tx:
        case, app = _case(tx, negotiation_id)
        side = _side(tx, actor, app)
        if case.state is NegotiationState.CLOSED:
            raise Conflict("协商已结束", "the negotiation is closed", code="negotiation_closed")
        if side == "authority" and case.state is not NegotiationState.COORDINATION:
            raise Forbidden(
                "协调开始前，数据主管部门不参与协商",
                "the authority joins once the case is escalated",
                code="forbidden",
            )
        dept = _dept_of(tx, app, side)
        mid = _add_message(tx, negotiation_id, dept, actor, text)
        audit.record(
            tx,
            actor,
            AuditAction.NEGOTIATE,
            "share_application",
            app.id,
            details={"negotiation": negotiation_id, "message": mid, "side": side},
        )
        others = {"consumer", "provider"} - {side}
        if case.state is NegotiationState.COORDINATION:
            others |= {"authority"} - {side}
        for other in sorted(others):
            _tell(tx, _dept_of(tx, app, other), app, "message", "协商有新留言")
        return queries.get_negotiation(tx.conn, negotiation_id)


def provider_agrees(
    db: Database, profiles: Profiles, negotiation_id: str, decision: Decision, *, actor: Actor
) -> Application:
    """The negotiation succeeds: the provider (or its delegated reviewer) grants after all,
    within the application's scope."""
    with db.transaction() as tx:
        case, app = _case(tx, negotiation_id)
        if _side(tx, actor, app) != "provider":
            raise Forbidden("只有提供部门可以同意", "only the provider agrees", code="forbidden")
        if case.state is not NegotiationState.OPEN:
            raise Conflict(
                "协商不在进行中", "the negotiation is not open", code="negotiation_state"
            )
        return _grant_in_case(tx, profiles, case, app, decision, actor, NegotiationOutcome.AGREED)


def withdraw(db: Database, negotiation_id: str, *, actor: Actor, reason: str = "") -> Negotiation:
    """The consumer gives up; the refusal stands."""
    with db.transaction() as tx:
        case, app = _case(tx, negotiation_id)
        require(actor, Permission.FILE_DEMAND, department_id=app.consumer_department_id)
        if case.state is NegotiationState.CLOSED:
            raise Conflict("协商已结束", "the negotiation is closed", code="negotiation_closed")
        if case.state is NegotiationState.COORDINATION:
            step = _current_step(tx, app.id, StepKind.COORDINATION)
            _close_step(tx, step, actor, StepDecision.DONE, "使用部门撤回")
        _close(tx, negotiation_id, NegotiationOutcome.WITHDRAWN, reason.strip())
        _set_state(tx, app.id, ApplicationState.REFUSED)
        audit.record(
            tx,
            actor,
            AuditAction.NEGOTIATE,
            "share_application",
            app.id,
            details={"negotiation": negotiation_id, "event": "withdrawn"},
        )
        _tell(tx, app.provider_department_id, app, "withdrawn", "使用部门撤回协商")
        return queries.get_negotiation(tx.conn, negotiation_id)


def escalate(db: Database, negotiation_id: str, *, actor: Actor, reason: str) -> Negotiation:
    """Negotiation failed: either party takes the case to the authority, which coordinates
    (SZ-15.3, HB-25, NX-40)."""
    text = _body(reason)
    with db.transaction() as tx:
        case, app = _case(tx, negotiation_id)
        side = _side(tx, actor, app)
        if side == "authority":
            raise Forbidden("由当事方提请协调", "a party escalates", code="forbidden")
        if case.state is not NegotiationState.OPEN:
            raise Conflict(
                "协商不在进行中", "the negotiation is not open", code="negotiation_state"
            )
        _escalate(tx, app, negotiation_id, actor, _dept_of(tx, app, side), text)
        return queries.get_negotiation(tx.conn, negotiation_id)


def _escalate(
    tx: Transaction, app: Application, case_id: str, actor: Actor, dept_id: str, text: str
) -> None:
    tx.conn.execute(
        update(negotiation)
        .where(negotiation.c.id == case_id)
        .values(state=NegotiationState.COORDINATION.value, escalated_at=utcnow())
    )
    mid = _add_message(tx, case_id, dept_id, actor, text)
    provider = identity_queries.get_department(tx.conn, app.provider_department_id)
    authority = authority_of(tx, provider)
    today = local_date(utcnow())
    _open_step(tx, app.id, StepKind.COORDINATION, authority.id, None, today)
    _set_state(tx, app.id, ApplicationState.COORDINATING)
    audit.record(
        tx,
        actor,
        AuditAction.ESCALATE,
        "share_application",
        app.id,
        details={"negotiation": case_id, "message": mid},
    )
    for side_dept in (app.consumer_department_id, app.provider_department_id):
        if side_dept != dept_id:
            _tell(tx, side_dept, app, "escalated", "共享争议已提请数据主管部门协调")


def request_coordination(
    db: Database, profiles: Profiles, data: ApplicationInput, *, actor: Actor, reason: str
) -> Application:
    """The consumer takes a need straight to the authority (YX-19), the route for a
    ``not_shared`` resource that its duties require (SZ-15.3, NX-40)."""
    text = _body(reason)
    with db.transaction() as tx:
        consumer, provider, version, _profile = _intake(
            tx, profiles, data, actor, coordination=True
        )
        category = version.entry.share_category.value if version.entry.share_category else ""
        aid, _ = _insert_application(
            tx,
            actor,
            consumer.id,
            provider.id,
            version,
            data,
            category,
            ApplicationState.COORDINATING,
        )
        cid = new_id()
        tx.conn.execute(
            insert(negotiation).values(
                id=cid,
                application_id=aid,
                state=NegotiationState.OPEN.value,
                opened_by=actor.name,
                opened_at=utcnow(),
                outcome_reason="",
            )
        )
        app = queries.get_application(tx.conn, aid)
        _escalate(tx, app, cid, actor, consumer.id, text)
        return queries.get_application(tx.conn, aid)


def coordinate(
    db: Database, profiles: Profiles, negotiation_id: str, decision: Decision, *, actor: Actor
) -> Application:
    """The authority coordinates and decides: grant within the application's scope, or
    uphold the refusal with reasons (SZ-15.3, HB-25)."""
    with db.transaction() as tx:
        case, app = _case(tx, negotiation_id)
        provider = identity_queries.get_department(tx.conn, app.provider_department_id)
        authority = authority_of(tx, provider)
        require(actor, Permission.REVIEW_CATALOG, jurisdiction_id=authority.jurisdiction_id)
        if case.state is not NegotiationState.COORDINATION:
            raise Conflict(
                "该案件未提请协调", "the case is not in coordination", code="negotiation_state"
            )
        step = _current_step(tx, app.id, StepKind.COORDINATION)
        if not decision.approve:
            if not decision.reason.strip():
                raise ValidationFailed(
                    "维持拒绝须说明理由",
                    "upholding the refusal needs reasons",
                    code="sharing_reason_required",
                    field="reason",
                )
            _close_step(tx, step, actor, StepDecision.UPHOLD, decision.reason.strip())
            _close(tx, negotiation_id, NegotiationOutcome.UPHELD, decision.reason.strip())
            _set_state(tx, app.id, ApplicationState.REFUSED)
            audit.record(
                tx,
                actor,
                AuditAction.COORDINATE,
                "share_application",
                app.id,
                details={
                    "negotiation": negotiation_id,
                    "outcome": "upheld",
                    "reason": decision.reason.strip(),
                },
            )
            for dept in (app.consumer_department_id, app.provider_department_id):
                _tell(tx, dept, app, "upheld", "协调结果：维持不予共享")
            return queries.get_application(tx.conn, app.id)
        _close_step(tx, step, actor, StepDecision.APPROVE, decision.reason.strip())
        audit.record(
            tx,
            actor,
            AuditAction.COORDINATE,
            "share_application",
            app.id,
            details={"negotiation": negotiation_id, "outcome": "granted"},
        )
        _tell(tx, app.provider_department_id, app, "granted", "协调结果：予以共享")
        return _grant_in_case(tx, profiles, case, app, decision, actor, NegotiationOutcome.GRANTED)


def _grant_in_case(
    tx: Transaction,
    profiles: Profiles,
    case: Negotiation,
    app: Application,
    decision: Decision,
    actor: Actor,
    outcome: NegotiationOutcome,
) -> Application:
    items, modes, until = approval_terms(app, decision)
    provider = identity_queries.get_department(tx.conn, app.provider_department_id)
    profile = profile_for(tx, profiles, provider)
    version = catalog_queries.get_version(tx.conn, app.version_id)
    _close(tx, case.id, outcome, decision.reason.strip())
    if outcome is NegotiationOutcome.AGREED:
        audit.record(
            tx,
            actor,
            AuditAction.APPROVE,
            "share_application",
            app.id,
            details={"step": "negotiation", "items": list(items), "modes": list(modes)},
        )
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
    return queries.get_application(tx.conn, app.id)
