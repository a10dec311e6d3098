"""Deterministic benchmark data, all from ``config.SEED``.

- The population CSV: the demo city's synthetic residents (``govshare.demo.population``:
  names, 公民身份号码 with the GB 11643 check character from ``govshare.kernel.identifiers``,
  household addresses, mobile numbers). One row in every thousand has its check character
  broken, as real deliveries do, so that full validation has something to quarantine.
- Catalog entries: names, summaries, tags and data items composed from a fixed vocabulary
  of government information resources.
- Search queries: two- to four-character words and phrases of that vocabulary.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from govshare.demo.population import people
from govshare.kernel.identifiers import id_card_check_char

# The bench resource's data items (codes of the demo vocabulary), in CSV column order.
ITEM_CODES = ("name", "id_card", "gender", "birth_date", "household_address", "phone")
HEADERS = ("姓名", "公民身份号码", "性别", "出生日期", "户籍地址", "联系电话")
BAD_EVERY = 1000  # row n (1-based) with n % BAD_EVERY == 0 carries a wrong check character
GENERATOR_VERSION = "1"


def rng(seed: int, stream: str) -> random.Random:
    return random.Random(f"bench:{seed}:{stream}")  # noqa: S311 - synthetic data


def _broken(id_card: str) -> str:
    good = id_card_check_char(id_card[:17])
    wrong = "0" if good != "0" else "1"
    return id_card[:17] + wrong


def population_rows(count: int, seed: int) -> Iterator[tuple[str, ...]]:
    for n, p in enumerate(people(count, seed), start=1):
        card = _broken(p.id_card) if n % BAD_EVERY == 0 else p.id_card
        yield (
            p.name,
            card,
            p.gender,
            p.birth_date.isoformat(),
            p.household_address,
            p.mobile,
        )


def write_population_csv(path: Path, count: int, seed: int) -> Path:
    """Write (once: the file is reused while its size and seed match) the population CSV."""
    marker = path.with_suffix(f".v{GENERATOR_VERSION}.done")
    if path.exists() and marker.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # concurrent runs write their own
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        writer.writerows(population_rows(count, seed))
    tmp.replace(path)
    marker.write_text("ok\n")
    return path


def valid_rows(count: int) -> int:
    return count - count // BAD_EVERY


def sample_keys(path: Path, wanted: int, seed: int) -> list[tuple[str, str]]:
    """(身份证号, 姓名) of ``wanted`` valid rows, in a fixed shuffled order."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = [(r[1], r[0]) for n, r in enumerate(reader, start=1) if n % BAD_EVERY]
    pick = rng(seed, "keys")
    if wanted < len(rows):
        rows = pick.sample(rows, wanted)
    else:
        pick.shuffle(rows)
    return rows


# Catalog vocabulary ------------------------------------------------------------------
TOPICS = [
    "人口",
    "户籍",
    "身份证",
    "居住证",
    "婚姻登记",
    "出生",
    "死亡",
    "收养",
    "社保",
    "医保",
    "养老保险",
    "失业保险",
    "工伤",
    "生育",
    "公积金",
    "低保",
    "特困",
    "临时救助",
    "残疾人",
    "养老",
    "托育",
    "学籍",
    "学历",
    "教师资格",
    "招生",
    "助学",
    "就业",
    "职业培训",
    "技能",
    "劳动合同",
    "工资",
    "人才",
    "营业执照",
    "企业",
    "个体",
    "合作社",
    "股权",
    "商标",
    "专利",
    "食品经营",
    "药品",
    "医疗器械",
    "化妆品",
    "特种设备",
    "计量",
    "质量",
    "价格",
    "广告",
    "纳税",
    "发票",
    "税务登记",
    "减免税",
    "出口退税",
    "财政",
    "预算",
    "政府采购",
    "国有资产",
    "不动产",
    "土地",
    "宅基地",
    "规划",
    "测绘",
    "地籍",
    "林权",
    "矿产",
    "地质",
    "耕地",
    "房屋",
    "住房",
    "物业",
    "租赁",
    "建筑",
    "施工",
    "工程",
    "招投标",
    "道路",
    "公交",
    "出租车",
    "车辆",
    "驾驶证",
    "船舶",
    "港口",
    "航道",
    "交通违法",
    "水质",
    "水利",
    "河道",
    "防汛",
    "气象",
    "环境",
    "排污",
    "噪声",
    "固废",
    "危废",
    "农业",
    "农机",
    "种子",
    "化肥",
    "兽药",
    "畜牧",
    "渔业",
    "粮食",
    "农村",
    "扶贫",
    "旅游",
    "文物",
    "文化",
    "体育",
    "广播",
    "出版",
    "医院",
    "医生",
    "护士",
    "疫苗",
    "传染病",
    "妇幼",
    "卫生",
    "健康",
    "献血",
    "殡葬",
    "退役军人",
    "优抚",
    "法律援助",
    "公证",
    "律师",
    "社区矫正",
    "人民调解",
    "行政处罚",
    "行政许可",
    "行政检查",
    "信用",
    "失信",
    "守信",
    "红名单",
    "黑名单",
    "安全生产",
    "应急",
    "消防",
    "危化品",
    "煤矿",
    "地震",
    "审计",
    "统计",
    "档案",
    "信访",
    "热线",
    "政务服务",
    "证照",
    "网格",
    "社区",
    "街道",
    "宗教",
    "民族",
    "侨务",
    "慈善",
    "社会组织",
    "志愿者",
]
KINDS = [
    "信息",
    "基本信息",
    "登记信息",
    "许可信息",
    "备案信息",
    "统计信息",
    "名录",
    "目录",
    "台账",
    "明细",
    "核验",
    "档案",
    "清单",
    "评价",
    "监测数据",
    "处罚信息",
    "缴费信息",
    "变更信息",
    "注销信息",
    "年报",
]
PLACES = ("宿迁市", "宿城区", "宿豫区", "沭阳县", "泗阳县", "泗洪县", "全市", "市级")
SUMMARIES = (
    "记录{place}{topic}{kind}，包括主体名称、证件号码、办理时间和办理结果，供政务服务办理和监管使用。",
    "{topic}业务系统产生的{kind}，按{cycle}更新，可通过接口查询或批量交换获取。",
    "本资源汇集{place}{topic}相关{kind}，用于跨部门业务协同、数据核验和统计分析。",
    "{provider}在履行{topic}管理职责中形成的{kind}，以统一社会信用代码或公民身份号码关联。",
)
CYCLES = ("实时", "每日", "每周", "每月", "每季度", "每年")
ITEM_NAMES = [
    "姓名",
    "公民身份号码",
    "统一社会信用代码",
    "企业名称",
    "法定代表人",
    "办理日期",
    "办理结果",
    "地址",
    "联系电话",
    "证照编号",
    "有效期",
    "发证机关",
    "登记机关",
    "金额",
    "状态",
    "类别",
    "备注",
    "行政区划代码",
]


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    summary: str
    theme: str
    tags: tuple[str, ...]
    items: tuple[str, ...]
    provider_index: int  # which department (of the city's departments, in a fixed order)
    classification: str
    share_category: str
    open_category: str
    format_category: str
    update_cycle: str
    modes: tuple[str, ...]


def catalog_entries(count: int, seed: int, providers: list[str]) -> Iterator[CatalogEntry]:
    """``count`` entries, always the same for the same seed and provider names."""
    r = rng(seed, "catalog")
    for _ in range(count):
        topic = r.choice(TOPICS)
        kind = r.choice(KINDS)
        place = r.choice(PLACES)
        p = r.randrange(len(providers))
        year = r.randrange(2015, 2026)
        name = f"{place}{topic}{kind}" + (f"（{year}年）" if r.random() < 0.5 else "")
        summary = r.choice(SUMMARIES).format(
            place=place, topic=topic, kind=kind, cycle=r.choice(CYCLES), provider=providers[p]
        )
        extra = r.sample(TOPICS, 2)
        yield CatalogEntry(
            name=name,
            summary=summary,
            theme=r.choice(("", "", topic, "一网通办", "城市治理", "民生服务")),
            tags=(topic, *extra),
            items=tuple(r.sample(ITEM_NAMES, r.randrange(4, 10))),
            provider_index=p,
            classification=r.choice(("base", "theme", "department", "department")),
            share_category=r.choice(("unconditional", "conditional", "conditional", "not_shared")),
            open_category=r.choice(("open", "open_on_request", "closed")),
            format_category=r.choice(("database", "spreadsheet", "interface", "document")),
            update_cycle=r.choice(("realtime", "daily", "weekly", "monthly", "yearly")),
            modes=tuple(sorted(set(r.sample(("query", "verify", "batch", "feed", "file"), 2)))),
        )


def search_queries(count: int, seed: int) -> list[str]:
    """Two- to four-character words and phrases of the catalog vocabulary: half of them
    words (topics, kinds, places), half topic + kind phrases that fit in four characters,
    each half drawn uniformly."""
    words = sorted({w for w in (*TOPICS, *KINDS, *PLACES) if 2 <= len(w) <= 4})
    phrases = sorted({t + k for t in TOPICS for k in KINDS if len(t + k) <= 4} - set(words))
    r = rng(seed, "queries")
    half = min(count // 2, len(words))
    picked = r.sample(words, half) + r.sample(phrases, min(count - half, len(phrases)))
    r.shuffle(picked)
    return picked
