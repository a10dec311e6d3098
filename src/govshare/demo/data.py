"""The demo city's data (issue 4 §7): the base resources of the demo catalog filled with
synthetic but valid records through the ordinary ingest service, as the provider's own
user, so every row is validated and every batch is audited like any other load.

What is loaded (sizes for the default 100,000 residents):

=====================  ==============================  =======  =========================
provider               resource                        rows     subject
=====================  ==============================  =======  =========================
公安局                 人口基础信息                    100,000  residents
公安局                 流动人口居住登记信息              3,333  newcomers from elsewhere
市场监管局             企业登记基本信息                  5,000  enterprises (USCC 91…)
市场监管局             个体工商户登记信息                2,000  individual businesses (92…)
行政审批局             营业执照电子证照                 ~4,740  one per live enterprise
行政审批局             食品经营许可证电子证照              ~830  live food enterprises
行政审批局             电子证照目录信息                 ~5,580  the two kinds above
信用办                 法人公共信用综合评价信息          5,000  enterprises
信用办                 自然人公共信用信息                1,000  residents
人社局                 社会保险参保信息                  2,000  working-age residents
=====================  ==============================  =======  =========================

The 人社局 records carry 姓名 under the same 公民身份号码 as the 公安局 population; ten of
them spell the name differently (a homophone), so the cross-source check (一数一源) has
conflicts to show. ``conflicts()`` lists them.

Values are generated per data item code from the published version's items: a resource
whose items the demo cannot fill, or a base resource missing from the catalog, is an error
(never a silent skip). Each load carries an idempotency key, so running the demo again is a
no-op that the ingest service reports as a duplicate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from govshare.aggregation.ingest import Source, ingest
from govshare.aggregation.model import BatchSource
from govshare.aggregation.readers import RawRow
from govshare.catalog import queries as catalog_queries
from govshare.catalog.model import ResourceVersion
from govshare.catalog.tables import catalog_entry
from govshare.demo.entities import (
    Enterprise,
    Shop,
    credit_rating,
    enterprises,
    food_permit_no,
    shops,
)
from govshare.demo.population import (
    DEMO_TODAY,
    SEED,
    Person,
    make_rng,
    misspelt,
    newcomers,
    people,
)
from govshare.identity import queries as identity_queries
from govshare.kernel.actor import Actor
from govshare.storage.engine import Database

DATA_VERSION = 1  # bump when the generated values change, so the demo reloads them


class DemoDataError(RuntimeError):
    """The demo catalog does not have what the demo data fills (a bug in the demo)."""


@dataclass(frozen=True)
class DataSize:
    people: int = 100_000
    newcomers: int = 3_333
    enterprises: int = 5_000
    shops: int = 2_000
    person_credit: int = 1_000
    insured: int = 2_000
    conflicts: int = 10

    @classmethod
    def scaled(cls, people: int) -> DataSize:
        """A smaller (or larger) city with the same proportions (tests use a small one)."""
        return cls(
            people=people,
            newcomers=people // 30,
            enterprises=max(people // 20, 10),
            shops=people // 50,
            person_credit=people // 100,
            insured=min(max(people // 50, 20), 2_000),
            conflicts=min(10, max(people // 50, 20) // 2),
        )


@dataclass(frozen=True)
class Conflict:
    """A deliberate cross-source difference: the same person, two spellings."""

    id_card: str
    police_name: str  # 公安局 人口基础信息
    other_name: str  # 人社局 社会保险参保信息


@dataclass
class LoadReport:
    department: str
    resource: str
    resource_id: str
    rows: int
    loaded: int
    rejected: int
    duplicate: bool
    seconds: float


@dataclass
class World:
    """The subjects every resource draws from (small lists; residents are streamed)."""

    size: DataSize
    seed: int
    reps: list[Person] = field(default_factory=list)
    insured: list[Person] = field(default_factory=list)
    credit: list[Person] = field(default_factory=list)
    enterprises: list[Enterprise] = field(default_factory=list)
    shops: list[Shop] = field(default_factory=list)

    @classmethod
    def build(cls, size: DataSize, seed: int = SEED) -> World:
        w = cls(size, seed)
        rng = make_rng(seed, "samples")
        working = max(size.people * 0.55, 1)
        p_insured = min(1.0, 1.3 * size.insured / working)
        p_credit = min(1.0, 1.3 * size.person_credit / max(size.people * 0.8, 1))
        for p in people(size.people, seed):
            wanted = size.enterprises + size.shops
            spread = p.index % 7 == 3 or size.people < 10 * wanted  # not all neighbours
            if spread and 25 <= p.age <= 70 and len(w.reps) < wanted:
                w.reps.append(p)
            if 18 <= p.age <= 60 and len(w.insured) < size.insured and rng.random() < p_insured:
                w.insured.append(p)
            if p.age >= 18 and len(w.credit) < size.person_credit and rng.random() < p_credit:
                w.credit.append(p)
        w.enterprises = list(enterprises(size.enterprises, w.reps, seed))
        w.shops = list(shops(size.shops, w.reps[::-1], seed))
        return w

    def conflicts(self) -> list[Conflict]:
        n = self.size.conflicts
        if not n or not self.insured:
            return []
        step = max(len(self.insured) // n, 1)
        picked = [self.insured[i] for i in range(step // 2, len(self.insured), step)][:n]
        return [Conflict(p.id_card, p.name, misspelt(p.name)) for p in picked]


Facts = dict[str, Any]


def _person(p: Person) -> Facts:
    return {
        "name": p.name,
        "id_card": p.id_card,
        "gender": p.gender,
        "ethnicity": p.ethnicity,
        "birth_date": p.birth_date,
        "household_address": p.household_address,
        "division_code": p.division_code,
        "phone": p.mobile,
    }


def _enterprise(e: Enterprise) -> Facts:
    return {
        "uscc": e.uscc,
        "enterprise_name": e.name,
        "enterprise_type": e.enterprise_type,
        "legal_rep_name": e.legal_rep.name,
        "registered_capital": e.registered_capital,
        "established_on": e.established_on,
        "domicile": e.domicile,
        "business_scope": e.industry.scope,
        "registration_authority": e.registration_authority,
        "registration_status": e.registration_status,
        "industry_code": e.industry.code,
        "division_code": e.division_code,
    }


def _residents(w: World) -> Iterator[Facts]:
    for p in people(w.size.people, w.seed):
        yield _person(p)


def _newcomers(w: World) -> Iterator[Facts]:
    for n in newcomers(w.size.newcomers, w.seed):
        yield {
            **_person(n.person),
            "residence_address": n.residence_address,
            "residence_permit_no": n.permit_no,
            "registered_on": n.registered_on,
        }


def _enterprises(w: World) -> Iterator[Facts]:
    return (_enterprise(e) for e in w.enterprises)


def _shops(w: World) -> Iterator[Facts]:
    for s in w.shops:
        yield {
            "uscc": s.uscc,
            "trade_name": s.trade_name,
            "operator_name": s.operator.name,
            "business_premises": s.premises,
            "business_scope": s.scope,
            "established_on": s.established_on,
            "registration_status": s.registration_status,
        }


def _issued(e: Enterprise) -> date:
    """The e-licence was issued at registration, or when e-licences began (2019)."""
    return max(e.established_on, date(2019, 3, 1) + timedelta(days=e.index % 300))


def _live(w: World) -> list[Enterprise]:
    return [e for e in w.enterprises if e.registration_status == "1"]


def _business_licences(w: World) -> Iterator[Facts]:
    for e in _live(w):
        yield {
            **_enterprise(e),
            "licence_no": e.licence_no,
            "issuer": e.registration_authority,
            "issued_on": _issued(e),
        }


def _food(w: World) -> list[Enterprise]:
    return [e for e in _live(w) if e.industry.food]


def _food_permits(w: World) -> Iterator[Facts]:
    rng = make_rng(w.seed, "food")
    for e in _food(w):
        renewed = DEMO_TODAY - timedelta(days=rng.randrange(30, 5 * 365))  # valid 5 years
        issued = max(e.established_on + timedelta(days=rng.randrange(5, 60)), renewed)
        yield {
            **_enterprise(e),
            "licence_no": food_permit_no(e),
            "business_premises": e.domicile,
            "business_form": "餐饮服务经营者" if "餐饮" in e.industry.word else "食品销售经营者",
            "issuer": e.registration_authority,
            "issued_on": issued,
            "valid_until": issued + timedelta(days=5 * 365),
        }


def _licence_index(w: World) -> Iterator[Facts]:
    for f in _business_licences(w):
        yield {
            **f,
            "licence_name": "营业执照",
            "licence_type": "110001",
            "holder_name": f["enterprise_name"],
            "holder_code": f["uscc"],
            "valid_until": None,  # 长期
            "licence_status": "1",
        }
    for f in _food_permits(w):
        yield {
            **f,
            "licence_name": "食品经营许可证",
            "licence_type": "110017",
            "holder_name": f["enterprise_name"],
            "holder_code": f["uscc"],
            "licence_status": "1" if f["valid_until"] >= DEMO_TODAY else "4",
        }


def _enterprise_credit(w: World) -> Iterator[Facts]:
    rng = make_rng(w.seed, "credit")
    for e in w.enterprises:
        yield {
            **_enterprise(e),
            "credit_rating": credit_rating(rng),
            "rated_on": date(2025, rng.choice((3, 6, 9, 12)), 1),
        }


PERSON_RECORDS: tuple[tuple[str, str], ...] = (
    ("05", "获评宿迁市“诚信之星”"),
    ("03", "累计志愿服务时长超过100小时"),
    ("04", "无偿献血，获全国无偿献血奉献奖"),
    ("02", "违反道路交通安全法律法规，罚款200元，已履行"),
    ("06", "欠缴物业服务费，已结清并完成信用修复"),
)


def _person_credit(w: World) -> Iterator[Facts]:
    rng = make_rng(w.seed, "person-credit")
    for p in w.credit:
        kind, content = rng.choice(PERSON_RECORDS)
        yield {
            **_person(p),
            "record_type": kind,
            "record_content": content,
            "decided_on": DEMO_TODAY - timedelta(days=rng.randrange(10, 3 * 365)),
        }


INSURANCE_TYPES = ("110", "310", "210", "410")  # 职工养老, 职工医保, 失业, 工伤


def _insured(w: World) -> Iterator[Facts]:
    rng = make_rng(w.seed, "insured")
    employers = _live(w) or w.enterprises
    misspelt_names = {c.id_card: c.other_name for c in w.conflicts()}
    for p in w.insured:
        employer = employers[rng.randrange(len(employers))]
        adult = date(p.birth_date.year + 18, p.birth_date.month, 1)
        insured_on = max(adult, employer.established_on, date(1995, 1, 1))
        insured_on += timedelta(days=rng.randrange(0, 365))
        yield {
            **_person(p),
            "name": misspelt_names.get(p.id_card, p.name),
            "ss_card_no": f"{p.division_code}D{p.index:09d}",
            "insurance_type": rng.choice(INSURANCE_TYPES),
            "insured_status": rng.choices("123", weights=(90, 8, 2))[0],
            "insured_on": min(insured_on, DEMO_TODAY),
            "contribution_base": Decimal(rng.randrange(4_300, 22_000, 50)),
            "org_name": employer.name,
            "uscc": employer.uscc,
        }


@dataclass(frozen=True)
class Load:
    department: str  # provider's short name
    resource: str  # resource name in the demo catalog
    username: str  # the provider's user who loads it
    facts: Callable[[World], Iterator[Facts]]


LOADS: tuple[Load, ...] = (
    Load("公安局", "人口基础信息", "ga_catalog", _residents),
    Load("公安局", "流动人口居住登记信息", "ga_catalog", _newcomers),
    Load("市场监管局", "企业登记基本信息", "scjg_admin", _enterprises),
    Load("市场监管局", "个体工商户登记信息", "scjg_admin", _shops),
    Load("行政审批局", "营业执照电子证照", "xzsp_admin", _business_licences),
    Load("行政审批局", "食品经营许可证电子证照", "xzsp_admin", _food_permits),
    Load("行政审批局", "电子证照目录信息", "xzsp_admin", _licence_index),
    Load("信用办", "法人公共信用综合评价信息", "xyb_admin", _enterprise_credit),
    Load("信用办", "自然人公共信用信息", "xyb_admin", _person_credit),
    Load("人社局", "社会保险参保信息", "rs_admin", _insured),
)


def find_resource(db: Database, department: str, name: str) -> ResourceVersion:
    """The published version of the demo resource ``name`` of ``department``."""
    with db.read() as conn:
        depts = {d.short_name: d.id for d in identity_queries.list_departments(conn)}
        if department not in depts:
            raise DemoDataError(f"the demo city has no department {department}")
        rid = conn.execute(
            select(catalog_entry.c.resource_id).where(
                catalog_entry.c.provider_department_id == depts[department],
                catalog_entry.c.name == name,
            )
        ).scalar_one_or_none()
        version = catalog_queries.published_version(conn, rid) if rid else None
    if version is None:
        raise DemoDataError(f"the demo catalog has no published resource {department}/{name}")
    return version


def _actor(db: Database, username: str) -> Actor:
    with db.read() as conn:
        user = identity_queries.user_by_username(conn, username)
        actor = identity_queries.actor_for_user(conn, user.id) if user else None
    if actor is None:
        raise DemoDataError(f"demo user {username} is missing")
    return actor


def _rows(
    load: Load, version: ResourceVersion, world: World
) -> Callable[[], Iterator[tuple[int, RawRow]]]:
    codes = [(i.code, i.name) for i in version.entry.data_items]

    def rows() -> Iterator[tuple[int, RawRow]]:
        for n, facts in enumerate(load.facts(world), start=1):
            try:
                yield n, {code: facts[code] for code, _ in codes}
            except KeyError as exc:
                name = next(nm for c, nm in codes if c == exc.args[0])
                raise DemoDataError(
                    f"the demo data has no value for item {exc.args[0]} ({name}) of "
                    f"{load.department}/{load.resource}"
                ) from None

    return rows


def idempotency_key(size: DataSize, seed: int, code: str) -> str:
    return f"demo-data/v{DATA_VERSION}/{seed}/{size.people}/{code}"


def seed_demo_data(
    db: Database,
    *,
    size: DataSize | None = None,
    seed: int = SEED,
    progress: Callable[[str, int], None] | None = None,
    on_load: Callable[[LoadReport], None] | None = None,
) -> list[LoadReport]:
    """Fill the demo catalog's base resources (and the 人社 resource with the deliberate
    conflicts) through ``aggregation.ingest``. ``progress(resource, rows)`` is called per
    committed chunk; ``on_load`` after each resource. Running it again loads nothing."""
    size = size or DataSize()
    targets = [(load, find_resource(db, load.department, load.resource)) for load in LOADS]
    actors = {u: _actor(db, u) for u in {load.username for load in LOADS}}
    world: World | None = None
    reports = []
    for load, version in targets:
        key = idempotency_key(size, seed, version.code)
        started = time.perf_counter()

        def rows(load: Load = load, version: ResourceVersion = version) -> Any:
            nonlocal world
            if world is None:  # only built when something is to be loaded
                world = World.build(size, seed)
            return _rows(load, version, world)()

        def tick(n: int, name: str = load.resource) -> None:
            if progress is not None:
                progress(name, n)

        result = ingest(
            db,
            version.resource_id,
            rows,
            actor=actors[load.username],
            source=Source(BatchSource.CONNECTOR, idempotency_key=key),
            progress=tick,
        )
        b = result.batch
        report = LoadReport(
            load.department,
            load.resource,
            version.resource_id,
            b.rows_total,
            b.rows_loaded,
            b.rows_rejected,
            result.duplicate,
            time.perf_counter() - started,
        )
        reports.append(report)
        if on_load is not None:
            on_load(report)
    return reports


def conflicts(size: DataSize | None = None, seed: int = SEED) -> list[Conflict]:
    """The deliberate 姓名 differences between 公安局 and 人社局 (for tests and docs)."""
    return World.build(size or DataSize(), seed).conflicts()
