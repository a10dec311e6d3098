"""The all-or-nothing import of catalog entries from the XLSX template (issue 3, §6).

:func:`build_template` writes the template (layout in :mod:`govshare.catalog.workbook`);
:func:`import_workbook` reads a filled one back, validates every row with the same rules
as the editor (:func:`govshare.catalog.validation.check_entry`) plus the department and
resource-code lookups, and either creates every entry in one transaction or raises
:class:`ImportFailed` with the complete list of errors, each naming the sheet, the row and
the column (``ImportFailed.errors``; as dicts in ``extra["errors"]`` for JSON and pages).

Uploaded files are untrusted: the size, the unpacked size, the number of rows and the
length of every cell are limited; the workbook is opened in read-only mode and its
declared dimensions are ignored; XML with a DOCTYPE is refused; formula cells are refused,
never evaluated. Text that merely starts with ``= + - @`` is text (an export writes it
with a leading apostrophe, which the import strips again).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import Connection, String, Table, select

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import services
from govshare.catalog.model import (
    BaseKind,
    Classification,
    CollectionBasis,
    DataItemInput,
    DeliveryMode,
    EntryInput,
    FormatCategory,
    IdentifierKind,
    ItemType,
    OpenCategory,
    ShareCategory,
    UpdateCycle,
)
from govshare.catalog.standards import element_for, normalise
from govshare.catalog.tables import data_item as data_item_table
from govshare.catalog.tables import resource, resource_version
from govshare.catalog.validation import Problem, check_entry
from govshare.catalog.workbook import (
    BOOLEANS,
    ENTRY_BY_FIELD,
    ENTRY_COLUMNS,
    ENTRY_HEADER_ALIASES,
    EXPORT_COLUMNS,
    ITEM_BY_FIELD,
    ITEM_COLUMNS,
    ITEM_HEADER_ALIASES,
    MAX_BYTES,
    MAX_CELL_CHARS,
    MAX_ENTRIES,
    MAX_EXTRA_COLUMNS,
    MAX_ITEMS,
    MAX_UNPACKED_BYTES,
    REQUIRED_ENTRY_HEADERS,
    REQUIRED_ITEM_HEADERS,
    SHEET_ENTRIES,
    SHEET_ITEMS,
    Column,
    unescape_cell,
    write_workbook,
)
from govshare.identity import queries as identity_queries
from govshare.identity.model import Department
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor
from govshare.kernel.errors import DomainError, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.kernel.masking import SensitivityKind
from govshare.rules import RuleProfile
from govshare.storage.engine import Database

Profiles = Mapping[str, RuleProfile]

MAX_ERRORS = 2_000  # reported in full up to this many; the count of all is always given
_ITEM_FIELD_RE = re.compile(r"^data_items\[(\d+)\]\.(\w+)$")
_FALSE = {"n", "no", "0", "×"}
_TRUE = {"√", "✓"}


def build_template(profile: RuleProfile | None) -> bytes:
    """The blank import template for a jurisdiction's rule profile (None: every value)."""
    return write_workbook(profile)


def _max_len(table: Table, name: str) -> int:
    col = table.c.get(name)
    if col is not None and isinstance(col.type, String) and col.type.length:
        return min(int(col.type.length), MAX_CELL_CHARS)
    return MAX_CELL_CHARS


# Errors ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RowError:
    """One problem in an uploaded workbook. ``row`` is the spreadsheet row number (the
    header is row 1); ``column`` the column header. Both are None for a file-level error."""

    sheet: str | None
    row: int | None
    column: str | None
    code: str
    message_zh: str
    message_en: str
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "field": self.field,
        }


class ImportFailed(ValidationFailed):
    """Nothing was imported; ``errors`` (and ``extra["errors"]``, as dicts) lists every
    problem found, in sheet and row order."""

    code = "catalog_import_failed"

    def __init__(self, errors: Sequence[RowError]) -> None:
        ordered = sorted(errors, key=_error_order)
        self.errors: list[RowError] = ordered[:MAX_ERRORS]
        n = len(ordered)
        super().__init__(
            f"导入失败：发现{n}处错误，未导入任何条目",
            f"import failed: {n} error(s) found; nothing was imported",
            extra={
                "errors": [e.as_dict() for e in self.errors],
                "error_count": n,
                "truncated": n > len(self.errors),
            },
        )


def _error_order(e: RowError) -> tuple[int, int, int]:
    """File-level errors first, then the entries sheet, then the items; by row, by column."""
    sheet = {None: 0, SHEET_ENTRIES: 1, SHEET_ITEMS: 2}.get(e.sheet, 3)
    cols = ITEM_COLUMNS if e.sheet == SHEET_ITEMS else ENTRY_COLUMNS
    column = next((i for i, c in enumerate(cols) if c.header == e.column), len(cols))
    return sheet, e.row or 0, column


def _file_error(code: str, zh: str, en: str) -> ImportFailed:
    return ImportFailed([RowError(None, None, None, f"catalog_import_{code}", zh, en)])


# Result ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportResult:
    import_id: str
    department_id: str
    codes: tuple[str, ...]
    version_ids: tuple[str, ...]
    item_count: int
    submitted: bool

    @property
    def count(self) -> int:
        return len(self.codes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "department_id": self.department_id,
            "count": self.count,
            "codes": list(self.codes),
            "version_ids": list(self.version_ids),
            "item_count": self.item_count,
            "submitted": self.submitted,
        }


# Reading ---------------------------------------------------------------------------
@dataclass
class _Cell:
    text: str
    raw: Any


@dataclass
class _Row:
    number: int
    cells: dict[str, _Cell]  # by field


def _norm_header(value: Any) -> str:
    text = "" if value is None else str(value)
    text = re.sub(r"[（(][^）)]*[）)]", "", text)
    return re.sub(r"[\s*＊]", "", text)


def _safe_zip(data: bytes) -> None:
    if len(data) > MAX_BYTES:
        raise _file_error(
            "too_large",
            f"文件超过 {MAX_BYTES // (1024 * 1024)} MB",
            f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB",
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _not_xlsx() from exc
    with zf:
        members = zf.infolist()
        if len(members) > 1_000 or sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
            raise _file_error(
                "too_large", "文件解压后过大", "the workbook is too large once unpacked"
            )
        names = {m.filename for m in members}
        if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
            raise _not_xlsx()
        for m in members:
            if m.filename.endswith((".xml", ".rels")):
                try:
                    with zf.open(m) as fh:
                        head = fh.read(4096)
                except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                    raise _not_xlsx() from exc
                if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
                    raise _file_error(
                        "unsafe", "文件含有不安全的 XML 声明", "the workbook holds unsafe XML"
                    )


def _not_xlsx() -> ImportFailed:
    return _file_error(
        "not_xlsx",
        "文件不是有效的 Excel 工作簿（.xlsx），请使用下载的模板",
        "the file is not a valid Excel workbook (.xlsx); use the downloaded template",
    )


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return unescape_cell(str(value).strip())


def _read_sheet(
    ws: Any,
    sheet: str,
    columns: Sequence[Column],
    *,
    limit: int,
    errors: list[RowError],
    aliases: Mapping[str, str],
    required: Sequence[str],
) -> list[_Row]:
    """Rows of ``ws`` as texts by field; header problems and formula cells are errors."""
    ws.reset_dimensions()  # never trust the sheet's declared size
    width = len(columns) + len(EXPORT_COLUMNS) + MAX_EXTRA_COLUMNS
    rows_iter: Iterator[Any] = ws.iter_rows(max_col=width)
    try:
        header = next(rows_iter)
    except StopIteration:
        return []
    by_header = {c.header: c for c in columns}
    for alias, target in aliases.items():
        by_header.setdefault(alias, by_header[target])
    known_extra = set(EXPORT_COLUMNS)
    index: dict[int, Column] = {}
    for i, cell in enumerate(header):
        name = _norm_header(cell.value)
        if not name:
            continue
        col = by_header.get(name)
        if col is None:
            if name not in known_extra:
                errors.append(
                    RowError(
                        sheet,
                        1,
                        str(cell.value),
                        "catalog_import_unknown_column",
                        f"无法识别的列“{cell.value}”，请使用模板中的列名",
                        f"unknown column '{cell.value}'; use the template's headers",
                    )
                )
            continue
        if col in index.values():
            errors.append(
                RowError(
                    sheet,
                    1,
                    col.header,
                    "catalog_import_duplicate_column",
                    f"列“{col.header}”出现了多次",
                    f"the column '{col.header}' appears more than once",
                )
            )
            continue
        index[i] = col
    present = {c.header for c in index.values()}
    for name in required:
        if name not in present:
            errors.append(
                RowError(
                    sheet,
                    1,
                    name,
                    "catalog_import_missing_column",
                    f"缺少列“{name}”",
                    f"the column '{name}' is missing",
                )
            )
    out: list[_Row] = []
    for number, cells in enumerate(rows_iter, start=2):
        if number > 2 * limit + 10_000:  # blank (formatted) rows count too, up to a point
            _too_many(sheet, number, limit, errors)
        row: dict[str, _Cell] = {}
        for i, cell in enumerate(cells):
            col = index.get(i)
            if col is None or cell.value is None:
                continue
            if cell.data_type == "f":
                errors.append(
                    RowError(
                        sheet,
                        number,
                        col.header,
                        "catalog_import_formula",
                        "单元格含有公式，请改为填写数值或文本（公式不会被计算）",
                        "the cell holds a formula; enter a plain value (formulas are never "
                        "evaluated)",
                        col.field,
                    )
                )
                continue
            row[col.field] = _Cell(_cell_text(cell.value), cell.value)
        if not any(c.text for c in row.values()):
            continue
        if len(out) >= limit:
            _too_many(sheet, number, limit, errors)
        out.append(_Row(number, row))
    return out


def _too_many(sheet: str, number: int, limit: int, errors: list[RowError]) -> None:
    errors.append(
        RowError(
            sheet,
            number,
            None,
            "catalog_import_too_many_rows",
            f"“{sheet}”超过 {limit} 行的上限，请分批导入",
            f"'{sheet}' has more than {limit} rows; import it in parts",
        )
    )
    raise ImportFailed(errors)


# Parsing rows into entries -----------------------------------------------------------
@dataclass
class _Draft:
    row: int
    ref: str
    values: dict[str, Any]
    items: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    entry: EntryInput | None = None


class _RowParser:
    """Turns one row's texts into model values, recording an error per bad cell."""

    def __init__(self, sheet: str, row: _Row, errors: list[RowError]) -> None:
        self.sheet, self.row, self.errors = sheet, row, errors

    def error(self, col: Column, code: str, zh: str, en: str) -> None:
        self.errors.append(
            RowError(self.sheet, self.row.number, col.header, f"catalog_{code}", zh, en, col.field)
        )

    def text(self, col: Column, table: Table) -> str:
        cell = self.row.cells.get(col.field)
        value = cell.text if cell else ""
        limit = _max_len(table, col.field)
        if len(value) > limit:
            self.error(
                col,
                "import_too_long",
                f"“{col.header}”超过 {limit} 字",
                f"'{col.header}' is longer than {limit} characters",
            )
            return value[:limit]
        return value

    def enum(self, col: Column, value: str) -> str | None:
        if not value:
            return None
        assert col.vocab is not None
        code = col.vocab.parse(value)
        if code is None:
            allowed = "、".join(col.vocab.labels.values())
            self.error(
                col,
                "import_bad_value",
                f"“{col.header}”的值“{value[:50]}”无效，可选：{allowed}",
                f"'{value[:50]}' is not a valid {col.header}; one of: "
                + ", ".join(col.vocab.labels),
            )
        return code

    def boolean(self, col: Column, value: str) -> bool:
        if not value:
            return False
        key = normalise(value)
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        code = BOOLEANS.parse(value)
        if code is None:
            self.error(
                col,
                "import_bad_value",
                f"“{col.header}”须填“是”或“否”",
                f"'{col.header}' is 是 (yes) or 否 (no)",
            )
            return False
        return code == "true"

    def integer(self, col: Column, cell: _Cell | None) -> int | None:
        if cell is None or not cell.text:
            return None
        raw = cell.raw
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if re.fullmatch(r"\d{1,9}", cell.text):
            return int(cell.text)
        self.error(
            col,
            "import_bad_value",
            f"“{col.header}”须为正整数",
            f"'{col.header}' must be a whole number",
        )
        return None


def _split(value: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,，、;；\n]+", value) if p.strip()]


def _parse_entry(row: _Row, errors: list[RowError]) -> _Draft:
    p = _RowParser(SHEET_ENTRIES, row, errors)
    values: dict[str, Any] = {}
    ref = ""
    for col in ENTRY_COLUMNS:
        text = p.text(col, resource_version)
        if col.kind == "ref":
            ref = text
        elif col.kind == "text":
            values[col.field] = text
        elif col.kind == "enum":
            values[col.field] = p.enum(col, text)
            if col.field == "classification" and not text:
                p.error(
                    col,
                    "field_required",
                    "须填写资源分类（基础、主题或部门）",
                    "give the classification (base, theme or department)",
                )
        elif col.kind == "bool":
            values[col.field] = p.boolean(col, text)
        elif col.kind == "modes":
            modes = [p.enum(col, v) for v in _split(text)]
            values[col.field] = tuple(dict.fromkeys(m for m in modes if m))
        else:  # departments, tags, codes: resolved later where they need a lookup
            values[col.field] = tuple(dict.fromkeys(_split(text)))
    return _Draft(row.number, ref, values)


def _parse_item(row: _Row, errors: list[RowError]) -> tuple[str, dict[str, Any]]:
    p = _RowParser(SHEET_ITEMS, row, errors)
    values: dict[str, Any] = {}
    ref = ""
    for col in ITEM_COLUMNS:
        if col.kind == "int":
            values[col.field] = p.integer(col, row.cells.get(col.field))
            continue
        text = p.text(col, data_item_table)
        if col.kind == "ref":
            ref = text
        elif col.kind == "text":
            values[col.field] = text
        elif col.kind == "enum":
            values[col.field] = p.enum(col, text)
        elif col.kind == "bool":
            values[col.field] = p.boolean(col, text)
    return ref, values


def _to_item(values: Mapping[str, Any]) -> DataItemInput:
    return DataItemInput(
        name=values["name"],
        code=values["code"],
        type=ItemType(values["type"] or ItemType.STRING.value),
        length=values["length"],
        description=values["description"],
        required=values["required"],
        identifier=IdentifierKind(values["identifier"] or IdentifierKind.NONE.value),
        sensitivity=values["sensitivity"] or SensitivityKind.NONE.value,
        code_list=values["code_list"],
        base_item=values["base_item"],
        collection_basis=CollectionBasis(values["collection_basis"] or CollectionBasis.NONE.value),
        collection_basis_text=values["collection_basis_text"],
    )


def _enum_or_none(cls: Callable[[str], Any], value: str | None) -> Any:
    return cls(value) if value else None


def _to_entry(v: Mapping[str, Any], department_id: str, dedicated: tuple[str, ...]) -> EntryInput:
    texts = {
        f.name: v[f.name]
        for f in fields(EntryInput)
        if f.name in v and isinstance(v[f.name], str) and f.name not in _ENUM_FIELDS
    }
    return EntryInput(
        classification=Classification(v["classification"]),
        provider_department_id=department_id,
        base_kind=_enum_or_none(BaseKind, v["base_kind"]),
        format_category=_enum_or_none(FormatCategory, v["format_category"]),
        update_cycle=_enum_or_none(UpdateCycle, v["update_cycle"]),
        share_category=_enum_or_none(ShareCategory, v["share_category"]),
        share_basis_type=v["share_basis_type"] or "",
        delivery_modes=tuple(DeliveryMode(m) for m in v["delivery_modes"]),
        dedicated_department_ids=dedicated,
        open_category=OpenCategory(v["open_category"] or OpenCategory.CLOSED.value),
        involves_state_secret=v["involves_state_secret"],
        security_agreement_required=v["security_agreement_required"],
        tags=v["tags"],
        related_codes=v["related_codes"],
        **texts,
    )


_ENUM_FIELDS = {
    "classification",
    "base_kind",
    "format_category",
    "update_cycle",
    "share_category",
    "share_basis_type",
    "open_category",
}


class _Lookups:
    """Departments (for 专用部门) and existing resource codes (for 关联资源代码)."""

    def __init__(self, conn: Connection, home: Department) -> None:
        self.home = home
        self.departments = identity_queries.list_departments(conn)
        self.by_uscc = {d.uscc.upper(): d for d in self.departments}
        self.conn = conn

    def department(self, key: str) -> Department | str | None:
        """The department a 专用部门 value names; "ambiguous" when a name is not unique."""
        found = self.by_uscc.get(key.upper())
        if found is not None:
            return found
        named = [d for d in self.departments if key in (d.name, d.short_name)]
        local = [d for d in named if d.jurisdiction_id == self.home.jurisdiction_id]
        pick = local or named
        if len(pick) == 1:
            return pick[0]
        return "ambiguous" if pick else None

    def existing_codes(self, codes: set[str]) -> set[str]:
        found: set[str] = set()
        ordered = sorted(codes)
        for i in range(0, len(ordered), 500):
            chunk = ordered[i : i + 500]
            found |= set(
                self.conn.execute(select(resource.c.code).where(resource.c.code.in_(chunk)))
                .scalars()
                .all()
            )
        return found


def _open_workbook(data: bytes) -> Any:
    _safe_zip(data)
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise _not_xlsx() from exc


def _read_workbook(data: bytes) -> tuple[list[_Draft], list[RowError]]:
    """The workbook's entries with their items (no database needed); every problem found
    is returned, a file that cannot be read at all raises ImportFailed."""
    errors: list[RowError] = []
    wb = _open_workbook(data)
    try:
        if SHEET_ENTRIES not in wb.sheetnames:
            raise _file_error(
                "missing_sheet",
                f"工作簿中没有“{SHEET_ENTRIES}”工作表，请使用下载的模板",
                f"the workbook has no '{SHEET_ENTRIES}' sheet; use the downloaded template",
            )
        try:
            entry_rows = _read_sheet(
                wb[SHEET_ENTRIES],
                SHEET_ENTRIES,
                ENTRY_COLUMNS,
                limit=MAX_ENTRIES,
                errors=errors,
                aliases=ENTRY_HEADER_ALIASES,
                required=REQUIRED_ENTRY_HEADERS,
            )
            item_rows = (
                _read_sheet(
                    wb[SHEET_ITEMS],
                    SHEET_ITEMS,
                    ITEM_COLUMNS,
                    limit=MAX_ITEMS,
                    errors=errors,
                    aliases=ITEM_HEADER_ALIASES,
                    required=REQUIRED_ITEM_HEADERS,
                )
                if SHEET_ITEMS in wb.sheetnames
                else []
            )
        except ImportFailed:
            raise
        except Exception as exc:  # a damaged sheet part
            raise _not_xlsx() from exc
    finally:
        wb.close()
    if not entry_rows:
        errors.append(
            RowError(
                SHEET_ENTRIES,
                None,
                None,
                "catalog_import_empty",
                "“目录条目”工作表中没有条目",
                "the entries sheet holds no entry",
            )
        )
        return [], errors
    drafts = [_parse_entry(r, errors) for r in entry_rows]
    by_ref: dict[str, _Draft] = {}
    by_name: dict[str, list[_Draft]] = {}
    ref_col = ENTRY_COLUMNS[0]
    for d in drafts:
        if d.ref:
            if d.ref in by_ref:
                errors.append(
                    RowError(
                        SHEET_ENTRIES,
                        d.row,
                        ref_col.header,
                        "catalog_import_duplicate_ref",
                        f"序号“{d.ref}”重复",
                        f"the number '{d.ref}' is used twice",
                        "ref",
                    )
                )
            else:
                by_ref[d.ref] = d
        if d.values.get("name"):
            by_name.setdefault(d.values["name"], []).append(d)
    item_ref_col = ITEM_COLUMNS[0]
    for row in item_rows:
        ref, values = _parse_item(row, errors)
        target = by_ref.get(ref)
        if target is None:
            named = by_name.get(ref, [])
            if len(named) == 1:
                target = named[0]
            else:
                zh = (
                    "请填写所属条目的序号或资源名称"
                    if not ref
                    else f"资源名称“{ref[:50]}”对应多个条目，请改用序号"
                    if named
                    else f"找不到序号或资源名称为“{ref[:50]}”的条目"
                )
                en = (
                    "give the number or name of the entry this item belongs to"
                    if not ref
                    else f"several entries are named '{ref[:50]}'; use the number"
                    if named
                    else f"no entry has the number or name '{ref[:50]}'"
                )
                errors.append(
                    RowError(
                        SHEET_ITEMS,
                        row.number,
                        item_ref_col.header,
                        "catalog_import_unknown_entry",
                        zh,
                        en,
                        "entry_ref",
                    )
                )
                continue
        target.items.append((row.number, values))
    return drafts, errors


def _resolve(
    conn: Connection, drafts: list[_Draft], department: Department, errors: list[RowError]
) -> None:
    """Look up departments and codes, and build the EntryInput of each row that parsed."""
    lookups = _Lookups(conn, department)
    wanted = {c for d in drafts for c in d.values["related_codes"]}
    existing = lookups.existing_codes(wanted) if wanted else set()
    dedicated_col = ENTRY_BY_FIELD["dedicated_department_ids"]
    related_col = ENTRY_BY_FIELD["related_codes"]
    for d in drafts:
        dedicated: list[str] = []
        for key in d.values["dedicated_department_ids"]:
            found = lookups.department(key)
            if isinstance(found, Department):
                dedicated.append(found.id)
                continue
            errors.append(
                RowError(
                    SHEET_ENTRIES,
                    d.row,
                    dedicated_col.header,
                    "catalog_import_unknown_department",
                    f"部门“{key[:50]}”不唯一，请填写统一社会信用代码"
                    if found == "ambiguous"
                    else f"找不到统一社会信用代码或名称为“{key[:50]}”的部门",
                    f"several departments are called '{key[:50]}'; give its credit code"
                    if found == "ambiguous"
                    else f"no department has the credit code or name '{key[:50]}'",
                    "dedicated_department_ids",
                )
            )
        for code in d.values["related_codes"]:
            if code not in existing:
                errors.append(
                    RowError(
                        SHEET_ENTRIES,
                        d.row,
                        related_col.header,
                        "catalog_import_unknown_code",
                        f"资源代码“{code[:50]}”不存在",
                        f"no resource has the code '{code[:50]}'",
                        "related_codes",
                    )
                )
        if not d.values.get("name"):
            errors.append(
                RowError(
                    SHEET_ENTRIES,
                    d.row,
                    ENTRY_BY_FIELD["name"].header,
                    "catalog_field_required",
                    "资源名称不能为空",
                    "the resource needs a name",
                    "name",
                )
            )
        if not d.values.get("classification"):
            continue  # reported while parsing; nothing to validate without it
        items = tuple(_to_item(v) for _, v in d.items)
        d.entry = replace(
            _to_entry(d.values, department.id, tuple(dict.fromkeys(dedicated))),
            data_items=items,
        )


def _problem_error(d: _Draft, p: Problem) -> RowError:
    """Where in the workbook a validation problem of entry ``d`` lies."""
    m = _ITEM_FIELD_RE.match(p.field)
    if m is not None:
        i, name = int(m.group(1)), m.group(2)
        row = d.items[i - 1][0] if 0 < i <= len(d.items) else None
        item = d.entry.data_items[i - 1] if d.entry is not None else None
        basis_given = item is not None and item.collection_basis is not CollectionBasis.NONE
        if name == "collection_basis" and basis_given:
            name = "collection_basis_text"  # the basis is given, its text is not
        if item is not None and p.code == "catalog_data_element_standard":
            element = element_for(item.name)
            if element is not None and item.type is element.type:
                name = "length"  # the right type, but longer than the standard allows
        col = ITEM_BY_FIELD.get(name)
        return RowError(SHEET_ITEMS, row, col.header if col else None, p.code, p.zh, p.en, p.field)
    if p.field == "data_items":
        header: str | None = SHEET_ITEMS
    elif p.field == "provider":
        header = None
    else:
        col = ENTRY_BY_FIELD.get(p.field)
        header = col.header if col else None
    return RowError(SHEET_ENTRIES, d.row, header, p.code, p.zh, p.en, p.field)


def _error_of(d: _Draft, exc: DomainError) -> RowError:
    return _problem_error(d, Problem(exc.field or "", exc.code, exc.message_zh, exc.message_en))


def _profile_of(conn: Connection, profiles: Profiles, dept: Department) -> RuleProfile:
    j = identity_queries.get_jurisdiction(conn, dept.jurisdiction_id)
    return profiles.get(j.profile) or profiles["default"]


def _check(
    db: Database,
    profiles: Profiles,
    data: bytes,
    *,
    actor: Actor,
    department_id: str,
    complete: bool,
) -> tuple[Department, list[_Draft], list[RowError]]:
    """Read, look up and validate, writing nothing: the entries and every error found."""
    with db.read() as conn:
        dept = identity_queries.get_department(conn, department_id)
        require(
            actor,
            Permission.EDIT_CATALOG,
            department_id=dept.id,
            jurisdiction_id=dept.jurisdiction_id,
        )
    drafts, errors = _read_workbook(data)  # the slow part, outside any transaction
    with db.read() as conn:
        profile = _profile_of(conn, profiles, dept)
        _resolve(conn, drafts, dept, errors)
    for d in drafts:
        if d.entry is None:
            continue
        for p in check_entry(d.entry, profile, complete=complete):
            if p.field == "name" and p.code == "catalog_field_required" and not d.entry.name:
                continue  # reported already
            errors.append(_problem_error(d, p))
    return dept, drafts, errors


def validate_workbook(
    db: Database,
    profiles: Profiles,
    data: bytes,
    *,
    actor: Actor,
    department_id: str,
    complete: bool = False,
) -> list[EntryInput]:
    """A dry run of :func:`import_workbook`: the entries the workbook would create, or
    :class:`ImportFailed` with every error. ``complete`` applies the checks of submission.
    (The 一数一源 overlap is only known on submission, so only ``import_workbook`` with
    ``submit=True`` reports it.)"""
    _, drafts, errors = _check(
        db, profiles, data, actor=actor, department_id=department_id, complete=complete
    )
    if errors:
        raise ImportFailed(errors)
    return [d.entry for d in drafts if d.entry is not None]


def import_workbook(
    db: Database,
    profiles: Profiles,
    data: bytes,
    *,
    actor: Actor,
    department_id: str,
    submit: bool = False,
    filename: str = "",
) -> ImportResult:
    """Create a draft (submitted for review when ``submit``) for every entry of the
    workbook, for ``department_id``, in one transaction with one audit entry per resource
    and one IMPORT entry; or raise :class:`ImportFailed` listing every problem, having
    written nothing."""
    dept, drafts, errors = _check(
        db, profiles, data, actor=actor, department_id=department_id, complete=submit
    )
    if errors:
        raise ImportFailed(errors)
    import_id = new_id()
    codes: list[str] = []
    version_ids: list[str] = []
    with db.transaction() as tx:
        for d in drafts:
            assert d.entry is not None
            try:
                v = services.create_draft_tx(tx, profiles, d.entry, actor=actor)
                if submit:
                    v = services.submit_tx(tx, profiles, v.id, actor=actor)
            except DomainError as exc:  # e.g. 一数一源 overlap found on submission
                errors.append(_error_of(d, exc))
                continue
            codes.append(v.code)
            version_ids.append(v.id)
        if errors:
            raise ImportFailed(errors)  # rolls the whole transaction back
        items = sum(len(d.entry.data_items) for d in drafts if d.entry is not None)
        audit.record(
            tx,
            actor,
            AuditAction.IMPORT,
            "catalog_import",
            import_id,
            details={
                "department_id": dept.id,
                "entries": len(codes),
                "items": items,
                "submitted": submit,
                "codes": codes[:200],
                "file_sha256": hashlib.sha256(data).hexdigest(),
                "filename": filename[:200],
            },
        )
    return ImportResult(import_id, dept.id, tuple(codes), tuple(version_ids), items, submit)
