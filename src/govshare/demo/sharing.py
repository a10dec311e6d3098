"""Demo share applications of the demo city (Suqian profile), made through the ordinary
services so that every step is routed, deadlined and audited:

- 人社局 asks 公安局 for a conditional resource: awaiting the provider's decision (SQ-19);
- 人社局 asks for another one, and 公安局's approver approves it: an active grant;
- 市场监管局's application is refused with reasons and a basis, and it negotiates;
- 行政审批局 asks the data authority to coordinate its need for a not-shared resource.

Resources are chosen from the published demo catalog in a fixed order (by code). Running it
again changes nothing: a scenario whose application exists is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from govshare.catalog import queries as catalog_queries
from govshare.catalog.tables import catalog_entry
from govshare.identity import queries as identity_queries
from govshare.kernel.actor import Actor
from govshare.kernel.clock import local_date, utcnow
from govshare.rules import RuleProfile
from govshare.sharing import negotiation, services
from govshare.sharing.model import ApplicationInput, Purpose
from govshare.sharing.services import Decision
from govshare.sharing.tables import share_application
from govshare.storage.engine import Database


@dataclass(frozen=True)
class Scenario:
    consumer: str  # short name of the consumer department
    filer: str  # the demo user who files
    category: str  # share category of the resource asked for
    scenario: str  # 应用场景 (also the marker of the demo application)
    legal_basis: str
    purpose: Purpose


SCENARIOS = (
    Scenario(
        "人社局",
        "rs_admin",
        "conditional",
        "社会保险参保资格核验（演示）",
        "《中华人民共和国社会保险法》第五十九条",
        Purpose.VERIFICATION,
    ),
    Scenario(
        "人社局",
        "rs_admin",
        "conditional",
        "就业困难人员认定（演示）",
        "《就业促进法》第五十二条",
        Purpose.ADMINISTRATIVE_BASIS,
    ),
    Scenario(
        "市场监管局",
        "scjg_admin",
        "conditional",
        "市场主体登记住所核查（演示）",
        "《市场主体登记管理条例》第十七条",
        Purpose.COLLABORATION,
    ),
    Scenario(
        "行政审批局",
        "xzsp_admin",
        "not_shared",
        "重大项目审批联合核查（演示）",
        "《优化营商环境条例》第四十一条",
        Purpose.WORK_REFERENCE,
    ),
)
PROVIDER = "公安局"
APPROVER = "ga_approver"


def _existing(db: Database) -> set[str]:
    wanted = [s.scenario for s in SCENARIOS]
    with db.read() as conn:
        rows = conn.execute(
            select(share_application.c.scenario).where(share_application.c.scenario.in_(wanted))
        ).scalars()
        return {str(r) for r in rows}


def _resources(db: Database, provider_id: str, category: str) -> list[str]:
    """Published resources of ``provider_id`` in ``category``, by code."""
    with db.read() as conn:
        q = select(catalog_entry.c.resource_id).where(catalog_entry.c.share_category == category)
        if category != "not_shared":
            q = q.where(catalog_entry.c.provider_department_id == provider_id)
        return [str(r) for r in conn.execute(q.order_by(catalog_entry.c.code)).scalars()]


def seed_demo_sharing(
    db: Database,
    profiles: Mapping[str, RuleProfile],
    actor_of: Callable[[str], Actor],
) -> int:
    """Create the demo applications that are missing; returns how many were created."""
    done = _existing(db)
    if len(done) == len(SCENARIOS):
        return 0
    with db.read() as conn:
        depts = {d.short_name: d.id for d in identity_queries.list_departments(conn)}
    if PROVIDER not in depts:
        return 0
    conditional = _resources(db, depts[PROVIDER], "conditional")
    not_shared = _resources(db, depts[PROVIDER], "not_shared")
    until = local_date(utcnow()) + timedelta(days=365)
    created = 0
    for n, s in enumerate(SCENARIOS):
        if s.scenario in done:
            continue
        pool = conditional if s.category == "conditional" else not_shared
        with db.read() as conn:
            candidates = [
                r
                for r in pool
                if catalog_queries.get_resource(conn, r).provider_department_id != depts[s.consumer]
            ]
            if not candidates:
                continue
            rid = candidates[n % len(candidates)]
            version = catalog_queries.published_version(conn, rid)
        if version is None or not version.entry.data_items:
            continue
        modes = tuple(m.value for m in version.entry.delivery_modes[:1]) or ("query",)
        data = ApplicationInput(
            consumer_department_id=depts[s.consumer],
            resource_id=rid,
            items=tuple(i.code for i in version.entry.data_items[:2]),
            modes=modes,
            purpose=s.purpose,
            scenario=s.scenario,
            legal_basis=s.legal_basis,
            valid_until=until,
        )
        filer = actor_of(s.filer)
        if s.category == "not_shared":
            negotiation.request_coordination(
                db, profiles, data, actor=filer, reason="重大项目审批须核对相关信息，提请协调"
            )
            created += 1
            continue
        app = services.submit_application(db, profiles, data, actor=filer)
        created += 1
        if n == 1:  # approved: the provider's approver grants it, masked
            services.decide(
                db,
                profiles,
                app.id,
                Decision(approve=True, reason="符合共享条件"),
                actor=actor_of(APPROVER),
            )
        elif n == 2:  # refused with reasons and a basis, then negotiated
            services.decide(
                db,
                profiles,
                app.id,
                Decision(
                    approve=False,
                    reason="申请的信息项超出住所核查所需",
                    basis="《中华人民共和国个人信息保护法》第六条",
                    basis_type="law",
                ),
                actor=actor_of(APPROVER),
            )
            negotiation.open_negotiation(
                db,
                app.id,
                actor=filer,
                message="住所核查确需核对登记人员身份，请再予考虑",
            )
    return created
