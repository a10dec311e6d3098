"""Synthetic residents of the demo city (宿迁市): names, 公民身份号码, addresses, mobiles.

Everything is deterministic: the same seed gives the same people in the same order, so the
demo's other resources (人社 records, legal representatives, credit records) can pick the
same people again by their index without holding the whole population in memory.

- 公民身份号码 (GB 11643-1999): the area code of 宿城区, 宿豫区, 沭阳县, 泗阳县 or 泗洪县
  (weighted by their population), a real birth date, a sequence code whose last digit is
  odd for men and even for women, and the ISO 7064 MOD 11-2 check character; unique.
- 姓名: common surnames weighted by frequency and given-name characters of the person's
  generation and sex (older people more often have a one-character given name).
- Addresses: real-sounding 街道/镇 of the person's county, a road and a house number.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from govshare.kernel.identifiers import id_card_check_char

SEED = 20260321
# The demo's "today": birth dates, registration dates and the like are before it.
DEMO_TODAY = date(2025, 12, 31)

# area code, county name, relative population (万人)
COUNTIES: tuple[tuple[str, str, int], ...] = (
    ("321302", "宿城区", 90),
    ("321311", "宿豫区", 70),
    ("321322", "沭阳县", 190),
    ("321323", "泗阳县", 100),
    ("321324", "泗洪县", 100),
)
# 街道 (urban, with roads) and 镇/乡 per county
TOWNS: dict[str, tuple[str, ...]] = {
    "321302": (
        "幸福街道",
        "项里街道",
        "河滨街道",
        "古城街道",
        "双庄街道",
        "南蔡街道",
        "埠子镇",
        "龙河镇",
        "洋北镇",
        "中扬镇",
        "蔡集镇",
        "王官集镇",
        "屠园镇",
        "陈集镇",
        "罗圩乡",
    ),
    "321311": (
        "顺河街道",
        "下相街道",
        "豫新街道",
        "井头街道",
        "仰化镇",
        "大兴镇",
        "丁嘴镇",
        "关庙镇",
        "新庄镇",
        "侍岭镇",
        "来龙镇",
        "陆集镇",
        "曹集乡",
        "保安乡",
    ),
    "321322": (
        "沭城街道",
        "梦溪街道",
        "十字街道",
        "章集街道",
        "七雄街道",
        "南湖街道",
        "胡集镇",
        "钱集镇",
        "韩山镇",
        "扎下镇",
        "马厂镇",
        "贤官镇",
        "庙头镇",
        "新河镇",
        "悦来镇",
        "吴集镇",
        "桑墟镇",
        "陇集镇",
        "沂涛镇",
        "塘沟镇",
        "耿圩镇",
        "颜集镇",
        "汤涧镇",
        "茆圩乡",
    ),
    "321323": (
        "众兴街道",
        "来安街道",
        "城厢街道",
        "穿城镇",
        "王集镇",
        "爱园镇",
        "李口镇",
        "新袁镇",
        "裴圩镇",
        "三庄镇",
        "卢集镇",
        "临河镇",
        "高渡镇",
        "庄圩乡",
        "八集乡",
    ),
    "321324": (
        "青阳街道",
        "大楼街道",
        "石集街道",
        "双沟镇",
        "上塘镇",
        "魏营镇",
        "龙集镇",
        "半城镇",
        "孙园镇",
        "梅花镇",
        "归仁镇",
        "金锁镇",
        "朱湖镇",
        "界集镇",
        "太平镇",
        "临淮镇",
        "曹庙乡",
        "瑶沟乡",
        "天岗湖乡",
    ),
}
ROADS: dict[str, tuple[str, ...]] = {
    "321302": (
        "洪泽湖路",
        "黄河路",
        "幸福中路",
        "西湖路",
        "宿支路",
        "项王路",
        "古黄河路",
        "发展大道",
        "青海湖路",
        "珠江路",
        "太湖路",
        "上海路",
        "南京路",
        "北京路",
        "人民大道",
    ),
    "321311": (
        "下相路",
        "马陵路",
        "太湖路",
        "江山大道",
        "洪泽湖东路",
        "富康大道",
        "太行山路",
        "泰山路",
        "黄河南路",
        "顺河路",
    ),
    "321322": (
        "人民路",
        "沭河路",
        "上海路",
        "深圳路",
        "杭州路",
        "温州路",
        "北京路",
        "南京路",
        "迎宾大道",
        "常州路",
        "苏州路",
        "文化路",
        "建设路",
        "振兴路",
    ),
    "321323": (
        "众兴路",
        "北京路",
        "上海路",
        "长江路",
        "淮海路",
        "运河路",
        "桃源路",
        "人民路",
        "文城路",
        "洋河大道",
    ),
    "321324": (
        "怀文路",
        "人民路",
        "泗州大街",
        "长江路",
        "杨树大道",
        "世纪大道",
        "汴河路",
        "洪泽湖大道",
        "重岗路",
        "开发大道",
    ),
}
COMMUNITIES = (
    "阳光花园",
    "金色家园",
    "香格里拉",
    "翡翠城",
    "水岸名居",
    "东方红郡",
    "锦绣华庭",
    "世纪华府",
    "城市之光",
    "湖滨新城",
    "丽景苑",
    "和平新村",
    "幸福家园",
    "名人公馆",
)
# (surname, relative frequency), the most common surnames in China
SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 720),
    ("李", 710),
    ("张", 690),
    ("刘", 540),
    ("陈", 460),
    ("杨", 320),
    ("黄", 250),
    ("赵", 230),
    ("吴", 220),
    ("周", 210),
    ("徐", 190),
    ("孙", 160),
    ("马", 150),
    ("朱", 140),
    ("胡", 130),
    ("郭", 120),
    ("何", 110),
    ("高", 110),
    ("林", 100),
    ("罗", 90),
    ("郑", 90),
    ("梁", 80),
    ("谢", 70),
    ("宋", 70),
    ("唐", 70),
    ("许", 70),
    ("韩", 60),
    ("冯", 60),
    ("邓", 60),
    ("曹", 60),
    ("彭", 50),
    ("曾", 50),
    ("肖", 50),
    ("田", 50),
    ("董", 50),
    ("袁", 40),
    ("潘", 40),
    ("于", 40),
    ("蒋", 40),
    ("蔡", 40),
    ("余", 40),
    ("杜", 40),
    ("叶", 40),
    ("程", 40),
    ("苏", 40),
    ("魏", 40),
    ("吕", 40),
    ("丁", 40),
    ("任", 30),
    ("沈", 30),
    ("姚", 30),
    ("卢", 30),
    ("姜", 30),
    ("崔", 30),
    ("钟", 30),
    ("谭", 30),
    ("陆", 30),
    ("汪", 30),
    ("范", 30),
    ("金", 30),
    ("石", 30),
    ("廖", 20),
    ("贾", 20),
    ("夏", 20),
    ("付", 20),
    ("方", 20),
    ("邹", 20),
    ("孟", 20),
    ("熊", 20),
    ("秦", 20),
    ("邱", 20),
    ("江", 20),
    ("尹", 20),
    ("薛", 20),
    ("闫", 20),
    ("段", 20),
    ("雷", 20),
    ("侯", 20),
    ("史", 20),
    ("陶", 20),
    ("顾", 20),
    ("毛", 20),
    ("郝", 20),
    ("龚", 20),
    ("邵", 20),
    ("万", 20),
    ("钱", 20),
    ("严", 20),
    ("仲", 15),
    ("戴", 15),
    ("孔", 15),
    ("欧阳", 3),
    ("司马", 1),
    ("诸葛", 1),
)
# Given-name characters by generation (born before 1970, 1970-1994, from 1995) and sex.
GIVEN: dict[tuple[int, str], str] = {
    (0, "1"): "国建明华军平志文德福春永立海忠祥林成学兴保庆贵金山荣生发有全宝友才",
    (0, "2"): "秀英兰桂芳珍玉凤华梅淑琴翠云霞素荣花莲爱春菊美芝桂香丽芬彩娥",
    (1, "1"): "伟强磊军勇杰涛明超刚辉鹏华飞斌波峰亮东建林健志海俊兵锋毅振晓红",
    (1, "2"): "丽敏静艳娟霞燕玲芳红萍洁琳雪梅慧婷倩莉蓉颖君娜晶华琴艳丹",
    (2, "1"): "浩宇轩子睿泽宸昊铭瑞皓博俊豪天一晨阳航鑫家翔嘉逸辰楠煜梓文杰凯",
    (2, "2"): "欣怡佳雨晴梦思诗涵悦可馨琪月蕾薇若依彤萱语汐婉瑶雅妍晨曦心璐",
}
# 民族 (GB/T 3304): 汉族 almost everywhere in 宿迁, a few 回族 and others.
ETHNICITIES: tuple[tuple[str, int], ...] = (
    ("01", 9950),
    ("03", 30),
    ("02", 5),
    ("08", 5),
    ("05", 4),
    ("06", 3),
    ("11", 3),
)
# Age bands (years) and their share of the population (per mille).
AGE_BANDS: tuple[tuple[int, int, int], ...] = (
    (0, 9, 105),
    (10, 19, 120),
    (20, 29, 105),
    (30, 39, 140),
    (40, 49, 140),
    (50, 59, 165),
    (60, 69, 125),
    (70, 79, 70),
    (80, 89, 26),
    (90, 99, 4),
)
MOBILE_PREFIXES = tuple(
    f"1{n}"
    for n in (
        *(30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 50, 51, 52, 53, 55, 56, 57, 58, 59),
        *(66, 73, 77, 78, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 98, 99),
    )
)
# Area codes of nearby places, for people who moved to the city (流动人口).
ELSEWHERE: tuple[tuple[str, str], ...] = (
    ("320382", "江苏省徐州市邳州市"),
    ("320724", "江苏省连云港市灌南县"),
    ("320826", "江苏省淮安市涟水县"),
    ("341302", "安徽省宿州市埇桥区"),
    ("341321", "安徽省宿州市砀山县"),
    ("341322", "安徽省宿州市萧县"),
    ("371321", "山东省临沂市沂南县"),
    ("411425", "河南省商丘市虞城县"),
)


@dataclass(frozen=True, slots=True)
class Person:
    index: int  # position in the deterministic sequence (0-based)
    name: str
    id_card: str
    gender: str  # GB/T 2261.1: 1 male, 2 female
    birth_date: date
    ethnicity: str
    division_code: str  # the county of the household registration
    household_address: str
    mobile: str

    @property
    def age(self) -> int:
        b, t = self.birth_date, DEMO_TODAY
        return t.year - b.year - ((t.month, t.day) < (b.month, b.day))


class _Picker:
    """Weighted choice with precomputed cumulative weights (fast enough for 10⁵ draws)."""

    def __init__(self, pairs: tuple[tuple[str, int], ...]) -> None:
        self.values = [v for v, _ in pairs]
        self.cum = list(accumulate(w for _, w in pairs))

    def __call__(self, rng: random.Random) -> str:
        return rng.choices(self.values, cum_weights=self.cum)[0]


_SURNAME = _Picker(SURNAMES)
_ETHNICITY = _Picker(ETHNICITIES)
_COUNTY = _Picker(tuple((code, weight) for code, _, weight in COUNTIES))
_COUNTY_NAME = {code: name for code, name, _ in COUNTIES}
_AGE_CUM = list(accumulate(share for _, _, share in AGE_BANDS))


def make_rng(seed: int, stream: str) -> random.Random:
    """An independent deterministic random stream per purpose."""
    return random.Random(f"{seed}:{stream}")  # noqa: S311 - synthetic demo data, not security


def generation(born: date) -> int:
    return 0 if born.year < 1970 else 1 if born.year < 1995 else 2


def given_name(rng: random.Random, gender: str, born: date) -> str:
    gen = generation(born)
    chars = GIVEN[(gen, gender)]
    single = (0.35, 0.2, 0.12)[gen]
    if rng.random() < single:
        return rng.choice(chars)
    first = rng.choice(chars)
    second = rng.choice(chars.replace(first, ""))
    return first + second


def birth_date(rng: random.Random) -> date:
    band = AGE_BANDS[rng.choices(range(len(AGE_BANDS)), cum_weights=_AGE_CUM)[0]]
    age_days = rng.randrange(band[0] * 365, (band[1] + 1) * 365)
    return DEMO_TODAY - timedelta(days=age_days + 1)


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def street_address(rng: random.Random, division: str, *, province: bool = True) -> str:
    """江苏省宿迁市沭阳县沭城街道人民路128号 (with a flat in urban 街道)."""
    town = rng.choice(TOWNS[division])
    road = rng.choice(ROADS[division])
    head = ("江苏省" if province else "") + "宿迁市" + _COUNTY_NAME[division] + town
    if town.endswith("街道") and rng.random() < 0.6:
        community = rng.choice(COMMUNITIES)
        return (
            f"{head}{road}{rng.randrange(1, 400)}号{community}{rng.randrange(1, 40)}幢"
            f"{rng.randrange(1, 4)}单元{rng.randrange(1, 33)}0{rng.randrange(1, 5)}室"
        )
    return f"{head}{road}{rng.randrange(1, 900)}号"


def id_card_number(area: str, born: date, seq: int) -> str:
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    return first17 + id_card_check_char(first17)


def _person(
    rng: random.Random, used: set[str], areas: _Picker | None = None
) -> tuple[str, str, date, str]:
    """(area, gender, birth date, 公民身份号码), unique among ``used``."""
    area = (areas or _COUNTY)(rng)
    gender = "1" if rng.random() < 0.505 else "2"
    born = birth_date(rng)
    while True:
        seq = rng.randrange(500) * 2 + (1 if gender == "1" else 0)
        number = id_card_number(area, born, seq)
        if number not in used:
            used.add(number)
            return area, gender, born, number
        born = born - timedelta(days=1)  # that day's sequence codes are crowded


def people(count: int, seed: int = SEED) -> Iterator[Person]:
    """The first ``count`` residents of the demo city, always the same ones."""
    rng = make_rng(seed, "people")
    used: set[str] = set()
    for index in range(count):
        area, gender, born, number = _person(rng, used)
        yield Person(
            index=index,
            name=_SURNAME(rng) + given_name(rng, gender, born),
            id_card=number,
            gender=gender,
            birth_date=born,
            ethnicity=_ETHNICITY(rng),
            division_code=area,
            household_address=street_address(rng, area),
            mobile=mobile(rng),
        )


@dataclass(frozen=True, slots=True)
class Newcomer:
    """A person registered elsewhere who lives in the city (流动人口)."""

    person: Person
    residence_address: str
    permit_no: str
    registered_on: date


_ELSEWHERE = _Picker(tuple((code, 1) for code, _ in ELSEWHERE))
_ELSEWHERE_NAME = dict(ELSEWHERE)


def newcomers(count: int, seed: int = SEED) -> Iterator[Newcomer]:
    """People from neighbouring counties and provinces living in the city, aged 16-65."""
    rng = make_rng(seed, "newcomers")
    used: set[str] = set()
    made = 0
    while made < count:
        area, gender, born, number = _person(rng, used, _ELSEWHERE)
        person = Person(
            index=made,
            name=_SURNAME(rng) + given_name(rng, gender, born),
            id_card=number,
            gender=gender,
            birth_date=born,
            ethnicity=_ETHNICITY(rng),
            division_code=area,
            household_address=f"{_ELSEWHERE_NAME[area]}{rng.choice(('人民路', '建设路', '解放路'))}"
            f"{rng.randrange(1, 300)}号",
            mobile=mobile(rng),
        )
        if not 16 <= person.age <= 65:
            used.discard(number)
            continue
        lived = rng.choice(tuple(TOWNS))
        registered = DEMO_TODAY - timedelta(days=rng.randrange(30, 5 * 365))
        yield Newcomer(
            person=person,
            residence_address=street_address(rng, lived),
            permit_no=f"{lived}{registered:%Y}{made + 1:07d}",
            registered_on=registered,
        )
        made += 1


# A deliberate misspelling a clerk might make: a homophone of a given-name character
# (pairs of "as registered" → "as typed elsewhere").
_HOMOPHONE_PAIRS = (
    "伟玮 静婧 丽莉 敏民 军君 杰洁 华桦 明铭 磊垒 洋阳 艳燕 勇永 娟鹃 涛韬 超朝 霞侠 平萍 刚钢"
    " 芳方 红虹 晨辰 泽择 娜纳 梅玫 妍研 涵含 建健 晶菁 倩茜 家佳 阳扬 雅亚 婷亭 琳林 玲铃"
    " 燕艳 鹏朋 峰锋 斌彬 浩豪 宇雨 轩萱 睿锐 昊浩 铭明 瑞睿 博波 俊骏 豪浩 天添 一艺 翔祥"
    " 嘉佳 逸艺 辰晨 楠南 煜昱 梓子 文雯 凯楷 欣心 怡宜 佳家 雨宇 晴清 梦孟 思斯 诗世 悦月"
    " 可珂 馨欣 琪琦 月悦 薇微 依怡 彤桐 萱轩 语雨 汐夕 婉琬 瑶遥 心欣 璐露 秀琇 英瑛 兰岚"
    " 桂贵 珍真 玉钰 凤风 淑舒 琴勤 翠萃 云芸 素苏 荣容 花华 莲连 爱艾 春纯 美梅 芝之 香湘"
    " 彩采 国果 志智 德得 福富 立力 忠中 祥翔 林琳 成诚 学雪 兴星 保宝 庆青 贵桂 金今 山珊"
    " 生升 有友 全泉 宝保 才材 东冬 亮量 健建 锋峰 毅义 晓小 丹单 君军 蓉容 颖影 雪学 慧惠"
    " 洁杰 辉晖 飞菲 鑫新 帆凡 帅率 旭绪 宁凝 龙隆 欢环 航杭 友有 发法 海凯 兵斌 振镇 菊桔"
    " 强蔷 永勇 波博 皓浩 芬纷 莉丽 萍平 蕾磊 宸晨 曦熙 子紫 娥峨 若偌"
)
HOMOPHONES: dict[str, str] = {pair[0]: pair[1] for pair in _HOMOPHONE_PAIRS.split()}


def misspelt(name: str) -> str:
    """The same name with one given-name character replaced by a homophone (or, when none
    is known, by another common character): a realistic record-keeping difference."""
    surname_len = 2 if any(name.startswith(s) for s, _ in SURNAMES if len(s) == 2) else 1
    for i in range(len(name) - 1, surname_len - 1, -1):
        if name[i] in HOMOPHONES:
            return name[:i] + HOMOPHONES[name[i]] + name[i + 1 :]
    return name[:-1] + ("文" if name[-1] != "文" else "武")
