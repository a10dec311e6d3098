"""Row <-> model conversion for catalog versions (JSON for the multi-valued fields)."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from govshare.catalog.model import (
    BaseKind,
    Classification,
    CollectionBasis,
    DataItem,
    DataItemInput,
    DeliveryMode,
    EntryInput,
    FormatCategory,
    IdentifierKind,
    ItemType,
    OpenCategory,
    ResourceVersion,
    ShareCategory,
    UpdateCycle,
    VersionState,
)

TUPLE_FIELDS = {"delivery_modes", "dedicated_department_ids", "tags", "related_codes"}
ENTRY_COLUMNS = [f.name for f in fields(EntryInput) if f.name != "data_items"]


def entry_values(entry: EntryInput) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ENTRY_COLUMNS:
        value = getattr(entry, name)
        if name in TUPLE_FIELDS:
            value = json.dumps([getattr(v, "value", v) for v in value], ensure_ascii=False)
        elif hasattr(value, "value"):
            value = value.value
        out[name] = value
    return out


def _enum(cls: Any, value: Any) -> Any:
    return cls(value) if value not in (None, "") else None


def entry_from_row(row: Any, items: list[DataItem]) -> EntryInput:
    m = row._mapping
    return EntryInput(
        name=m["name"],
        classification=Classification(m["classification"]),
        provider_department_id=m["provider_department_id"],
        summary=m["summary"],
        base_kind=_enum(BaseKind, m["base_kind"]),
        theme=m["theme"],
        internal_division=m["internal_division"],
        format_category=_enum(FormatCategory, m["format_category"]),
        format_type=m["format_type"],
        update_cycle=_enum(UpdateCycle, m["update_cycle"]),
        timeliness=m["timeliness"],
        share_category=_enum(ShareCategory, m["share_category"]),
        share_scope=m["share_scope"],
        share_conditions=m["share_conditions"],
        share_basis_type=m["share_basis_type"],
        share_basis_text=m["share_basis_text"],
        share_basis_ref=m["share_basis_ref"],
        not_shared_reasons=m["not_shared_reasons"],
        head_sign_off=m["head_sign_off"],
        delivery_modes=tuple(DeliveryMode(v) for v in json.loads(m["delivery_modes"])),
        usage_requirements=m["usage_requirements"],
        dedicated_department_ids=tuple(json.loads(m["dedicated_department_ids"])),
        open_category=OpenCategory(m["open_category"]),
        open_conditions=m["open_conditions"],
        open_basis=m["open_basis"],
        open_review=m["open_review"],
        involves_state_secret=bool(m["involves_state_secret"]),
        confidentiality_review=m["confidentiality_review"],
        grade=m["grade"],
        release_scenarios=m["release_scenarios"],
        release_consumers=m["release_consumers"],
        release_region=m["release_region"],
        release_knowledge_scope=m["release_knowledge_scope"],
        release_usage_scope=m["release_usage_scope"],
        security_agreement_required=bool(m["security_agreement_required"]),
        controlled_parameters=m["controlled_parameters"],
        tags=tuple(json.loads(m["tags"])),
        related_codes=tuple(json.loads(m["related_codes"])),
        single_source_justification=m["single_source_justification"],
        data_items=tuple(item_input(i) for i in items),
    )


def item_from_row(row: Any) -> DataItem:
    m = row._mapping
    return DataItem(
        position=m["position"],
        name=m["name"],
        code=m["code"],
        type=ItemType(m["type"]),
        length=m["length"],
        description=m["description"],
        required=bool(m["required"]),
        identifier=IdentifierKind(m["identifier"]),
        sensitivity=m["sensitivity"],
        code_list=m["code_list"],
        base_item=bool(m["base_item"]),
        collection_basis=CollectionBasis(m["collection_basis"]),
        collection_basis_text=m["collection_basis_text"],
    )


def item_input(item: DataItem) -> DataItemInput:
    return DataItemInput(**{f.name: getattr(item, f.name) for f in fields(DataItemInput)})


def version_from_row(row: Any, code: str, items: list[DataItem]) -> ResourceVersion:
    m = row._mapping
    return ResourceVersion(
        id=m["id"],
        resource_id=m["resource_id"],
        code=code,
        version_no=m["version_no"],
        state=VersionState(m["state"]),
        entry=entry_from_row(row, items),
        created_by=m["created_by"],
        created_at=m["created_at"],
        submitted_at=m["submitted_at"],
        review_due=m["review_due"],
        review_due_provisional=bool(m["review_due_provisional"]),
        reviewed_by=m["reviewed_by"],
        reviewed_at=m["reviewed_at"],
        review_comment=m["review_comment"],
        published_at=m["published_at"],
        overlaps=tuple(json.loads(m["overlaps"])),
    )
