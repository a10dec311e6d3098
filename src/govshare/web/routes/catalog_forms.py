"""The catalog editor's form: raw values in and out, and their conversion to an EntryInput.

The form is kept as raw strings so that a refused form is shown again exactly as typed.
Data items are posted as ``items-<key>-<field>``; rows keep the order of the form, blank
rows and rows marked for deletion are dropped. A problem on a data item is reported by
position (``data_items[2].code``), which is the row's position after dropping blanks.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from govshare.catalog.codec import ENTRY_COLUMNS
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
from govshare.kernel.errors import DomainError
from govshare.kernel.masking import SensitivityKind
from govshare.rules import RuleProfile

BLANK_ROWS = 3
LIST_FIELDS = ("delivery_modes", "dedicated_department_ids")
SPLIT_FIELDS = ("tags", "related_codes")
BOOL_FIELDS = ("involves_state_secret", "security_agreement_required")
ENUMS: dict[str, Any] = {
    "classification": Classification,
    "base_kind": BaseKind,
    "format_category": FormatCategory,
    "update_cycle": UpdateCycle,
    "share_category": ShareCategory,
    "open_category": OpenCategory,
}
ITEM_TEXT = ("name", "code", "length", "description", "code_list", "collection_basis_text")
ITEM_SELECT = ("type", "identifier", "sensitivity", "collection_basis")
ITEM_BOOL = ("required", "base_item")
ITEM_KEY = re.compile(r"^items-([A-Za-z0-9]{1,16})-([a-z_]+)$")
SPLIT_RE = re.compile(r"[,，、;；\s]+")

Problem = tuple[str, str, str]  # field, Chinese, English


def new_row_key() -> str:
    return "n" + secrets.token_hex(4)


def blank_item() -> dict[str, Any]:
    return {
        "name": "",
        "code": "",
        "length": "",
        "description": "",
        "code_list": "",
        "collection_basis_text": "",
        "type": ItemType.STRING.value,
        "identifier": IdentifierKind.NONE.value,
        "sensitivity": "none",
        "collection_basis": CollectionBasis.NONE.value,
        "required": False,
        "base_item": False,
    }


def form_from_entry(entry: EntryInput) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ENTRY_COLUMNS:
        value = getattr(entry, name)
        if name in LIST_FIELDS:
            out[name] = [getattr(v, "value", v) for v in value]
        elif name in SPLIT_FIELDS:
            out[name] = ", ".join(value)
        elif isinstance(value, bool):
            out[name] = value
        elif value is None:
            out[name] = ""
        else:
            out[name] = getattr(value, "value", value)
    return out


def items_from_entry(entry: EntryInput) -> list[dict[str, Any]]:
    return [
        {
            "name": i.name,
            "code": i.code,
            "length": "" if i.length is None else str(i.length),
            "description": i.description,
            "code_list": i.code_list,
            "collection_basis_text": i.collection_basis_text,
            "type": i.type.value,
            "identifier": i.identifier.value,
            "sensitivity": i.sensitivity,
            "collection_basis": i.collection_basis.value,
            "required": i.required,
            "base_item": i.base_item,
        }
        for i in entry.data_items
    ]


def problems_of(exc: DomainError) -> list[Problem]:
    listed = exc.extra.get("problems")
    if listed:
        return [(p["field"], p["message_zh"], p["message_en"]) for p in listed]
    return [(exc.field or "", exc.message_zh, exc.message_en)]


@dataclass
class EditorForm:
    values: dict[str, Any]
    items: list[dict[str, Any]]
    action: str = "save"
    problems: list[Problem] = field(default_factory=list)

    def entry(self, provider_department_id: str) -> EntryInput:
        """The EntryInput the form states. Values that cannot be read (a length that is
        not a number, an unknown choice) are left out and reported in ``problems``."""
        problems: list[Problem] = []
        v = self.values
        enums: dict[str, Any] = {}
        for name, cls in ENUMS.items():
            raw = str(v.get(name) or "")
            try:
                enums[name] = cls(raw) if raw else None
            except ValueError:
                problems.append((name, "取值无效", "invalid value"))
                enums[name] = None
        classification = enums["classification"] or Classification.DEPARTMENT
        modes: list[DeliveryMode] = []
        for raw in v.get("delivery_modes", []):
            try:
                modes.append(DeliveryMode(raw))
            except ValueError:
                problems.append(("delivery_modes", "共享方式无效", "invalid delivery mode"))
        items: list[DataItemInput] = []
        for pos, row in enumerate(self.items, start=1):
            items.append(_item(row, pos, problems))
        self.problems = problems
        text = {
            name: str(v.get(name) or "").strip()
            for name in ENTRY_COLUMNS
            if name not in ENUMS and name not in LIST_FIELDS + SPLIT_FIELDS + BOOL_FIELDS
        }
        text.pop("provider_department_id", None)
        return EntryInput(
            **text,
            classification=classification,
            provider_department_id=provider_department_id,
            base_kind=enums["base_kind"] if classification is Classification.BASE else None,
            format_category=enums["format_category"],
            update_cycle=enums["update_cycle"],
            share_category=enums["share_category"],
            open_category=enums["open_category"] or OpenCategory.CLOSED,
            delivery_modes=tuple(m for m in DeliveryMode if m in modes),
            dedicated_department_ids=tuple(
                dict.fromkeys(str(d) for d in v.get("dedicated_department_ids", []) if d)
            ),
            tags=_split(v.get("tags", "")),
            related_codes=_split(v.get("related_codes", "")),
            involves_state_secret=bool(v.get("involves_state_secret")),
            security_agreement_required=bool(v.get("security_agreement_required")),
            data_items=tuple(items),
        )


def _split(value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p for p in SPLIT_RE.split(str(value or "")) if p))


def _choice(cls: Any, raw: Any, default: Any, field: str, pos: int, problems: list[Problem]) -> Any:
    try:
        return cls(raw or default)
    except ValueError:
        problems.append((field, f"第{pos}个信息项的取值无效", f"data item {pos}: invalid value"))
        return cls(default)


def _item(row: dict[str, Any], pos: int, problems: list[Problem]) -> DataItemInput:
    f = f"data_items[{pos}]"
    length: int | None = None
    raw_length = str(row.get("length") or "").strip()
    if raw_length:
        if raw_length.isdigit():
            length = int(raw_length)
        else:
            problems.append(
                (
                    f"{f}.length",
                    f"第{pos}个信息项的长度须为正整数",
                    f"data item {pos}: the length is a whole number",
                )
            )
    item_type = _choice(ItemType, row.get("type"), "string", f"{f}.type", pos, problems)
    identifier = _choice(
        IdentifierKind, row.get("identifier"), "none", f"{f}.identifier", pos, problems
    )
    basis = _choice(
        CollectionBasis, row.get("collection_basis"), "none", f"{f}.collection_basis", pos, problems
    )
    return DataItemInput(
        name=str(row.get("name") or "").strip(),
        code=str(row.get("code") or "").strip(),
        type=item_type,
        length=length,
        description=str(row.get("description") or "").strip(),
        required=bool(row.get("required")),
        identifier=identifier,
        sensitivity=str(row.get("sensitivity") or "none"),
        code_list=str(row.get("code_list") or "").strip(),
        base_item=bool(row.get("base_item")),
        collection_basis=basis,
        collection_basis_text=str(row.get("collection_basis_text") or "").strip(),
    )


async def read_editor_form(request: Request) -> EditorForm:
    form = await request.form()
    values: dict[str, Any] = {}
    for name in ENTRY_COLUMNS:
        if name in LIST_FIELDS:
            values[name] = [str(x) for x in form.getlist(name)]
        elif name in BOOL_FIELDS:
            values[name] = bool(form.get(name))
        else:
            values[name] = str(form.get(name) or "")
    rows: dict[str, dict[str, Any]] = {}
    for key, value in form.multi_items():
        match = ITEM_KEY.match(key)
        if not match or not isinstance(value, str):
            continue
        row = rows.setdefault(match.group(1), blank_item() | {"delete": False})
        name = match.group(2)
        if name in ITEM_BOOL or name == "delete":
            row[name] = True
        elif name in ITEM_TEXT or name in ITEM_SELECT:
            row[name] = value
    items = [
        {k: v for k, v in row.items() if k != "delete"}
        for row in rows.values()
        if not row["delete"] and any(str(row[k]).strip() for k in ITEM_TEXT)
    ]
    return EditorForm(values=values, items=items, action=str(form.get("action") or "save"))


def choices(profile: RuleProfile) -> dict[str, Any]:
    """What the editor offers under a jurisdiction's rule profile (the rest is hidden)."""
    od = profile.open_data
    if od.public_release_forbidden:
        open_categories = [OpenCategory.CLOSED.value]
    else:
        open_categories = [c.value for c in OpenCategory if not od.categories or c in od.categories]
    basis = profile.classification.basis
    org_code = "organisation_code" in profile.identifiers.organisation
    identifiers = [k.value for k in IdentifierKind if k is not IdentifierKind.ORG_CODE or org_code]
    return {
        "classifications": [c.value for c in Classification],
        "base_kinds": list(profile.catalog.base_kinds),
        "themes": list(profile.catalog.themes),
        "format_categories": [c.value for c in FormatCategory],
        "update_cycles": [c.value for c in UpdateCycle],
        "share_categories": [c.value for c in ShareCategory if c in profile.share_categories],
        "basis_required_for": list(basis.required_for),
        "basis_types": list(basis.accepted_types),
        "reasons_required": basis.reasons_required,
        "head_sign_off_required": basis.head_sign_off_required,
        "delivery_modes": [m.value for m in DeliveryMode if m in profile.delivery.modes],
        "open_categories": open_categories,
        "open_basis_required_for": list(od.basis_required_for),
        "dedicated": profile.sharing.dedicated_resources,
        "item_types": [t.value for t in ItemType],
        "identifiers": identifiers,
        "sensitivities": [s.value for s in SensitivityKind],
        "collection_basis": profile.catalog.item_collection_basis_required,
        "confidentiality_review_required": profile.security.confidentiality_review_required,
        "release_review_required": profile.security.release_review_required,
        "security_agreement": profile.security.security_agreement == "provider_decides",
        "required": set(profile.catalog.required_fields) | {"name", "share_category", "data_items"},
    }
