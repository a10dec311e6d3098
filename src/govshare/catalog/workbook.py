"""The layout of the catalog workbook: sheets, columns, the Chinese labels of the enums,
and the writer shared by the import template and the catalog export.

One layout serves both, so that an exported catalog re-imports unchanged. Enum columns
carry drop-down lists (data validation) in Chinese; 说明 explains every column and the
rules of the jurisdiction's profile. Text that a spreadsheet would take for a formula
(starting with ``= + - @``) is written as text with a leading apostrophe.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.datavalidation import DataValidation  # type: ignore[import-untyped]

from govshare.catalog.model import DataItemInput, EntryInput
from govshare.catalog.standards import normalise
from govshare.catalog.validation import BASIS_LABELS
from govshare.identity.model import Department
from govshare.rules import RuleProfile

SHEET_ENTRIES = "目录条目"
SHEET_ITEMS = "信息项"
SHEET_HELP = "说明"
SHEET_LISTS = "选项"  # hidden: the values of the longer drop-down lists

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Limits on an uploaded workbook.
MAX_BYTES = 10 * 1024 * 1024  # the file as uploaded
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # the sum of its zip members, unpacked
MAX_ENTRIES = 5_000
MAX_ITEMS = 100_000
MAX_CELL_CHARS = 4_000
MAX_EXTRA_COLUMNS = 20  # read past the known columns, for unknown-header errors
MAX_ERRORS = 2_000  # reported; the count of all errors is always given

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# Vocabularies: the Chinese labels of the enums ------------------------------------------
@dataclass(frozen=True)
class Vocab:
    """The Chinese label of every code of an enum, plus other spellings the import accepts
    (the English code itself is always accepted)."""

    labels: Mapping[str, str]
    aliases: Mapping[str, str] = field(default_factory=dict)

    def label(self, code: str) -> str:
        return self.labels.get(code, code)

    def parse(self, text: str) -> str | None:
        key = normalise(text)
        for code, label in self.labels.items():
            if key in (normalise(code), normalise(label)):
                return code
        for alias, code in self.aliases.items():
            if key == normalise(alias):
                return code
        return None

    def options(self, allowed: Iterable[str] | None = None) -> list[str]:
        keep = None if allowed is None else set(allowed)
        return [v for k, v in self.labels.items() if keep is None or k in keep]


CLASSIFICATIONS = Vocab(
    {"base": "基础", "theme": "主题", "department": "部门"},
    {"基础信息资源": "base", "主题信息资源": "theme", "部门信息资源": "department"},
)
BASE_KINDS = Vocab(
    {
        "population": "人口",
        "legal_entity": "法人",
        "geo": "自然资源和空间地理",
        "licence": "电子证照",
        "credit": "社会信用",
        "macro_economy": "宏观经济",
    },
    {"人口库": "population", "法人库": "legal_entity", "公共信用": "credit"},
)
FORMATS = Vocab(
    {
        "spreadsheet": "电子表格",
        "database": "数据库",
        "document": "电子文件",
        "image": "图形图像",
        "streaming": "流媒体",
        "interface": "接口",
        "other": "其他",
    }
)
UPDATE_CYCLES = Vocab(
    {
        "realtime": "实时",
        "daily": "每日",
        "weekly": "每周",
        "monthly": "每月",
        "quarterly": "每季度",
        "yearly": "每年",
        "irregular": "不定期",
    },
    {"每天": "daily", "每季": "quarterly", "每年度": "yearly", "按需": "irregular"},
)
SHARE_CATEGORIES = Vocab(
    {"unconditional": "无条件共享", "conditional": "有条件共享", "not_shared": "不予共享"},
    {"无条件": "unconditional", "有条件": "conditional", "条件共享": "conditional"},
)
DELIVERY_MODES = Vocab(
    {"query": "联机查询", "verify": "核验", "batch": "批量交换", "feed": "订阅", "file": "文件"},
    {
        "接口": "query",
        "接口调用": "query",
        "数据核验": "verify",
        "库表": "batch",
        "批量下载": "batch",
        "库表交换": "batch",
        "增量": "feed",
        "增量订阅": "feed",
        "证照": "file",
        "文件下载": "file",
    },
)
OPEN_CATEGORIES = Vocab(
    {"open": "无条件开放", "open_on_request": "依申请开放", "closed": "不予开放"},
    {
        "有条件开放": "open_on_request",
        "依法不予开放": "closed",
        "不开放": "closed",
        "无条件": "open",
    },
)
BASIS_TYPES = Vocab(BASIS_LABELS)
ITEM_TYPES = Vocab(
    {
        "string": "字符串",
        "integer": "整数",
        "decimal": "小数",
        "date": "日期",
        "datetime": "日期时间",
        "boolean": "布尔",
        "code": "代码",
    },
    {"字符型": "string", "文本": "string", "数值": "decimal", "日期型": "date", "代码表": "code"},
)
IDENTIFIERS = Vocab(
    {
        "none": "无",
        "id_card": "身份证号",
        "uscc": "统一社会信用代码",
        "org_code": "组织机构代码",
    },
    {
        "公民身份号码": "id_card",
        "有效身份证件号码": "id_card",
        "身份证号码": "id_card",
        "否": "none",
    },
)
SENSITIVITIES = Vocab(
    {
        "none": "无",
        "id_card": "身份证号",
        "name": "姓名",
        "mobile": "手机号",
        "bank_card": "银行卡号",
        "address": "地址",
        "email": "电子邮箱",
        "uscc": "统一社会信用代码",
        "secret": "密钥口令",
    },
    {"手机号码": "mobile", "移动电话": "mobile", "邮箱": "email", "不敏感": "none"},
)
COLLECTION_BASES = Vocab(
    {"none": "无", "law": "法律法规规定", "consent": "当事人同意"},
    {"法律法规": "law", "法律": "law", "法定": "law", "同意": "consent"},
)
BOOLEANS = Vocab({"true": "是", "false": "否"}, {"y": "true", "yes": "true", "1": "true"})


# Columns ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    header: str
    field: str  # the EntryInput / DataItemInput field, or "ref" / "entry_ref"
    kind: str  # text | enum | modes | bool | int | departments | codes | tags | ref
    help_zh: str
    vocab: Vocab | None = None
    width: int = 16
    strict: bool = True  # the drop-down refuses other values (multi-valued ones do not)


ENTRY_COLUMNS: tuple[Column, ...] = (
    Column(
        "序号",
        "ref",
        "ref",
        "条目序号，信息项工作表用它指向本条目；可留空（则按资源名称指向）",
        width=8,
    ),
    Column("资源名称", "name", "text", "信息资源名称", width=28),
    Column("资源分类", "classification", "enum", "基础、主题或部门信息资源", CLASSIFICATIONS),
    Column("基础库类别", "base_kind", "enum", "基础信息资源所属的基础库", BASE_KINDS),
    Column("主题", "theme", "text", "主题信息资源的主题名称"),
    Column("内部处室", "internal_division", "text", "提供部门内负责该资源的处室"),
    Column("摘要", "summary", "text", "资源内容的简要说明", width=36),
    Column("数据格式", "format_category", "enum", "数据格式分类", FORMATS),
    Column("格式类型", "format_type", "text", "具体格式，如关系型数据库表、XLSX、PDF"),
    Column("更新周期", "update_cycle", "enum", "数据更新的周期", UPDATE_CYCLES),
    Column("时效要求", "timeliness", "text", "如 T+1、实时"),
    Column("共享类别", "share_category", "enum", "共享属性", SHARE_CATEGORIES),
    Column("共享范围", "share_scope", "text", "可以共享给哪些部门", width=24),
    Column("共享条件", "share_conditions", "text", "有条件共享的条件", width=24),
    Column("依据类型", "share_basis_type", "enum", "限制共享的法律或政策依据的类型", BASIS_TYPES),
    Column("依据条文", "share_basis_text", "text", "依据的条文内容", width=30),
    Column("依据文号", "share_basis_ref", "text", "依据的文件名称和文号", width=24),
    Column("不予共享理由", "not_shared_reasons", "text", "不予共享的充分、合理理由", width=24),
    Column("负责人审签", "head_sign_off", "text", "部门主要负责人审签情况（姓名和日期）"),
    Column(
        "共享方式",
        "delivery_modes",
        "modes",
        "可多选，用逗号分隔：联机查询、核验、批量交换、订阅、文件",
        DELIVERY_MODES,
        strict=False,
    ),
    Column("使用要求", "usage_requirements", "text", "使用者须遵守的要求", width=24),
    Column(
        "专用部门",
        "dedicated_department_ids",
        "departments",
        "“专用”资源直接使用的部门，填统一社会信用代码，多个用逗号分隔",
        width=24,
    ),
    Column(
        "开放属性", "open_category", "enum", "向社会开放的属性；留空为不予开放", OPEN_CATEGORIES
    ),
    Column("开放条件", "open_conditions", "text", "依申请开放的条件", width=24),
    Column("开放依据", "open_basis", "text", "依申请开放或不予开放的依据", width=24),
    Column("开放审查", "open_review", "text", "政务公开审查情况，或权利人同意、公共利益依据"),
    Column(
        "涉及国家秘密", "involves_state_secret", "bool", "是或否；涉密资源不得编入目录", BOOLEANS
    ),
    Column(
        "保密审查", "confidentiality_review", "text", "本部门保密审查的情况（日期和结论）", width=24
    ),
    Column("分级", "grade", "text", "数据分级"),
    Column("应用场景", "release_scenarios", "text", "发布审核确定的应用场景"),
    Column("使用者", "release_consumers", "text", "发布审核确定的使用者身份"),
    Column("地域", "release_region", "text", "发布审核确定的地域范围"),
    Column("知悉范围", "release_knowledge_scope", "text", "发布审核确定的知悉范围"),
    Column("使用范围", "release_usage_scope", "text", "发布审核确定的使用范围"),
    Column(
        "需签安全协议", "security_agreement_required", "bool", "使用者是否须签订安全协议", BOOLEANS
    ),
    Column("标签", "tags", "tags", "检索用关键词，多个用逗号分隔"),
    Column("关联资源代码", "related_codes", "codes", "已登记资源的资源代码，多个用逗号分隔"),
    Column(
        "一数一源说明",
        "single_source_justification",
        "text",
        "信息项已由其他部门提供时，说明另行采集的理由",
        width=24,
    ),
)
ITEM_COLUMNS: tuple[Column, ...] = (
    Column("所属资源", "entry_ref", "ref", "所属条目的序号或资源名称", width=14),
    Column("信息项名称", "name", "text", "如 姓名、公民身份号码", width=20),
    Column("英文代码", "code", "text", "小写字母开头，字母、数字、下划线", width=18),
    Column("数据类型", "type", "enum", "数据类型", ITEM_TYPES),
    Column("长度", "length", "int", "最大长度（正整数）", width=8),
    Column("说明", "description", "text", "信息项的含义", width=24),
    Column("必填", "required", "bool", "是或否", BOOLEANS, width=8),
    Column("标识类型", "identifier", "enum", "身份证号、统一社会信用代码等标识项", IDENTIFIERS),
    Column("敏感类型", "sensitivity", "enum", "用于脱敏的敏感类型", SENSITIVITIES),
    Column("代码表", "code_list", "text", "代码型信息项所用的代码表，如 GB/T 2261.1"),
    Column("基础信息项", "base_item", "bool", "是否为基础信息项", BOOLEANS, width=10),
    Column("采集依据", "collection_basis", "enum", "法律法规规定或当事人同意", COLLECTION_BASES),
    Column("采集依据说明", "collection_basis_text", "text", "法律条文或同意记录", width=24),
)
# Columns an export adds after the template's; the import reads past them.
EXPORT_COLUMNS: tuple[str, ...] = (
    "资源代码",
    "版本",
    "提供部门",
    "提供部门统一社会信用代码",
    "状态",
    "发布时间",
)
# Other headers the import understands (the wording of the measures and of older templates).
ENTRY_HEADER_ALIASES = {
    "信息资源名称": "资源名称",
    "数据名称": "资源名称",
    "信息名称": "资源名称",
    "分类": "资源分类",
    "基础库": "基础库类别",
    "内部部门": "内部处室",
    "更新频度": "更新周期",
    "更新时限": "更新周期",
    "共享类型": "共享类别",
    "共享属性": "共享类别",
    "提供方式": "共享方式",
    "可否向社会开放": "开放属性",
}
ITEM_HEADER_ALIASES = {
    "资源序号": "所属资源",
    "所属资源序号": "所属资源",
    "序号": "所属资源",
    "资源名称": "所属资源",
    "名称": "信息项名称",
    "类型": "数据类型",
}
REQUIRED_ENTRY_HEADERS = ("资源名称", "资源分类")
REQUIRED_ITEM_HEADERS = ("所属资源", "信息项名称", "英文代码")

ENTRY_BY_FIELD = {c.field: c for c in ENTRY_COLUMNS}
ITEM_BY_FIELD = {c.field: c for c in ITEM_COLUMNS}


# Writing (template and export) -----------------------------------------------------
@dataclass(frozen=True)
class SheetEntry:
    """One entry to write: the entry and the export's informational columns."""

    entry: EntryInput
    extras: Mapping[str, str] = field(default_factory=dict)


def escape_cell(value: str) -> str:
    """Text that a spreadsheet would take for a formula gets a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def unescape_cell(value: str) -> str:
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def _label(col: Column, value: Any) -> str:
    if value in (None, "") or col.vocab is None:
        return ""
    return col.vocab.label(str(getattr(value, "value", value)))


def _entry_cells(entry: EntryInput, departments: Mapping[str, Department]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in ENTRY_COLUMNS:
        if col.field == "ref":
            continue
        value = getattr(entry, col.field)
        if col.kind == "bool":
            out[col.field] = "是" if value else "否"
        elif col.kind == "enum":
            out[col.field] = _label(col, value)
        elif col.kind == "modes":
            out[col.field] = ",".join(DELIVERY_MODES.label(m.value) for m in value)
        elif col.kind == "departments":
            out[col.field] = ",".join(departments[d].uscc if d in departments else d for d in value)
        elif col.kind in ("tags", "codes"):
            out[col.field] = ",".join(value)
        else:
            out[col.field] = value or ""
    return out


def _item_cells(item: DataItemInput) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in ITEM_COLUMNS:
        if col.field == "entry_ref":
            continue
        value = getattr(item, col.field)
        if col.kind == "bool":
            out[col.field] = "是" if value else "否"
        elif col.kind == "enum":
            out[col.field] = _label(col, value)
        elif col.kind == "int":
            out[col.field] = value
        else:
            out[col.field] = value or ""
    return out


class _Writer:
    """A write-only workbook (constant memory, so a whole catalog exports)."""

    def __init__(self) -> None:
        self.wb = Workbook(write_only=True)
        self.bold = Font(bold=True)
        self.fill = PatternFill("solid", fgColor="DDEBF7")
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.lists: list[list[str]] = []

    def header(self, ws: Any, headers: Sequence[str]) -> None:
        cells = []
        for h in headers:
            c = WriteOnlyCell(ws, value=h)
            c.font = self.bold
            c.fill = self.fill
            cells.append(c)
        ws.append(cells)

    def row(self, ws: Any, values: Sequence[Any]) -> None:
        cells = []
        for v in values:
            if isinstance(v, str):
                c = WriteOnlyCell(ws, value=escape_cell(v))
                c.data_type = "s"  # never a formula, whatever the text
            else:
                c = WriteOnlyCell(ws, value=v)
            cells.append(c)
        ws.append(cells)

    def dropdown(
        self, ws: Any, col_idx: int, options: Sequence[str], rows: int, strict: bool
    ) -> None:
        if not options:
            return
        inline = ",".join(options)
        if len(inline) <= 250 and "," not in "".join(options):
            formula = f'"{inline}"'
        else:
            self.lists.append(list(options))
            letter = get_column_letter(len(self.lists))
            formula = f"'{SHEET_LISTS}'!${letter}$2:${letter}${len(options) + 1}"
        dv = DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showErrorMessage=strict,
            errorTitle="取值无效" if strict else None,
            error="请从下拉列表中选择" if strict else None,
        )
        letter = get_column_letter(col_idx)
        dv.add(f"{letter}2:{letter}{rows + 1}")
        ws.data_validations.append(dv)

    def save(self) -> bytes:
        if self.lists:
            ws = self.wb.create_sheet(SHEET_LISTS)
            ws.sheet_state = "hidden"
            depth = max(len(x) for x in self.lists)
            ws.append([f"列表{i + 1}" for i in range(len(self.lists))])
            for r in range(depth):
                ws.append([x[r] if r < len(x) else None for x in self.lists])
        buf = io.BytesIO()
        self.wb.save(buf)
        return buf.getvalue()


def _options(col: Column, profile: RuleProfile | None) -> list[str]:
    assert col.vocab is not None
    if profile is None:
        return col.vocab.options()
    allowed: Iterable[str] | None = None
    if col.field == "share_category":
        allowed = profile.share_categories
    elif col.field == "delivery_modes":
        allowed = profile.delivery.modes
    elif col.field == "open_category":
        od = profile.open_data
        allowed = ["closed"] if od.public_release_forbidden else (od.categories or None)
    elif col.field == "share_basis_type":
        allowed = profile.classification.basis.accepted_types or None
    elif col.field == "base_kind":
        allowed = profile.catalog.base_kinds or None
    return col.vocab.options(allowed)


def write_workbook(
    profile: RuleProfile | None,
    entries: Iterable[SheetEntry] = (),
    *,
    departments: Mapping[str, Department] | None = None,
    extra_headers: Sequence[str] = (),
) -> bytes:
    """The template's layout, filled with ``entries`` (none for the blank template).
    ``profile`` narrows the drop-down lists and writes its rules into 说明; None (an
    export across jurisdictions) offers every value."""
    depts = departments or {}
    w = _Writer()
    ws_e = w.wb.create_sheet(SHEET_ENTRIES)
    ws_i = w.wb.create_sheet(SHEET_ITEMS)
    for ws, cols, extra in ((ws_e, ENTRY_COLUMNS, extra_headers), (ws_i, ITEM_COLUMNS, ())):
        for i, col in enumerate(cols, start=1):
            ws.column_dimensions[get_column_letter(i)].width = col.width
        for j, _ in enumerate(extra, start=len(cols) + 1):
            ws.column_dimensions[get_column_letter(j)].width = 16
        ws.freeze_panes = "B2"
    for ws, cols, rows in ((ws_e, ENTRY_COLUMNS, MAX_ENTRIES), (ws_i, ITEM_COLUMNS, MAX_ITEMS)):
        for i, col in enumerate(cols, start=1):
            if col.vocab is not None:
                w.dropdown(ws, i, _options(col, profile), rows, col.strict)
        if cols is ENTRY_COLUMNS and profile is not None and profile.catalog.themes:
            w.dropdown(ws, _column_index(cols, "theme"), profile.catalog.themes, rows, False)
    w.header(ws_e, [c.header for c in ENTRY_COLUMNS] + list(extra_headers))
    w.header(ws_i, [c.header for c in ITEM_COLUMNS])
    item_rows: list[list[Any]] = []
    for n, se in enumerate(entries, start=1):
        cells = _entry_cells(se.entry, depts)
        w.row(
            ws_e,
            [n]
            + [cells[c.field] for c in ENTRY_COLUMNS[1:]]
            + [se.extras.get(h, "") for h in extra_headers],
        )
        for item in se.entry.data_items:
            ic = _item_cells(item)
            item_rows.append([n] + [ic[c.field] for c in ITEM_COLUMNS[1:]])
    # Write-only sheets are written in order, so the items follow once all entries are out.
    for r in item_rows:
        w.row(ws_i, r)
    _write_help(w, profile)
    return w.save()


def _column_index(cols: Sequence[Column], name: str) -> int:
    return next(i for i, c in enumerate(cols, start=1) if c.field == name)


def _required_headers(profile: RuleProfile | None) -> set[str]:
    req = {"资源名称", "资源分类", "共享类别"}
    if profile is None:
        return req
    by_key = {
        "name": "资源名称",
        "summary": "摘要",
        "classification": "资源分类",
        "format_category": "数据格式",
        "update_cycle": "更新周期",
        "timeliness": "时效要求",
        "share_category": "共享类别",
        "share_scope": "共享范围",
        "share_conditions": "共享条件",
        "delivery_modes": "共享方式",
        "open_category": "开放属性",
        "usage_requirements": "使用要求",
    }
    req |= {by_key[k] for k in profile.catalog.required_fields if k in by_key}
    if profile.security.confidentiality_review_required:
        req.add("保密审查")
    if profile.security.release_review_required:
        req |= {"分级", "应用场景", "使用者", "地域", "知悉范围", "使用范围"}
    if profile.catalog.item_collection_basis_required:
        req |= {"采集依据", "采集依据说明"}
    return req | {"所属资源", "信息项名称", "英文代码", "数据类型"}


def _rules_zh(profile: RuleProfile | None) -> list[str]:
    out = [
        "每行一个目录条目（“目录条目”工作表）；每行一个信息项（“信息项”工作表），"
        "用“所属资源”填写所属条目的序号或资源名称。",
        "导入时逐行校验；只要有一处错误，全部条目都不导入，并列出每处错误的工作表、行号和列名。",
        "请勿使用公式；以 = + - @ 开头的内容一律按文本处理。",
        "涉及国家秘密的信息资源不得编入目录（平台仅处理非涉密数据）。",
        f"单个文件不超过 {MAX_BYTES // (1024 * 1024)} MB，条目不超过 {MAX_ENTRIES} 行，"
        f"信息项不超过 {MAX_ITEMS} 行，单元格不超过 {MAX_CELL_CHARS} 字。",
    ]
    if profile is None:
        return out
    out.insert(0, f"本模板按“{profile.title_zh}”的规则生成。")
    basis = profile.classification.basis
    if basis.required_for:
        cats = "、".join(SHARE_CATEGORIES.label(c) for c in basis.required_for)
        types = "、".join(BASIS_LABELS.get(t, t) for t in basis.accepted_types)
        out.append(f"“{cats}”须填写依据类型（{types}）、依据条文和依据文号。")
    if basis.department_internal_rules_rejected:
        out.append("部门内部管理办法不能作为不予共享的依据。")
    if basis.reasons_required:
        out.append("不予共享须填写不予共享理由。")
    if basis.head_sign_off_required:
        out.append("不予共享须填写部门主要负责人审签情况。")
    if "not_shared" not in profile.share_categories:
        out.append("本地规则只有无条件共享和有条件共享两类。")
    if profile.classification.base_must_be_unconditional:
        out.append("基础信息资源必须无条件共享。")
    if profile.sharing.dedicated_resources:
        out.append("“专用”资源在“专用部门”列填写可直接使用的部门的统一社会信用代码。")
    if profile.open_data.public_release_forbidden:
        out.append("共享数据不得向社会公开，开放属性只能为“不予开放”。")
    else:
        out.append("依申请开放须填写开放条件。")
    if profile.catalog.item_collection_basis_required:
        out.append("每个信息项须填写采集依据（法律法规规定或当事人同意）及其说明。")
    if profile.security.confidentiality_review_required:
        out.append("提交审核前须填写本部门保密审查情况。")
    if profile.security.release_review_required:
        out.append(
            "发布前须完成分类分级和发布审核：分级、应用场景、使用者、地域、知悉范围、使用范围。"
        )
    return out


def _write_help(w: _Writer, profile: RuleProfile | None) -> None:
    ws = w.wb.create_sheet(SHEET_HELP)
    for letter, width in zip("ABCDE", (18, 10, 10, 50, 60), strict=True):
        ws.column_dimensions[letter].width = width
    w.header(ws, ["填写规则"])
    for line in _rules_zh(profile):
        w.row(ws, [line])
    w.row(ws, [])
    w.header(ws, ["列名", "工作表", "是否必填", "填写说明", "可选值"])
    required = _required_headers(profile)
    for sheet, cols in ((SHEET_ENTRIES, ENTRY_COLUMNS), (SHEET_ITEMS, ITEM_COLUMNS)):
        for col in cols:
            opts = "、".join(_options(col, profile)) if col.vocab is not None else ""
            w.row(
                ws, [col.header, sheet, "是" if col.header in required else "", col.help_zh, opts]
            )
