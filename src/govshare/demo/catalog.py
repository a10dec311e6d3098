"""The demo city's catalog: about 220 published resources of the Suqian departments.

Every entry goes through the ordinary write path (``create_draft`` → ``submit`` →
``review``), so each step is validated against the rule profile and audited. The entries
are fixed (no randomness): base resources of the five base databases (always unconditional,
SQ-10.2), theme resources and department resources, in all three share categories and all
three open categories. 不予共享 entries carry a basis in law or administrative regulation,
the reasons and the head's sign-off (SQ-10.1, SQ-17).

Running it again changes nothing: an entry whose department already has a resource of
that name is skipped (a draft or submitted one left by an interrupted run is finished).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from sqlalchemy import select

from govshare.catalog import services
from govshare.catalog.model import (
    BaseKind,
    Classification,
    DataItemInput,
    DeliveryMode,
    EntryInput,
    FormatCategory,
    IdentifierKind,
    ItemType,
    OpenCategory,
    ReviewDecision,
    ShareCategory,
    UpdateCycle,
    VersionState,
)
from govshare.catalog.tables import resource, resource_version
from govshare.demo.catalog_data import ITEM_TABLE, NOT_SHARED, SPECS, Spec
from govshare.identity import queries as identity_queries
from govshare.kernel.actor import Actor
from govshare.kernel.masking import SensitivityKind
from govshare.rules import RuleProfile
from govshare.storage.engine import Database

_TYPES = {
    "s": ItemType.STRING,
    "c": ItemType.CODE,
    "d": ItemType.DATE,
    "t": ItemType.DATETIME,
    "n": ItemType.DECIMAL,
    "i": ItemType.INTEGER,
}
_IDENT = {"#id": IdentifierKind.ID_CARD, "#uscc": IdentifierKind.USCC}


def _parse_items(table: str) -> dict[str, DataItemInput]:
    out: dict[str, DataItemInput] = {}
    for line in table.strip().splitlines():
        head, _, code_list = line.partition(" | ")
        code, name, kind, *rest = head.split()
        ident = next((_IDENT[t] for t in rest if t in _IDENT), IdentifierKind.NONE)
        sens = next((t for t in rest if t not in _IDENT), SensitivityKind.NONE.value)
        out[code] = DataItemInput(
            name=name,
            code=code,
            type=_TYPES[kind[0]],
            length=int(kind[1:]) if kind[1:] else None,
            identifier=ident,
            sensitivity=SensitivityKind(sens).value,
            required=ident is not IdentifierKind.NONE,
            code_list=code_list.strip(),
            description="单位：万元" if code == "registered_capital" else "",
        )
    return out


ITEMS = _parse_items(ITEM_TABLE)

# The base databases (SQ-10.2): who is the source, and the items it is the source of.
# Other departments' resources hold these items only as association keys (一数一源).
_BASE_SOURCES: list[tuple[str, str, frozenset[str]]] = [
    (
        "公安局",
        "人口基础库",
        frozenset(
            {"name", "id_card", "gender", "ethnicity", "birth_date", "household_address"}
            | {"husband_id_card", "wife_id_card", "head_id_card", "mother_id_card"}
            | {"father_id_card", "buyer_id_card"}
        ),
    ),
    (
        "市场监管局",
        "法人基础库",
        frozenset(
            {"uscc", "enterprise_name", "legal_rep_name", "registered_capital"}
            | {"established_on", "domicile", "taxpayer_id"}
        ),
    ),
    (
        "自然资源和规划局",
        "自然资源和空间地理基础库",
        frozenset({"property_unit_no", "address_code", "standard_address"}),
    ),
    ("行政审批局", "电子证照库", frozenset({"licence_no"})),
    ("信用办", "社会信用基础库", frozenset({"credit_rating"})),
]
_CONTACT = frozenset({"phone", "address", "residence_address", "guardian_phone"})

# Resources -------------------------------------------------------------------------------
_CYCLES = {
    "rt": (UpdateCycle.REALTIME, "实时（秒级）"),
    "d": (UpdateCycle.DAILY, "T+1，次日8时前"),
    "w": (UpdateCycle.WEEKLY, "每周一更新上周数据"),
    "m": (UpdateCycle.MONTHLY, "次月5日前更新"),
    "q": (UpdateCycle.QUARTERLY, "季后15日内更新"),
    "y": (UpdateCycle.YEARLY, "次年3月底前更新"),
    "i": (UpdateCycle.IRREGULAR, "数据变化后5个工作日内更新"),
}
_FORMATS = {
    "db": (FormatCategory.DATABASE, "关系型数据库表"),
    "xls": (FormatCategory.SPREADSHEET, "XLSX 电子表格"),
    "doc": (FormatCategory.DOCUMENT, "OFD 版式电子证照"),
    "api": (FormatCategory.INTERFACE, "RESTful 接口（JSON）"),
    "stream": (FormatCategory.STREAMING, "MQTT 实时数据流"),
    "img": (FormatCategory.IMAGE, "GeoTIFF 栅格影像"),
}
_MODES = {
    "q": DeliveryMode.QUERY,
    "v": DeliveryMode.VERIFY,
    "b": DeliveryMode.BATCH,
    "f": DeliveryMode.FEED,
    "l": DeliveryMode.FILE,
}
_SHARE = {
    "U": ShareCategory.UNCONDITIONAL,
    "C": ShareCategory.CONDITIONAL,
    "N": ShareCategory.NOT_SHARED,
}
_OPEN = {"O": OpenCategory.OPEN, "R": OpenCategory.OPEN_ON_REQUEST, "X": OpenCategory.CLOSED}
_BASE_TAGS = {
    BaseKind.POPULATION: "人口",
    BaseKind.LEGAL_ENTITY: "法人",
    BaseKind.GEO: "空间地理",
    BaseKind.LICENCE: "电子证照",
    BaseKind.CREDIT: "社会信用",
}


# The basis recorded for conditional sharing (only NX-37.1 requires one; the others accept it).
_PIPL = (
    "law",
    "国家机关为履行法定职责处理个人信息，应当依照法律、行政法规规定的权限、程序进行，"
    "不得超出履行法定职责所必需的范围和限度。",
    "《中华人民共和国个人信息保护法》第三十四条",
)
_STATE_COUNCIL_51 = (
    "central_policy",
    "可提供给相关政务部门共享使用或仅能够部分提供给所有政务部门共享使用的政务信息资源"
    "属于有条件共享类。",
    "《政务信息资源共享管理暂行办法》（国发〔2016〕51号）第九条",
)
# Items that make a resource hold personal information of natural persons.
_PRIVATE = frozenset({"complainant", "applicant", "mortgagor", "payer_name"})
_REVIEW_MONTH = "2025年12月"


def _is_personal(items: list[DataItemInput]) -> bool:
    return any(i.sensitivity == SensitivityKind.ID_CARD.value or i.code in _PRIVATE for i in items)


def _foreign_keys(dept: str, items: list[DataItemInput]) -> list[tuple[str, str, list[str]]]:
    """(source department, base database, item names) of items another department is the
    source of."""
    out = []
    for owner, library, keys in _BASE_SOURCES:
        names = [i.name for i in items if i.code in keys]
        if names and owner != dept:
            out.append((owner, library, names))
    return out


def _justification(spec: Spec, items: list[DataItemInput]) -> str:
    """一数一源 (SQ-15): the statement a cataloguer files for items that other departments'
    resources also hold. Every demo entry carries one, since generic items (dates,
    addresses) and association keys recur across departments."""
    parts = [
        f"{'、'.join(names)}以{library}（{owner}）为准，仅作关联键，不另行采集"
        for owner, library, names in _foreign_keys(spec.dept, items)
    ]
    own = [
        i.name
        for owner, _, keys in _BASE_SOURCES
        if owner == spec.dept
        for i in items
        if i.code in keys
    ]
    if own:
        parts.append(f"{'、'.join(own)}由本部门作为权威来源采集，其他部门的同名信息项以本部门为准")
    contact = [i.name for i in items if i.code in _CONTACT]
    if contact:
        parts.append(f"{'、'.join(contact)}为办理业务时当事人填报的联系信息，仅用于本业务")
    parts.append(
        "其余信息项由本部门在履行法定职责中产生"
        if parts
        else "信息项均由本部门在履行法定职责中产生，与其他部门资源的同名通用信息项不属重复采集"
    )
    return "；".join(parts)


def _base_items(spec: Spec, items: list[DataItemInput]) -> list[DataItemInput]:
    """In a base resource every item is a base information item (基础信息项, SQ-10.2)
    except the association keys of another base database."""
    foreign = {n for _, _, names in _foreign_keys(spec.dept, items) for n in names}
    return [i if i.name in foreign else replace(i, base_item=True) for i in items]


def build_entry(spec: Spec, department_id: str) -> EntryInput:
    """The full catalog entry of one shorthand spec (pure, no database)."""
    items = [ITEMS[c] for c in spec.items.split()]
    share = _SHARE[spec.share]
    opened = _OPEN[spec.open]
    personal = _is_personal(items)
    classification, base_kind, theme = Classification.DEPARTMENT, None, ""
    if spec.kind.startswith("B:"):
        classification, base_kind = Classification.BASE, BaseKind(spec.kind[2:])
        items = _base_items(spec, items)
    elif spec.kind.startswith("T:"):
        classification, theme = Classification.THEME, spec.kind[2:]
    cycle, timeliness = _CYCLES[spec.cycle]
    fmt, fmt_type = _FORMATS[spec.fmt]
    modes = spec.modes or {"U": "qb", "C": "qv", "N": ""}[spec.share]
    tags = [_BASE_TAGS[base_kind] if base_kind else theme, *spec.tags.split()]
    basis_type = basis_text = basis_ref = reasons = sign_off = ""
    scope, conditions = "全市政务部门", "无"
    if share is ShareCategory.NOT_SHARED:
        basis_type, basis_text, basis_ref, reasons = NOT_SHARED[spec.name]
        sign_off = f"{spec.dept}主要负责人审签同意（{_REVIEW_MONTH}）"
        scope, conditions, modes = "不予共享", "依法不予共享", ""
    elif share is ShareCategory.CONDITIONAL:
        basis_type, basis_text, basis_ref = _PIPL if personal else _STATE_COUNCIL_51
        scope = "因履行法定职责需要的政务部门"
        conditions = spec.conditions or (
            "使用部门经平台提交申请，说明履职依据和用途，经提供部门同意后按最小必要原则使用，"
            "不得向第三方提供"
            if personal
            else "仅向承担相关监管职责的部门提供，使用部门经平台申请并说明用途"
        )
    open_conditions = open_basis = ""
    open_review = f"{_REVIEW_MONTH}经政务公开审查，不涉及国家秘密、商业秘密和个人隐私"
    if opened is OpenCategory.OPEN_ON_REQUEST:
        open_conditions = spec.open_conditions or (
            "申请人在宿迁市公共数据开放平台实名注册，说明用途并签署数据利用协议后开放"
        )
        open_basis = "《中华人民共和国数据安全法》第四十二条"
        open_review = f"{_REVIEW_MONTH}经政务公开审查，可依申请开放"
    elif opened is OpenCategory.CLOSED:
        open_basis = "《中华人民共和国政府信息公开条例》（2019年修订）" + (
            "第十五条（涉及个人隐私）" if personal else "第十六条（内部管理信息）"
        )
        open_review = f"{_REVIEW_MONTH}经政务公开审查，不予开放"
    return EntryInput(
        name=spec.name,
        classification=classification,
        provider_department_id=department_id,
        summary=spec.summary,
        base_kind=base_kind,
        theme=theme,
        format_category=fmt,
        format_type=fmt_type,
        update_cycle=cycle,
        timeliness=timeliness,
        share_category=share,
        share_scope=scope,
        share_conditions=conditions,
        share_basis_type=basis_type,
        share_basis_text=basis_text,
        share_basis_ref=basis_ref,
        not_shared_reasons=reasons,
        head_sign_off=sign_off,
        delivery_modes=tuple(_MODES[m] for m in modes),
        usage_requirements=(
            "仅用于本部门依法履职，按最小必要原则使用，涉及个人信息的须脱敏展示，"
            "不得向第三方提供或用于其他目的"
            if personal
            else "仅用于本部门依法履职，不得向第三方提供或用于其他目的"
        ),
        open_category=opened,
        open_conditions=open_conditions,
        open_basis=open_basis,
        open_review=open_review,
        confidentiality_review=f"{_REVIEW_MONTH}经{spec.dept}保密审查，不涉及国家秘密",
        grade="三级（敏感）" if personal else "一级（一般）",
        tags=tuple(dict.fromkeys(t for t in tags if t)),
        single_source_justification=_justification(spec, items),
        data_items=tuple(items),
    )


# Seeding ---------------------------------------------------------------------------------
def seed_demo_catalog(
    db: Database,
    profiles: Mapping[str, RuleProfile],
    *,
    reviewer: Actor,
    editors: Mapping[str, Actor] | None = None,
    default_editor: Actor | None = None,
) -> int:
    """Draft, submit and approve every demo resource; returns how many were published now.

    ``editors`` maps a department's short name to the user who compiles its catalog;
    the other departments' entries are compiled by ``default_editor`` (the seeding
    system actor). ``reviewer`` is the data authority's admin who approves them.
    """
    editors = editors or {}
    fallback = default_editor or Actor.system("demo-seed")
    with db.read() as conn:
        depts = {d.short_name: d.id for d in identity_queries.list_departments(conn)}
        rows = conn.execute(
            select(
                resource_version.c.id,
                resource_version.c.name,
                resource_version.c.provider_department_id,
                resource_version.c.state,
            ).join(resource, resource.c.id == resource_version.c.resource_id)
        ).all()
    existing: dict[tuple[str, str], dict[str, str]] = {}
    for r in rows:
        existing.setdefault((r.provider_department_id, r.name), {})[r.state] = r.id
    published = 0
    for spec in SPECS:
        dept_id = depts[spec.dept]
        editor = editors.get(spec.dept, fallback)
        states = existing.get((dept_id, spec.name), {})
        if VersionState.PUBLISHED.value in states:
            continue
        version_id = states.get(VersionState.SUBMITTED.value)
        if version_id is None:
            version_id = states.get(VersionState.DRAFT.value) or states.get(
                VersionState.RETURNED.value
            )
            if version_id is None:
                version_id = services.create_draft(
                    db, profiles, build_entry(spec, dept_id), actor=editor
                ).id
            services.submit(db, profiles, version_id, actor=editor)
        services.review(
            db,
            version_id,
            ReviewDecision.APPROVE,
            actor=reviewer,
            comment="目录要素齐全，分类和共享属性符合规定，同意发布",
        )
        published += 1
    return published
