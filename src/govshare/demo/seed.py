"""Seed the demo city through the ordinary services (so every step is audited): the city,
its counties and departments, users, client systems, (unless ``catalog=False``) the
demo catalog of ``govshare.demo.catalog`` and (unless ``data=False``) the data of its base
resources, loaded through the ingest service (``govshare.demo.data``).

Running it again changes nothing: the seed is skipped when the city exists (``govshare
demo`` then only loads demo data that is missing, none after a complete run).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from govshare.catalog.tables import catalog_entry
from govshare.demo.catalog import seed_demo_catalog
from govshare.demo.data import DataSize, LoadReport, seed_demo_data
from govshare.demo.sharing import seed_demo_sharing
from govshare.identity import queries, services
from govshare.identity.model import InterfaceKind, JurisdictionLevel
from govshare.identity.services import DepartmentInput
from govshare.kernel.actor import Actor, Role
from govshare.kernel.identifiers import make_uscc
from govshare.rules import RuleProfile, load_profiles
from govshare.storage.engine import Database

CITY_CODE = "321300"
CITY_NAME = "宿迁市"
PROFILE = "suqian"
COUNTIES = [("321322", "沭阳县"), ("321323", "泗阳县")]
DEMO_PASSWORD = "Demo-Pass-2026"  # noqa: S105 - printed to the operator by design

# (short name, full name suffix); the first is the data authority (SQ: 市电子政务办).
CITY_DEPARTMENTS = [
    ("数据局", "宿迁市政务服务管理办公室（市大数据管理局）"),
    ("公安局", "宿迁市公安局"),
    ("市场监管局", "宿迁市市场监督管理局"),
    ("人社局", "宿迁市人力资源和社会保障局"),
    ("民政局", "宿迁市民政局"),
    ("自然资源和规划局", "宿迁市自然资源和规划局"),
    ("卫健委", "宿迁市卫生健康委员会"),
    ("教育局", "宿迁市教育局"),
    ("税务局", "国家税务总局宿迁市税务局"),
    ("住建局", "宿迁市住房和城乡建设局"),
    ("发改委", "宿迁市发展和改革委员会"),
    ("财政局", "宿迁市财政局"),
    ("交通运输局", "宿迁市交通运输局"),
    ("农业农村局", "宿迁市农业农村局"),
    ("生态环境局", "宿迁市生态环境局"),
    ("应急管理局", "宿迁市应急管理局"),
    ("司法局", "宿迁市司法局"),
    ("医保局", "宿迁市医疗保障局"),
    ("统计局", "宿迁市统计局"),
    ("水利局", "宿迁市水利局"),
    ("商务局", "宿迁市商务局"),
    ("文广旅局", "宿迁市文化广电和旅游局"),
    ("退役军人事务局", "宿迁市退役军人事务局"),
    ("城管局", "宿迁市城市管理局"),
    ("行政审批局", "宿迁市行政审批局"),
    ("信用办", "宿迁市社会信用体系建设办公室"),
]
COUNTY_DEPARTMENTS = [
    ("数据局", "政务服务管理办公室"),
    ("公安局", "公安局"),
    ("人社局", "人力资源和社会保障局"),
]
OPERATOR = ("信息中心", "宿迁市大数据中心（技术服务单位）")


def demo_uscc(division: str, index: int) -> str:
    body = f"{(14 * 10**6 + int(division[-4:]) * 97 + index * 7919) % 10**8:08d}"
    return make_uscc("1", "1", division, body)


def demo_client_secret(client_name: str) -> str:
    """Demo secrets are derived so that the set-up can print them on every run."""
    return hmac.new(b"govshare-demo", client_name.encode(), hashlib.sha256).hexdigest()[:40]


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str
    department: str


@dataclass
class DemoClient:
    name: str
    client_id: str
    secret: str
    department: str


@dataclass
class DemoSummary:
    created: bool
    departments: int = 0
    resources: int = 0  # published catalog resources
    data: list[LoadReport] = field(default_factory=list)  # demo data loaded now
    logins: list[DemoLogin] = field(default_factory=list)
    clients: list[DemoClient] = field(default_factory=list)


USERS = [
    # username, display name, department short name (city), role
    ("admin", "张主管", "数据局", Role.AUTHORITY_ADMIN),
    ("auditor", "李审计", "数据局", Role.AUDITOR),
    ("ga_admin", "王公安", "公安局", Role.DEPT_ADMIN),
    ("ga_catalog", "赵编目", "公安局", Role.CATALOGUER),
    ("ga_approver", "钱审核", "公安局", Role.APPROVER),
    ("scjg_admin", "孙市监", "市场监管局", Role.DEPT_ADMIN),
    ("rs_user", "周人社", "人社局", Role.DATA_USER),
    ("rs_admin", "吴人社", "人社局", Role.DEPT_ADMIN),
    ("xzsp_admin", "冯审批", "行政审批局", Role.DEPT_ADMIN),
    ("xyb_admin", "陈信用", "信用办", Role.DEPT_ADMIN),
    ("ops", "郑运维", "信息中心", Role.OPERATOR),
]
CLIENTS = [
    ("人社业务系统", "人社局"),
    ("公安人口库接口", "公安局"),
    ("市场监管登记系统", "市场监管局"),
]


def _summary_of_existing(db: Database) -> DemoSummary:
    with db.read() as conn:
        city = queries.jurisdiction_by_code(conn, CITY_CODE)
        assert city is not None
        depts = queries.list_departments(conn)
        by_id = {d.id: d.short_name for d in depts}
        clients = queries.list_client_systems(conn)
        resources = _published_resources(conn)
    s = DemoSummary(created=False, departments=len(depts), resources=resources)
    s.logins = [DemoLogin(u, DEMO_PASSWORD, r.value, d) for u, _, d, r in USERS]
    s.clients = [
        DemoClient(c.name, c.client_id, demo_client_secret(c.name), by_id[c.department_id])
        for c in clients
        if c.name in {n for n, _ in CLIENTS}
    ]
    return s


def _published_resources(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(catalog_entry)).scalar_one())


# Who compiles each department's catalog in the demo (the others: the seeding system actor).
CATALOG_EDITORS = {"公安局": "ga_catalog", "市场监管局": "scjg_admin", "人社局": "rs_admin"}
CATALOG_REVIEWER = "admin"


def _user_actor(db: Database, username: str) -> Actor:
    with db.read() as conn:
        user = queries.user_by_username(conn, username)
        actor = queries.actor_for_user(conn, user.id) if user else None
    if actor is None:
        raise RuntimeError(f"demo user {username} is missing")
    return actor


def _add_missing_users(db: Database, actor: Actor) -> None:
    """A city seeded by an earlier release gets the demo users added since (the data step
    loads each provider's data as one of them)."""
    with db.read() as conn:
        by_short = {d.short_name: d.id for d in queries.list_departments(conn)}
        missing = [u for u in USERS if queries.user_by_username(conn, u[0]) is None]
    for username, display, short, role in missing:
        if short in by_short:
            services.create_user(
                db,
                actor=actor,
                username=username,
                display_name=display,
                password=DEMO_PASSWORD,
                roles=[(by_short[short], role)],
            )


def _seed_sharing(db: Database, profiles: Mapping[str, RuleProfile] | None) -> None:
    """Demo share applications in several states (govshare.demo.sharing), idempotent."""
    seed_demo_sharing(
        db,
        profiles if profiles is not None else load_profiles(),
        lambda username: _user_actor(db, username),
    )


def seed_demo(
    db: Database,
    *,
    known_profiles: set[str],
    profiles: Mapping[str, RuleProfile] | None = None,
    catalog: bool = True,
    data: bool = True,
    data_size: DataSize | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> DemoSummary:
    """Seed the demo city. ``profiles`` are the rule profiles the catalog is checked
    against (the bundled ones when None); ``catalog=False`` leaves the catalog empty and
    ``data=False`` the data pools (the data needs the catalog)."""
    actor = Actor.system("demo-seed")
    with db.read() as conn:
        exists = queries.jurisdiction_by_code(conn, CITY_CODE) is not None
    if exists:
        _add_missing_users(db, actor)
        if catalog:  # a city seeded before the sharing demo gets its applications
            _seed_sharing(db, profiles)
        return _summary_of_existing(db)
    city = services.create_jurisdiction(
        db,
        actor=actor,
        code=CITY_CODE,
        name=CITY_NAME,
        level=JurisdictionLevel.CITY,
        profile=PROFILE,
        known_profiles=known_profiles,
    )
    counties = [
        services.create_jurisdiction(
            db,
            actor=actor,
            code=code,
            name=name,
            level=JurisdictionLevel.COUNTY,
            profile=PROFILE,
            parent_id=city.id,
            known_profiles=known_profiles,
        )
        for code, name in COUNTIES
    ]
    by_short: dict[str, str] = {}
    for i, (short, name) in enumerate(CITY_DEPARTMENTS, start=1):
        d = services.create_department(
            db,
            DepartmentInput(
                name=name,
                short_name=short,
                uscc=demo_uscc(CITY_CODE, i),
                jurisdiction_id=city.id,
                contact_name="办公室",
                contact_phone="0527-8436" + f"{i:04d}",
                is_authority=(i == 1),
            ),
            actor=actor,
        )
        by_short[short] = d.id
    op = services.create_department(
        db,
        DepartmentInput(
            name=OPERATOR[1],
            short_name=OPERATOR[0],
            uscc=demo_uscc(CITY_CODE, 90),
            jurisdiction_id=city.id,
            is_operator=True,
        ),
        actor=actor,
    )
    by_short[OPERATOR[0]] = op.id
    count = len(CITY_DEPARTMENTS) + 1
    for county in counties:
        for i, (short, suffix) in enumerate(COUNTY_DEPARTMENTS, start=1):
            services.create_department(
                db,
                DepartmentInput(
                    name=f"{county.name}{suffix}",
                    short_name=f"{county.name[:2]}{short}",
                    uscc=demo_uscc(county.code, i),
                    jurisdiction_id=county.id,
                    is_authority=(i == 1),
                ),
                actor=actor,
            )
            count += 1
    services.file_responsibility(
        db,
        by_short["公安局"],
        responsible_unit="科技信息化处",
        responsible_person="王处长",
        actor=actor,
    )
    services.register_interface(
        db,
        by_short["公安局"],
        kind=InterfaceKind.FRONT_END_PROCESSOR,
        name="公安前置机",
        endpoint="10.32.1.15",
        description="人口库数据交换前置机",
        actor=actor,
    )
    summary = DemoSummary(created=True, departments=count)
    for username, display, short, role in USERS:
        services.create_user(
            db,
            actor=actor,
            username=username,
            display_name=display,
            password=DEMO_PASSWORD,
            roles=[(by_short[short], role)],
        )
        summary.logins.append(DemoLogin(username, DEMO_PASSWORD, role.value, short))
    for name, short in CLIENTS:
        secret = demo_client_secret(name)
        created = services.create_client_system(
            db, actor=actor, department_id=by_short[short], name=name, secret=secret
        )
        summary.clients.append(DemoClient(name, created.client.client_id, secret, short))
    if catalog:
        seed_demo_catalog(
            db,
            profiles if profiles is not None else load_profiles(),
            reviewer=_user_actor(db, CATALOG_REVIEWER),
            editors={d: _user_actor(db, u) for d, u in CATALOG_EDITORS.items()},
            default_editor=actor,
        )
        with db.read() as conn:
            summary.resources = _published_resources(conn)
        _seed_sharing(db, profiles)
        if data:
            summary.data = seed_demo_data(db, size=data_size, progress=progress)
    return summary
