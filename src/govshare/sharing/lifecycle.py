"""The later life of a grant: the consumer's destruction confirmation when it ends (SZ-27),
the provider's consent to an onward transfer (YX-20, HB-14), and the resource's retirement,
which tells every holder on the day of the decision and pins the transition end date on the
grant (SZ-19)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert, select, update

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries as catalog_queries
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import Conflict, Forbidden, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.notify.services import notify
from govshare.sharing import queries
from govshare.sharing.model import AttachmentKind, Grant, GrantStatus, OnwardConsent
from govshare.sharing.services import _provider_staff, _tell_grant
from govshare.sharing.tables import onward_consent, share_grant
from govshare.storage.engine import Database, Transaction

LIVE = (GrantStatus.ACTIVE, GrantStatus.SUSPENDED, GrantStatus.PENDING_AGREEMENT)


def confirm_destruction(db: Database, grant_id: str, *, actor: Actor, note: str) -> Grant:
    """The consumer confirms that the data it held under an ended grant is destroyed
    (SZ-27); the audit log records the confirmation as a 销毁 (SQ-25) entry."""
    text = note.strip()
    if not text:
        raise ValidationFailed(
            "请说明销毁方式、范围和时间",
            "state how, what and when the data was destroyed",
            code="grant_destruction_note",
            field="note",
        )
    with db.transaction() as tx:
        g = queries.get_grant(tx.conn, grant_id)
        require(actor, Permission.FILE_DEMAND, department_id=g.consumer_department_id)
        if not g.ended or g.superseded:
            raise Conflict(
                "授权尚未终止，无需确认销毁",
                "only an ended grant (expired or revoked) needs a destruction confirmation",
                code="grant_state",
            )
        if g.destruction_confirmed_at is not None:
            raise Conflict("已确认销毁", "destruction already confirmed", code="grant_state")
        certificates = [
            a.sha256
            for a in queries.attachments_of(tx.conn, "grant", grant_id)
            if a.kind is AttachmentKind.DESTRUCTION
        ]
        tx.conn.execute(
            update(share_grant)
            .where(share_grant.c.id == grant_id)
            .values(
                destruction_confirmed_at=utcnow(),
                destruction_confirmed_by=actor.name,
                destruction_note=text,
                updated_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.DESTROY,
            "share_grant",
            grant_id,
            details={"note": text, "certificates": certificates, "status": g.status.value},
        )
        res = catalog_queries.get_resource(tx.conn, g.resource_id)
        notify(
            tx,
            event="sharing.grant.destroyed",
            department_id=res.provider_department_id,
            subject_zh="使用部门已确认销毁共享数据",
            subject_en="the consumer confirmed the destruction of shared data",
            link=f"/sharing/grants/{grant_id}",
            data={"grant": grant_id},
        )
        return queries.get_grant(tx.conn, grant_id)


def record_onward_consent(
    db: Database, grant_id: str, *, actor: Actor, recipient: str, purpose: str
) -> OnwardConsent:
    """The provider consents to passing data obtained under a grant to a named third party
    (YX-20; HB-14 forbids it without authorisation). Without such a record an onward
    transfer is not allowed."""
    if not recipient.strip() or not purpose.strip():
        raise ValidationFailed(
            "请填写接收方和用途",
            "name the recipient and the purpose",
            code="consent_incomplete",
            field="recipient",
        )
    with db.transaction() as tx:
        g = queries.get_grant(tx.conn, grant_id)
        res = catalog_queries.get_resource(tx.conn, g.resource_id)
        if not _provider_staff(actor, res.provider_department_id):
            raise Forbidden(
                "只有提供部门可以同意转交", "only the provider consents", code="forbidden"
            )
        if g.status not in LIVE:
            raise Conflict("授权已终止", "the grant has ended", code="grant_state")
        cid = new_id()
        tx.conn.execute(
            insert(onward_consent).values(
                id=cid,
                grant_id=grant_id,
                recipient=recipient.strip(),
                purpose=purpose.strip(),
                consented_by=actor.name,
                consented_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.CONSENT,
            "share_grant",
            grant_id,
            details={"recipient": recipient.strip(), "purpose": purpose.strip()},
        )
        return next(c for c in queries.onward_consents(tx.conn, grant_id) if c.id == cid)


def on_resource_retiring(
    tx: Transaction,
    actor: Actor,
    resource_id: str,
    transition_ends_on: date,
    replacement_code: str | None,
) -> list[str]:
    """Called by the catalog's retirement, in its transaction: every live grant on the
    resource gets the transition end date, and every holder is told today (SZ-19)."""
    rows = tx.conn.execute(
        select(share_grant.c.id).where(
            share_grant.c.resource_id == resource_id,
            share_grant.c.status.in_([s.value for s in LIVE]),
        )
    ).all()
    ids = [str(r.id) for r in rows]
    for gid in ids:
        tx.conn.execute(
            update(share_grant)
            .where(share_grant.c.id == gid)
            .values(
                transition_until=transition_ends_on,
                replacement_code=replacement_code,
                updated_at=utcnow(),
            )
        )
        g = queries.get_grant(tx.conn, gid)
        reason = f"资源将于{transition_ends_on.isoformat()}下线" + (
            f"，替代资源 {replacement_code}" if replacement_code else ""
        )
        _tell_grant(tx, g, "retiring", reason)
        audit.record(
            tx,
            actor,
            AuditAction.NOTIFY,
            "share_grant",
            gid,
            details={
                "event": "resource_retiring",
                "transition_until": transition_ends_on.isoformat(),
                "replacement": replacement_code,
            },
        )
    return ids
