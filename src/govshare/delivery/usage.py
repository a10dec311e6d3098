"""Read side of the usage pages, from the call statistics that the audit flush keeps
(``delivery_call_stat`` / ``delivery_error_stat``) and the sharing tables:

- ``consumer_usage``: a consumer department's own grants with calls, rows, refusals by error
  code and the last day with a call;
- ``provider_usage``: who uses a provider's resources, for what purpose, how often;
- ``authority_statistics`` (HB-26): per provider department of the authority's
  jurisdictions, authorisation handling (applications received, approved, refused, in
  progress, overdue steps), data calls and availability. Availability is the share of
  authorised calls that were served: calls / (calls + refusals for which the provider or
  the platform is answerable: no data in the pool, a damaged document, a failed export).
  Refusals caused by the caller (bad key, rate limits, wrong purpose) do not count against
  it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, func, select

from govshare.catalog.tables import resource, resource_version
from govshare.delivery.tables import delivery_call_stat, delivery_error_stat
from govshare.identity.tables import department
from govshare.sharing.tables import application_step, share_application, share_grant

PROVIDER_SIDE_CODES = ("delivery_no_data", "document_damaged", "export_failed")
IN_PROGRESS = ("compliance_review", "awaiting_decision", "negotiating", "coordinating")


@dataclass
class GrantUsage:
    grant_id: str
    consumer_department_id: str
    consumer: str
    provider: str
    resource_code: str
    resource_name: str
    purpose: str
    modes: str
    status: str
    calls: int = 0
    rows: int = 0
    refusals: int = 0
    last_day: date | None = None
    errors: dict[str, int] = field(default_factory=dict)


def _grants(conn: Connection, *conds: object) -> list[GrantUsage]:
    consumer = department.alias("consumer")
    provider = department.alias("provider")
    rows = conn.execute(
        select(
            share_grant.c.id,
            share_grant.c.consumer_department_id,
            share_grant.c.purpose,
            share_grant.c.modes,
            share_grant.c.status,
            consumer.c.short_name.label("consumer"),
            provider.c.short_name.label("provider"),
            resource.c.code,
            resource_version.c.name,
        )
        .select_from(share_grant)
        .join(resource, resource.c.id == share_grant.c.resource_id)
        .join(resource_version, resource_version.c.id == share_grant.c.version_id)
        .join(consumer, consumer.c.id == share_grant.c.consumer_department_id)
        .join(provider, provider.c.id == resource.c.provider_department_id)
        .where(*conds)  # type: ignore[arg-type]
        .order_by(resource.c.code, consumer.c.short_name, share_grant.c.id)
    ).all()
    return [
        GrantUsage(
            grant_id=str(r.id),
            consumer_department_id=str(r.consumer_department_id),
            consumer=str(r.consumer),
            provider=str(r.provider),
            resource_code=str(r.code),
            resource_name=str(r.name),
            purpose=str(r.purpose),
            modes=", ".join(json.loads(r.modes)),
            status=str(r.status),
        )
        for r in rows
    ]


def _fill(conn: Connection, grants: list[GrantUsage], since: date | None) -> list[GrantUsage]:
    by_id = {g.grant_id: g for g in grants}
    if not by_id:
        return grants
    ids = list(by_id)
    s = delivery_call_stat
    q = select(
        s.c.grant_id,
        func.sum(s.c.calls),
        func.sum(s.c.rows),
        func.sum(s.c.refusals),
        func.max(s.c.day),
    ).where(s.c.grant_id.in_(ids), s.c.calls + s.c.refusals > 0)
    if since is not None:
        q = q.where(s.c.day >= since)
    for gid, calls, rows, refusals, last in conn.execute(q.group_by(s.c.grant_id)).all():
        g = by_id[str(gid)]
        g.calls, g.rows, g.refusals, g.last_day = int(calls), int(rows), int(refusals), last
    e = delivery_error_stat
    eq = select(e.c.grant_id, e.c.code, func.sum(e.c.count)).where(e.c.grant_id.in_(ids))
    if since is not None:
        eq = eq.where(e.c.day >= since)
    for gid, code, n in conn.execute(eq.group_by(e.c.grant_id, e.c.code)).all():
        by_id[str(gid)].errors[str(code)] = int(n)
    return grants


def consumer_usage(
    conn: Connection, department_ids: set[str], since: date | None = None
) -> list[GrantUsage]:
    """The grants held by ``department_ids`` with their usage."""
    if not department_ids:
        return []
    grants = _grants(conn, share_grant.c.consumer_department_id.in_(department_ids))
    return _fill(conn, grants, since)


def provider_usage(
    conn: Connection, department_ids: set[str], since: date | None = None
) -> list[GrantUsage]:
    """The grants on resources provided by ``department_ids`` with their usage."""
    if not department_ids:
        return []
    grants = _grants(conn, resource.c.provider_department_id.in_(department_ids))
    return _fill(conn, grants, since)


@dataclass
class ProviderStats:
    department_id: str
    name: str
    applications: int = 0
    approved: int = 0
    refused: int = 0
    in_progress: int = 0
    overdue_steps: int = 0
    active_grants: int = 0
    calls: int = 0
    rows: int = 0
    refusals: int = 0
    provider_failures: int = 0

    @property
    def availability(self) -> float | None:
        served = self.calls + self.provider_failures
        return self.calls / served if served else None


def authority_statistics(
    conn: Connection, jurisdiction_ids: set[str], today: date, since: date | None = None
) -> list[ProviderStats]:
    """HB-26: authorisation handling, data calls and availability per provider department
    of ``jurisdiction_ids`` (departments that provide at least one resource)."""
    if not jurisdiction_ids:
        return []
    providers = conn.execute(
        select(department.c.id, department.c.short_name)
        .where(
            department.c.jurisdiction_id.in_(jurisdiction_ids),
            department.c.id.in_(select(resource.c.provider_department_id)),
        )
        .order_by(department.c.short_name)
    ).all()
    out = {str(r.id): ProviderStats(str(r.id), str(r.short_name)) for r in providers}
    if not out:
        return []
    ids = list(out)
    a = share_application
    aq = select(a.c.provider_department_id, a.c.state, func.count()).where(
        a.c.provider_department_id.in_(ids)
    )
    for dept, state, n in conn.execute(aq.group_by(a.c.provider_department_id, a.c.state)).all():
        p = out[str(dept)]
        p.applications += int(n)
        if state == "approved":
            p.approved += int(n)
        elif state == "refused":
            p.refused += int(n)
        elif state in IN_PROGRESS:
            p.in_progress += int(n)
    st = application_step
    overdue = (
        select(a.c.provider_department_id, func.count())
        .select_from(st.join(a, a.c.id == st.c.application_id))
        .where(
            a.c.provider_department_id.in_(ids),
            st.c.at.is_(None),
            st.c.due_on.is_not(None),
            st.c.due_on < today,
        )
        .group_by(a.c.provider_department_id)
    )
    for dept, n in conn.execute(overdue).all():
        out[str(dept)].overdue_steps = int(n)
    g = share_grant
    gq = (
        select(resource.c.provider_department_id, func.count())
        .select_from(g.join(resource, resource.c.id == g.c.resource_id))
        .where(resource.c.provider_department_id.in_(ids), g.c.status == "active")
        .group_by(resource.c.provider_department_id)
    )
    for dept, n in conn.execute(gq).all():
        out[str(dept)].active_grants = int(n)
    s = delivery_call_stat
    sq = (
        select(
            resource.c.provider_department_id,
            func.sum(s.c.calls),
            func.sum(s.c.rows),
            func.sum(s.c.refusals),
        )
        .select_from(s.join(resource, resource.c.id == s.c.resource_id))
        .where(resource.c.provider_department_id.in_(ids))
    )
    if since is not None:
        sq = sq.where(s.c.day >= since)
    for dept, calls, rows, refusals in conn.execute(
        sq.group_by(resource.c.provider_department_id)
    ).all():
        p = out[str(dept)]
        p.calls, p.rows, p.refusals = int(calls or 0), int(rows or 0), int(refusals or 0)
    e = delivery_error_stat
    eq = (
        select(resource.c.provider_department_id, func.sum(e.c.count))
        .select_from(
            e.join(g, g.c.id == e.c.grant_id).join(resource, resource.c.id == g.c.resource_id)
        )
        .where(resource.c.provider_department_id.in_(ids), e.c.code.in_(PROVIDER_SIDE_CODES))
    )
    if since is not None:
        eq = eq.where(e.c.day >= since)
    for dept, n in conn.execute(eq.group_by(resource.c.provider_department_id)).all():
        out[str(dept)].provider_failures = int(n or 0)
    return list(out.values())


def errors_by_code(usages: list[GrantUsage]) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for u in usages:
        for code, n in u.errors.items():
            total[code] += n
    return dict(sorted(total.items(), key=lambda kv: -kv[1]))
