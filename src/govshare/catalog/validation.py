"""Catalog rules, read from the jurisdiction's rule profile. Each refusal is a Problem with
the field it concerns and a Chinese and an English message; nothing here touches the DB."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from govshare.catalog.model import (
    Classification,
    CollectionBasis,
    EntryInput,
    IdentifierKind,
    ItemType,
    OpenCategory,
    ShareCategory,
)
from govshare.catalog.standards import element_for, normalise
from govshare.kernel.errors import ValidationFailed
from govshare.kernel.masking import SensitivityKind
from govshare.rules import RuleProfile

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
BASIS_LABELS = {
    "law": "法律",
    "administrative_regulation": "行政法规",
    "local_regulation": "地方性法规",
    "ministerial_rule": "部委规章",
    "central_policy": "党中央、国务院政策",
    "provincial_policy": "省委、省政府政策",
    "national_document": "国家有关文件",
    "department_internal_rule": "部门内部管理办法",
}
FIELD_LABELS = {
    "name": "资源名称",
    "summary": "摘要",
    "classification": "资源分类",
    "provider": "提供单位",
    "format_category": "数据格式",
    "update_cycle": "更新周期",
    "timeliness": "时效要求",
    "share_category": "共享类别",
    "share_scope": "共享范围",
    "share_conditions": "共享条件",
    "delivery_modes": "共享方式",
    "open_category": "开放属性",
    "usage_requirements": "使用要求",
    "data_items": "信息项",
}


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    zh: str
    en: str

    def error(self) -> ValidationFailed:
        return ValidationFailed(self.zh, self.en, code=self.code, field=self.field)


def _p(field: str, code: str, zh: str, en: str) -> Problem:
    return Problem(field, f"catalog_{code}", zh, en)


def check_entry(entry: EntryInput, profile: RuleProfile, *, complete: bool) -> list[Problem]:
    """Every rule that applies to ``entry`` under ``profile``. ``complete`` adds the checks
    a submission for review must pass (mandatory fields, reviews before publication)."""
    out: list[Problem] = []
    out += _lengths(entry)
    out += _classification(entry, profile)
    out += _share(entry, profile)
    out += _open(entry, profile)
    out += _items(entry, profile)
    if entry.involves_state_secret:
        out.append(
            _p(
                "involves_state_secret",
                "state_secret",
                "涉及国家秘密的信息资源不得编入共享目录（平台仅处理非涉密数据）",
                "resources involving state secrets are refused: the platform handles "
                "non-classified data only (SZ-2, YX-12)",
            )
        )
    if complete:
        out += _complete(entry, profile)
    return out


# The longest value each length-limited column holds (catalog/tables.py).
MAX_LENGTHS = {
    "name": 200,
    "theme": 100,
    "internal_division": 100,
    "format_type": 100,
    "timeliness": 500,
    "share_scope": 500,
    "share_basis_type": 40,
    "share_basis_ref": 500,
    "head_sign_off": 500,
    "confidentiality_review": 500,
    "grade": 40,
    "release_region": 500,
    "release_knowledge_scope": 500,
    "release_usage_scope": 500,
}
ITEM_MAX_LENGTHS = {
    "name": 100,
    "code": 64,
    "sensitivity": 20,
    "code_list": 500,
    "collection_basis_text": 500,
}


def _too_long(field: str, limit: int) -> Problem:
    return _p(
        field,
        "too_long",
        f"{FIELD_LABELS.get(field, field)}不得超过{limit}个字符",
        f"{field} is longer than {limit} characters",
    )


def _nul(field: str) -> Problem:
    return _p(
        field,
        "control_char",
        f"{FIELD_LABELS.get(field, field)}含有不允许的控制字符（NUL）",
        f"{field} holds a NUL character",
    )


def _lengths(entry: EntryInput) -> list[Problem]:
    """Lengths, and no NUL character in any text (PostgreSQL cannot store one)."""
    out = [_too_long(k, n) for k, n in MAX_LENGTHS.items() if len(getattr(entry, k) or "") > n]
    out += [_nul(k) for k in _texts_with_nul(entry)]
    for i, item in enumerate(entry.data_items, start=1):
        out += [
            _too_long(f"data_items[{i}].{k}", n)
            for k, n in ITEM_MAX_LENGTHS.items()
            if len(getattr(item, k) or "") > n
        ]
        out += [_nul(f"data_items[{i}].{k}") for k in _texts_with_nul(item)]
    return out


def _texts_with_nul(obj: Any) -> list[str]:
    """The text fields (and lists of texts) of a dataclass that hold a NUL character."""
    out = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        texts = [value] if isinstance(value, str) else value if isinstance(value, tuple) else []
        if any(isinstance(t, str) and "\x00" in t for t in texts):
            out.append(f.name)
    return out


def _classification(entry: EntryInput, profile: RuleProfile) -> list[Problem]:
    out = []
    if entry.classification is Classification.BASE:
        kinds = profile.catalog.base_kinds
        if entry.base_kind is None or (kinds and entry.base_kind.value not in kinds):
            allowed = (
                "、".join(kinds) if kinds else "population, legal_entity, geo, licence, credit"
            )
            out.append(
                _p(
                    "base_kind",
                    "base_kind",
                    f"基础信息资源须指明所属基础库（{allowed}）",
                    f"a base resource names its base database ({allowed})",
                )
            )
    if entry.classification is Classification.THEME and not entry.theme.strip():
        out.append(
            _p(
                "theme",
                "theme_required",
                "主题信息资源须填写主题名称",
                "a theme resource names its theme",
            )
        )
    return out


def _share(entry: EntryInput, profile: RuleProfile) -> list[Problem]:
    out = []
    cat = entry.share_category
    if cat is not None and cat.value not in profile.share_categories:
        allowed = "、".join(profile.share_categories)
        out.append(
            _p(
                "share_category",
                "share_category_not_in_profile",
                f"本地规则只允许以下共享类别：{allowed}",
                f"this jurisdiction's rules allow only these share categories: {allowed}",
            )
        )
        return out
    basis = profile.classification.basis
    if cat is not None and cat.value in basis.required_for:
        btype = entry.share_basis_type
        if not btype:
            out.append(
                _p(
                    "share_basis_type",
                    "basis_required",
                    f"“{_cat_zh(cat)}”须注明法律、法规或政策依据",
                    f"'{cat.value}' needs a legal or policy basis",
                )
            )
        elif btype == "department_internal_rule" and basis.department_internal_rules_rejected:
            out.append(
                _p(
                    "share_basis_type",
                    "basis_internal_rule",
                    "部门内部管理办法不能作为不予共享的依据",
                    "a department's internal management rules are not a valid basis (SZ-14.1)",
                )
            )
        elif btype not in basis.accepted_types:
            allowed = "、".join(BASIS_LABELS.get(t, t) for t in basis.accepted_types)
            out.append(
                _p(
                    "share_basis_type",
                    "basis_type_not_accepted",
                    f"依据类型须为：{allowed}",
                    f"the basis must be one of: {', '.join(basis.accepted_types)}",
                )
            )
        if btype and not entry.share_basis_text.strip():
            out.append(
                _p(
                    "share_basis_text",
                    "basis_text_required",
                    "须填写依据的条文内容",
                    "quote the text of the basis",
                )
            )
        if btype and not entry.share_basis_ref.strip():
            out.append(
                _p(
                    "share_basis_ref",
                    "basis_ref_required",
                    "须填写依据的文件名称和文号",
                    "give the document title and number of the basis",
                )
            )
        if (
            cat is ShareCategory.NOT_SHARED
            and basis.reasons_required
            and not (entry.not_shared_reasons.strip())
        ):
            out.append(
                _p(
                    "not_shared_reasons",
                    "reasons_required",
                    "不予共享须说明充分、合理的理由",
                    "'not shared' needs full and reasonable reasons (SZ-13.3)",
                )
            )
        if (
            cat is ShareCategory.NOT_SHARED
            and basis.head_sign_off_required
            and not (entry.head_sign_off.strip())
        ):
            out.append(
                _p(
                    "head_sign_off",
                    "head_sign_off_required",
                    "不予共享须经部门主要负责人审签",
                    "'not shared' must be signed off by the department's head (SQ-17)",
                )
            )
    if (
        entry.classification is Classification.BASE
        and profile.classification.base_must_be_unconditional
        and cat is not None
        and cat is not ShareCategory.UNCONDITIONAL
    ):
        out.append(
            _p(
                "share_category",
                "base_must_be_unconditional",
                "基础信息资源的基础信息项必须无条件共享",
                "the base information items of base resources must be shared unconditionally",
            )
        )
    if entry.dedicated_department_ids:
        if not profile.sharing.dedicated_resources:
            out.append(
                _p(
                    "dedicated_department_ids",
                    "dedicated_not_in_profile",
                    "本地规则未设立“专用”资源",
                    "this jurisdiction has no dedicated resources",
                )
            )
        elif entry.provider_department_id in entry.dedicated_department_ids:
            out.append(
                _p(
                    "dedicated_department_ids",
                    "dedicated_self",
                    "专用部门不应包含提供部门本身",
                    "the dedicated departments exclude the provider itself",
                )
            )
    modes = set(entry.delivery_modes)
    if len(modes) != len(entry.delivery_modes):
        out.append(
            _p(
                "delivery_modes",
                "delivery_mode_duplicate",
                "共享方式重复",
                "a delivery mode is listed twice",
            )
        )
    allowed_modes = set(profile.delivery.modes)
    if modes - allowed_modes:
        extra = ", ".join(sorted(m.value for m in modes - allowed_modes))
        out.append(
            _p(
                "delivery_modes",
                "delivery_mode_not_in_profile",
                f"本地规则不提供以下共享方式：{extra}",
                f"this jurisdiction does not offer: {extra}",
            )
        )
    if cat is ShareCategory.NOT_SHARED and modes:
        out.append(
            _p(
                "delivery_modes",
                "not_shared_has_modes",
                "不予共享的资源不提供共享方式",
                "a resource that is not shared offers no delivery mode",
            )
        )
    return out


def _open(entry: EntryInput, profile: RuleProfile) -> list[Problem]:
    out = []
    od = profile.open_data
    cat = entry.open_category
    if od.public_release_forbidden and cat is not OpenCategory.CLOSED:
        out.append(
            _p(
                "open_category",
                "public_release_forbidden",
                "本地规则规定共享数据不得向社会公开",
                "this jurisdiction forbids releasing shared data to the public (YX-20)",
            )
        )
        return out
    if od.categories and cat.value not in od.categories:
        out.append(
            _p(
                "open_category",
                "open_category_not_in_profile",
                "开放属性不在本地规则允许的范围内",
                "that open category does not exist in this jurisdiction's rules",
            )
        )
    if cat is OpenCategory.OPEN_ON_REQUEST and not entry.open_conditions.strip():
        out.append(
            _p(
                "open_conditions",
                "open_conditions_required",
                "依申请（有条件）开放须写明开放条件",
                "open-on-request needs its open conditions",
            )
        )
    if cat.value in od.basis_required_for and not entry.open_basis.strip():
        out.append(
            _p(
                "open_basis",
                "open_basis_required",
                "有条件开放和不予开放须注明法律法规或国家文件依据",
                "conditional and closed opening need a basis in law, regulation or "
                "national documents (NX-44)",
            )
        )
    if cat is not OpenCategory.CLOSED and entry.share_category is ShareCategory.NOT_SHARED:
        out.append(
            _p(
                "open_category",
                "not_shared_but_open",
                "不予共享的资源不能向社会开放",
                "a resource that is not shared cannot be opened to the public",
            )
        )
    return out


def _items(entry: EntryInput, profile: RuleProfile) -> list[Problem]:
    out = []
    seen_codes: set[str] = set()
    seen_names: set[str] = set()
    for i, item in enumerate(entry.data_items, start=1):
        f = f"data_items[{i}]"
        if not item.name.strip():
            out.append(
                _p(
                    f"{f}.name",
                    "item_name_required",
                    f"第{i}个信息项缺少名称",
                    f"data item {i} has no name",
                )
            )
        if not CODE_RE.match(item.code or ""):
            out.append(
                _p(
                    f"{f}.code",
                    "item_code_invalid",
                    f"第{i}个信息项的英文代码须为小写字母开头的字母、数字、下划线",
                    f"data item {i}: the code is lower-case letters, digits and _",
                )
            )
        if item.code in seen_codes:
            out.append(
                _p(
                    f"{f}.code",
                    "item_code_duplicate",
                    f"第{i}个信息项的英文代码重复",
                    f"data item {i}: duplicate code",
                )
            )
        norm = normalise(item.name)
        if norm and norm in seen_names:
            out.append(
                _p(
                    f"{f}.name",
                    "item_name_duplicate",
                    f"第{i}个信息项的名称重复",
                    f"data item {i}: duplicate name",
                )
            )
        seen_codes.add(item.code)
        seen_names.add(norm)
        if item.length is not None and not 0 < item.length <= 100_000:
            out.append(
                _p(
                    f"{f}.length",
                    "item_length",
                    f"第{i}个信息项的长度无效",
                    f"data item {i}: the length is out of range",
                )
            )
        if item.type is ItemType.CODE and not item.code_list.strip():
            out.append(
                _p(
                    f"{f}.code_list",
                    "item_code_list",
                    f"第{i}个信息项是代码型，须注明代码表",
                    f"data item {i} is a code: name its code list",
                )
            )
        try:
            SensitivityKind(item.sensitivity)
        except ValueError:
            out.append(
                _p(
                    f"{f}.sensitivity",
                    "item_sensitivity",
                    f"第{i}个信息项的敏感类型无效",
                    f"data item {i}: unknown sensitivity kind",
                )
            )
        if item.identifier is not IdentifierKind.NONE and item.type is not ItemType.STRING:
            out.append(
                _p(
                    f"{f}.type",
                    "identifier_type",
                    f"第{i}个信息项是标识项，类型须为字符串",
                    f"data item {i} is an identifier and must be a string",
                )
            )
        if item.identifier is IdentifierKind.ORG_CODE and (
            "organisation_code" not in profile.identifiers.organisation
        ):
            out.append(
                _p(
                    f"{f}.identifier",
                    "identifier_not_in_profile",
                    "法人和其他组织以统一社会信用代码为标识",
                    "organisations are keyed by the unified social credit code (NX-24)",
                )
            )
        element = element_for(item.name)
        if element is not None:
            if item.type is not element.type or (
                element.max_length is not None
                and item.length is not None
                and item.length > element.max_length
            ):
                out.append(
                    _p(
                        f"{f}.type",
                        "data_element_standard",
                        f"第{i}个信息项“{item.name}”不符合数据元标准 {element.standard}"
                        f"（{element.type.value}"
                        + (f"，长度不超过{element.max_length}" if element.max_length else "")
                        + "）",
                        f"data item {i} '{item.name}' does not follow the data-element "
                        f"standard {element.standard} ({element.type.value}"
                        + (f", length <= {element.max_length}" if element.max_length else "")
                        + ")",
                    )
                )
            if (
                element.identifier is not IdentifierKind.NONE
                and item.identifier is IdentifierKind.NONE
            ):
                out.append(
                    _p(
                        f"{f}.identifier",
                        "identifier_flag",
                        f"第{i}个信息项“{item.name}”是标识项，须标记为标识",
                        f"data item {i} '{item.name}' is an identifier; flag it as one",
                    )
                )
        if profile.catalog.item_collection_basis_required and (
            item.collection_basis is CollectionBasis.NONE or not item.collection_basis_text.strip()
        ):
            out.append(
                _p(
                    f"{f}.collection_basis",
                    "collection_basis_required",
                    f"第{i}个信息项须注明采集的法律依据或取得当事人同意的记录",
                    f"data item {i} needs its legal basis for collection or the "
                    "subject's consent (SZ-10)",
                )
            )
    return out


def _complete(entry: EntryInput, profile: RuleProfile) -> list[Problem]:
    out = []
    values = {
        "name": entry.name.strip(),
        "summary": entry.summary.strip(),
        "classification": entry.classification,
        "provider": entry.provider_department_id,
        "format_category": entry.format_category,
        "update_cycle": entry.update_cycle,
        "timeliness": entry.timeliness.strip(),
        "share_category": entry.share_category,
        "share_scope": entry.share_scope.strip(),
        "share_conditions": entry.share_conditions.strip(),
        "delivery_modes": entry.delivery_modes,
        "open_category": entry.open_category,
        "usage_requirements": entry.usage_requirements.strip(),
        "data_items": entry.data_items,
    }
    required = set(profile.catalog.required_fields) | {"name", "share_category", "data_items"}
    for key in sorted(required):
        if key == "delivery_modes" and entry.share_category is ShareCategory.NOT_SHARED:
            continue
        if not values[key]:
            label = FIELD_LABELS[key]
            out.append(
                _p(
                    key,
                    "field_required",
                    f"目录条目缺少必填项：{label}",
                    f"the catalog entry lacks a mandatory field: {key}",
                )
            )
    if entry.share_category is ShareCategory.CONDITIONAL and not entry.share_conditions.strip():
        out.append(
            _p(
                "share_conditions",
                "share_conditions_required",
                "有条件共享须写明共享条件",
                "conditional sharing states its conditions",
            )
        )
    sec = profile.security
    if sec.confidentiality_review_required and not entry.confidentiality_review.strip():
        out.append(
            _p(
                "confidentiality_review",
                "confidentiality_review_required",
                "发布前须通过本部门保密审查并记录审查情况",
                "record the department's confidentiality review before publication",
            )
        )
    if sec.release_review_required:
        missing = [
            k
            for k, v in (
                ("grade", entry.grade),
                ("release_scenarios", entry.release_scenarios),
                ("release_consumers", entry.release_consumers),
                ("release_region", entry.release_region),
                ("release_knowledge_scope", entry.release_knowledge_scope),
                ("release_usage_scope", entry.release_usage_scope),
            )
            if not v.strip()
        ]
        if missing and entry.share_category is not ShareCategory.NOT_SHARED:
            out.append(
                _p(
                    missing[0],
                    "release_review_required",
                    "发布共享数据须完成分类分级和发布审核（应用场景、使用者身份、地域、"
                    "知悉范围、使用范围）",
                    "publishing needs classification and grading and the release review "
                    f"(SZ-11); missing: {', '.join(missing)}",
                )
            )
    return out


def _cat_zh(cat: ShareCategory) -> str:
    return {"unconditional": "无条件共享", "conditional": "有条件共享", "not_shared": "不予共享"}[
        cat.value
    ]


def first_error(problems: list[Problem]) -> ValidationFailed | None:
    if not problems:
        return None
    err = problems[0].error()
    if len(problems) > 1:
        err.extra["problems"] = [
            {"field": p.field, "code": p.code, "message_zh": p.zh, "message_en": p.en}
            for p in problems
        ]
    return err
