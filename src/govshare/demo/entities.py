"""Synthetic market entities of the demo city: enterprises and individual businesses with
valid 统一社会信用代码 (GB 32100-2015, registration code 9 = 市场监管), their business
licences, food-business permits and public-credit ratings. Deterministic, like
``govshare.demo.population``; legal representatives are residents of the demo population.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from govshare.demo.population import COUNTIES, DEMO_TODAY, SEED, Person, make_rng, street_address
from govshare.kernel.identifiers import USCC_CHARSET, make_uscc


@dataclass(frozen=True)
class Industry:
    code: str  # GB/T 4754-2017
    word: str  # in the enterprise name
    scope: str  # 经营范围
    food: bool = False  # needs a food-business permit


INDUSTRIES: tuple[Industry, ...] = (
    Industry("I6513", "软件科技", "软件开发；信息系统集成服务；信息技术咨询服务"),
    Industry("F5292", "电子商务", "互联网销售；电子商务服务；供应链管理服务"),
    Industry("F5211", "商贸", "日用百货销售；针纺织品销售；五金产品零售；家用电器销售"),
    Industry("E4701", "建设工程", "房屋建筑工程施工；市政公用工程施工；建筑装饰装修工程施工"),
    Industry("C1810", "服饰", "服装制造；服装服饰批发；服装服饰零售"),
    Industry("C2110", "家具", "家具制造；家具销售；家具安装和维修服务"),
    Industry("C2021", "木业", "胶合板制造；木材加工；木材销售"),
    Industry("C3981", "电子", "电子元器件制造；电子元器件批发；电子产品销售"),
    Industry("C1512", "酒业", "白酒生产；酒类经营；食品销售", food=True),
    Industry("A0143", "花木", "花卉种植；园艺产品种植；园林绿化工程施工"),
    Industry("G5430", "物流", "道路货物运输（不含危险货物）；普通货物仓储服务；装卸搬运"),
    Industry("H6210", "餐饮管理", "餐饮服务；餐饮管理；食品销售", food=True),
    Industry("F5223", "食品", "食品销售；预包装食品零售；农副产品销售", food=True),
    Industry("C2922", "新材料", "新材料技术研发；塑料制品制造；塑料制品销售"),
    Industry("K7010", "房地产开发", "房地产开发经营；物业管理；住房租赁"),
    Industry("C3311", "机械制造", "通用设备制造；机械零件、零部件加工；机械设备销售"),
    Industry("L7251", "文化传媒", "广告设计、代理；广告制作；组织文化艺术交流活动"),
    Industry("N7721", "环保科技", "环保咨询服务；污水处理及其再生利用；固体废物治理"),
)
TRADE_CHARS = (
    "恒信华泰金源鑫达宏远瑞丰盛隆嘉禾润德康宁正和昌荣"
    "天翔万通博创新益永佳安福裕富明亿顺兴中海凯龙祥利诚辉"
)
# (name prefix, division, registration authority)
PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("宿迁", "321302", "宿迁市市场监督管理局"),
    ("宿迁市", "321302", "宿迁市宿城区市场监督管理局"),
    ("宿迁市", "321311", "宿迁市宿豫区市场监督管理局"),
    ("江苏", "321302", "宿迁市市场监督管理局"),
    ("沭阳", "321322", "沭阳县市场监督管理局"),
    ("沭阳县", "321322", "沭阳县市场监督管理局"),
    ("泗阳县", "321323", "泗阳县市场监督管理局"),
    ("泗洪县", "321324", "泗洪县市场监督管理局"),
)
# (organisation form, 企业类型 code, weight)
FORMS: tuple[tuple[str, str, int], ...] = (
    ("有限公司", "1130", 70),
    ("有限责任公司", "1151", 22),
    ("股份有限公司", "1230", 8),
)
_BODY_CHARS = "".join(c for c in USCC_CHARSET if c.isdigit() or c.isupper())
_COUNTY_NAME = {code: name for code, name, _ in COUNTIES}


@dataclass(frozen=True, slots=True)
class Enterprise:
    index: int
    uscc: str
    name: str
    enterprise_type: str
    legal_rep: Person
    registered_capital: Decimal  # 万元
    established_on: date
    domicile: str
    division_code: str
    industry: Industry
    registration_authority: str
    registration_status: str  # 1 存续, 2 注销, 3 吊销, 4 迁出

    @property
    def licence_no(self) -> str:
        """The business licence's e-licence identifier (营业执照电子证照标识)."""
        return f"1.2.156.3005.2.11100000000013338W011.{self.uscc}.001"


def _org_body(rng: random.Random, established: date) -> str:
    """Organisation-code body: numeric before the 2015 reform, ``MA`` codes after it."""
    if established.year < 2015:
        return f"{rng.choice('0567')}{rng.randrange(10**7):07d}"
    return "MA" + "".join(rng.choice(_BODY_CHARS) for _ in range(6))


def _capital(rng: random.Random) -> Decimal:
    base = rng.choice((10, 30, 50, 100, 100, 200, 300, 500, 500, 1000, 2000, 5000))
    return Decimal(base) if rng.random() < 0.8 else Decimal(base) + Decimal(rng.randrange(1, 99))


def enterprises(count: int, reps: Sequence[Person], seed: int = SEED) -> Iterator[Enterprise]:
    """``count`` enterprises; legal representatives are taken from ``reps`` in turn."""
    if not reps:
        raise ValueError("enterprises need legal representatives")
    rng = make_rng(seed, "enterprises")
    used_codes: set[str] = set()
    used_names: set[str] = set()
    forms = [f for f in FORMS]
    weights = [w for _, _, w in FORMS]
    for index in range(count):
        industry = rng.choice(INDUSTRIES)
        prefix, division, authority = rng.choice(PREFIXES)
        form, kind, _ = rng.choices(forms, weights=weights)[0]
        while True:
            trade = rng.choice(TRADE_CHARS) + rng.choice(TRADE_CHARS)
            name = f"{prefix}{trade}{industry.word}{form}"
            if name not in used_names and trade[0] != trade[1]:
                used_names.add(name)
                break
        established = DEMO_TODAY - timedelta(days=rng.randrange(60, 30 * 365))
        while True:
            code = make_uscc("9", "1", division, _org_body(rng, established))
            if code not in used_codes:
                used_codes.add(code)
                break
        yield Enterprise(
            index=index,
            uscc=code,
            name=name,
            enterprise_type=kind,
            legal_rep=reps[index % len(reps)],
            registered_capital=_capital(rng),
            established_on=established,
            domicile=street_address(rng, division, province=False),
            division_code=division,
            industry=industry,
            registration_authority=authority,
            registration_status=rng.choices("1234", weights=(94, 3, 2, 1))[0],
        )


@dataclass(frozen=True, slots=True)
class Shop:
    """An individual business (个体工商户): USCC category 2."""

    index: int
    uscc: str
    trade_name: str
    operator: Person
    premises: str
    scope: str
    established_on: date
    registration_status: str


SHOP_KINDS: tuple[tuple[str, str], ...] = (
    ("花木店", "花卉种植；花卉绿植零售"),
    ("便利店", "食品销售；日用百货销售"),
    ("小吃店", "餐饮服务；食品销售"),
    ("五金店", "五金产品零售；建筑材料销售"),
    ("服装店", "服装服饰零售；鞋帽零售"),
    ("理发店", "理发服务；美容服务"),
    ("手机维修部", "通信设备修理；电子产品销售"),
    ("水果店", "水果零售；新鲜蔬菜零售"),
    ("电商经营部", "互联网销售（除销售需要许可的商品）"),
)


def shops(count: int, operators: Sequence[Person], seed: int = SEED) -> Iterator[Shop]:
    if not operators:
        raise ValueError("shops need operators")
    rng = make_rng(seed, "shops")
    used: set[str] = set()
    for index in range(count):
        op = operators[index % len(operators)]
        division = op.division_code
        kind, scope = rng.choice(SHOP_KINDS)
        established = DEMO_TODAY - timedelta(days=rng.randrange(30, 15 * 365))
        while True:
            body = "".join(rng.choice(_BODY_CHARS) for _ in range(6))
            code = make_uscc("9", "2", division, "MA" + body)
            if code not in used:
                used.add(code)
                break
        yield Shop(
            index=index,
            uscc=code,
            trade_name=f"{_COUNTY_NAME[division]}{op.name}{kind}",
            operator=op,
            premises=street_address(rng, division, province=False),
            scope=scope,
            established_on=established,
            registration_status=rng.choices("12", weights=(95, 5))[0],
        )


def credit_rating(rng: random.Random) -> str:
    """公共信用综合评价等级: mostly A and B."""
    return rng.choices("ABCD", weights=(40, 50, 8, 2))[0]


def food_permit_no(e: Enterprise) -> str:
    """食品经营许可证编号: JY + 主体业态 + 行政区划 + 流水号 + 校验码."""
    body = f"1{e.division_code}{e.index + 1:06d}"
    return f"JY{body}{sum(int(c) for c in body) % 10}"
