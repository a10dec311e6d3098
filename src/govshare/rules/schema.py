"""The rule-profile schema: one validated profile per jurisdiction's measures.

A profile holds every parameter in which the five measures differ (the table at the end
of REQUIREMENTS.md). The YAML files in ``profiles/`` cite, value by value, the requirement
ID each value implements.

Conventions:

- A deadline the measure does not mention at all is ``None`` (nothing to track).
- A deadline the measure calls "timely" (及时) without a number is a ``Deadline`` with
  ``days: null`` and ``timely: true``: the platform keeps it configurable and never
  invents a number.
- ``start_stated: false`` marks a deadline whose start event the article does not name;
  the ``start`` given is then the reading recorded in REQUIREMENTS.md.

All models are strict (no type coercion), refuse unknown keys and are immutable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Tier = Literal["province", "city", "county"]
ShareCategory = Literal["unconditional", "conditional", "not_shared"]
OpenCategory = Literal["open", "open_on_request", "closed"]
DayUnit = Literal["working", "calendar"]
DeliveryMode = Literal["query", "verify", "batch", "feed", "file"]
NetworkPart = Literal["intranet", "extranet"]
BaseKind = Literal["population", "legal_entity", "geo", "licence", "credit", "macro_economy"]

# Who decides a share application.
Decider = Literal[
    "provider",  # 提供部门 (SQ-19, HB-20)
    "provider_or_agent",  # provider or its 授权代理方 (SZ-15.2, SZ-16.1)
    "authority",  # 数据主管部门 (NX-12)
    "platform",  # the platform / its operating authority (SZ-15.1, HB-12, HB-21)
    "three_party_agreement",  # 安全保密协议 led by the authority (YX-21)
]

SecurityAgreementPolicy = Literal[
    "none",  # the measure requires no security agreement
    "provider_decides",  # the provider's release review says whether one is needed (SZ-11)
    "mandatory_three_party",  # authority + consumer + provider must sign first (YX-21)
]

# Entry fields a measure makes mandatory in every catalog entry.
CatalogField = Literal[
    "name",  # 数据名称 / 信息名称
    "summary",  # 摘要
    "classification",  # 分类
    "provider",  # 提供单位 / 责任方
    "format_category",  # 数据格式
    "update_cycle",  # 更新频度 / 更新时限 / 更新周期
    "timeliness",  # 时效要求
    "share_category",  # 共享类别 / 共享类型 / 共享属性
    "share_scope",  # 共享范围
    "share_conditions",  # 共享条件
    "delivery_modes",  # 提供方式 / 共享方式
    "open_category",  # 可否向社会开放 / 开放属性
    "usage_requirements",  # 使用要求
    "data_items",  # 信息项
]

# Accepted kinds of basis (依据) for a restricted share or open category.
BasisType = Literal[
    "law",  # 法律
    "administrative_regulation",  # 行政法规
    "local_regulation",  # 地方性法规
    "ministerial_rule",  # 部委规章
    "central_policy",  # 党中央、国务院政策
    "provincial_policy",  # 省委、省政府政策
    "national_document",  # 国家有关文件
    "department_internal_rule",  # 部门内部管理办法 (never valid under SZ-14.1)
]

NaturalPersonKey = Literal[
    "id_card_number",  # 身份证号码 (SQ-16)
    "id_document_number",  # 有效身份证件号码 (NX-24)
]
OrganisationKey = Literal[
    "uscc",  # 统一社会信用代码
    "organisation_code",  # registration authority's organisation code (SQ-16 fallback)
]

# The event a deadline runs from.
DeadlineStart = Literal[
    "application_submitted",  # the consumer submitted the share application
    "application_accepted",  # the platform accepted (受理) the application
    "forwarded",  # the platform forwarded the application to the provider
    "provider_received",  # the provider received the application
    "provider_replied",  # the provider replied to the platform
    "change_occurred",  # a law/regulation changed or functions changed
    "update_application_received",  # the authority received a catalog-update application
    "feedback_received",  # the provider received an error report
    "dispatched",  # the problem data was dispatched to the producer
    "correction_decided",  # the producer decided to correct
    "request_received",  # an open-data or open-catalog request was received
]

# Who must approve a deadline extension.
ExtensionApproval = Literal[
    "producer_head_approval",  # the producer's principal head (主要负责人) (NX-45, NX-46)
    "authority_approval",  # the data authority
]

AnnualReporter = Literal["department", "county_authority", "city_authority"]
AnnualRecipient = Literal[
    "county_authority", "city_authority", "county_government", "city_government"
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class RuleConflict(ValueError):
    """A cross-field check failed; ``key`` is the dotted path inside the failing model."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


def _unique(values: Sequence[str], key: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise RuleConflict(key, f"duplicate value '{v}'")
        seen.add(v)


def _subset(values: Sequence[str], allowed: Sequence[str], key: str, of: str) -> None:
    for v in values:
        if v not in allowed:
            raise RuleConflict(key, f"'{v}' is not in {of}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Deadline(_Strict):
    """Within ``days`` working/calendar days of ``start``; ``days`` null means "timely" (及时)."""

    days: int | None
    unit: DayUnit
    start: DeadlineStart
    timely: bool = False
    start_stated: bool = True
    extension_max_days: int | None = None
    extension_needs: ExtensionApproval | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.days is None and not self.timely:
            raise RuleConflict(
                "timely", "a deadline without days must be timely: true (及时, no number)"
            )
        if self.days is not None and self.timely:
            raise RuleConflict("timely", "a timely (及时) deadline has no number: set days: null")
        if self.days is not None and self.days <= 0:
            raise RuleConflict("days", "must be a positive number of days")
        if self.extension_max_days is not None:
            if self.days is None:
                raise RuleConflict("extension_max_days", "an extension needs a numeric deadline")
            if self.extension_max_days <= 0:
                raise RuleConflict("extension_max_days", "must be a positive number of days")
            if not self.extension_needs:
                raise RuleConflict("extension_needs", "say who must approve the extension")
        elif self.extension_needs is not None:
            raise RuleConflict("extension_needs", "set only together with extension_max_days")
        return self


class Period(_Strict):
    """A minimum period (不少于 N 日)."""

    days: int = Field(gt=0)
    unit: DayUnit


class PlatformRules(_Strict):
    platform_tiers: list[Tier]
    county_tenants: bool
    network_parts: list[NetworkPart]
    single_sharing_channel: bool

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.platform_tiers:
            raise RuleConflict("platform_tiers", "at least one tier runs a platform")
        _unique(self.platform_tiers, "platform_tiers")
        _unique(self.network_parts, "network_parts")
        if self.county_tenants and "county" in self.platform_tiers:
            raise RuleConflict("county_tenants", "county tenants means no county platform")
        return self


class ScopeRules(_Strict):
    non_classified_only: bool
    charging_allowed: bool


class SharingRules(_Strict):
    unconditional_needs_application: bool
    unconditional_decider: Decider | None
    controlled_parameter_grants_by_provider: bool
    conditional_decider: Decider
    delegated_reviewer: bool
    dedicated_resources: bool
    refusal_needs_reasons: bool
    scenario_based_grants: bool
    compliance_review: Deadline | None
    provider_reply: Deadline | None
    consumer_notice: Deadline | None
    direct_authorisation: Deadline | None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.unconditional_needs_application and self.unconditional_decider is None:
            raise RuleConflict(
                "unconditional_decider", "required when unconditional sharing needs an application"
            )
        if not self.unconditional_needs_application and self.unconditional_decider is not None:
            raise RuleConflict(
                "unconditional_decider", "must be null when unconditional data is taken directly"
            )
        agent = self.conditional_decider == "provider_or_agent"
        if agent != self.delegated_reviewer:
            raise RuleConflict(
                "delegated_reviewer",
                "conditional_decider 'provider_or_agent' and delegated_reviewer go together",
            )
        if self.dedicated_resources and not self.unconditional_needs_application:
            raise RuleConflict(
                "dedicated_resources", "a dedicated exemption only matters when applications exist"
            )
        return self


class BasisRules(_Strict):
    """What a provider must supply to class a resource in a restricted share category."""

    required_for: list[ShareCategory]
    accepted_types: list[BasisType]
    department_internal_rules_rejected: bool
    reasons_required: bool
    head_sign_off_required: bool
    authority_approval_required: bool

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _unique(self.required_for, "required_for")
        _unique(self.accepted_types, "accepted_types")
        if "unconditional" in self.required_for:
            raise RuleConflict("required_for", "unconditional sharing never needs a basis")
        if self.required_for and not self.accepted_types:
            raise RuleConflict("accepted_types", "list the accepted basis types")
        if self.department_internal_rules_rejected and (
            "department_internal_rule" in self.accepted_types
        ):
            raise RuleConflict("accepted_types", "department_internal_rule is rejected")
        return self


class ClassificationRules(_Strict):
    basis: BasisRules
    base_must_be_unconditional: bool


class IdentifierKeys(_Strict):
    """Identifier fields validated on collected data; an empty list means not prescribed."""

    natural_person: list[NaturalPersonKey]
    organisation: list[OrganisationKey]


class CatalogRules(_Strict):
    update_after_change: Deadline | None
    authority_update: Deadline | None
    report_to_higher_level: Deadline | None
    change_needs_written_notice: bool
    min_full_maintenance_per_year: int | None
    dynamic_updates: bool
    periodic_publication: bool
    update_cycle_enforced: bool
    base_kinds: list[BaseKind]
    themes: list[str]
    required_fields: list[CatalogField]
    item_collection_basis_required: bool

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _unique(self.required_fields, "required_fields")
        if (
            self.min_full_maintenance_per_year is not None
            and self.min_full_maintenance_per_year < 1
        ):
            raise RuleConflict("min_full_maintenance_per_year", "must be at least 1 or null")
        _unique(self.base_kinds, "base_kinds")
        _unique(self.themes, "themes")
        return self


class CorrectionRules(_Strict):
    verify: Deadline | None
    correct: Deadline | None
    business_continues_with_proof: bool
    report_via_authority: bool
    evidence_required: bool


class OpenDataRules(_Strict):
    categories: list[OpenCategory]
    catalog_has_open_flag: bool
    catalog_update: Deadline | None
    application_reply: Deadline | None
    catalog_correction_reply: Deadline | None
    basis_required_for: list[OpenCategory]
    accepted_basis_types: list[BasisType]
    free_of_charge: bool
    machine_readable_required: bool
    desensitised_only: bool
    identity_authentication: bool
    single_open_platform: bool
    public_release_forbidden: bool

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _unique(self.categories, "categories")
        _subset(self.basis_required_for, self.categories, "basis_required_for", "categories")
        if self.basis_required_for and not self.accepted_basis_types:
            raise RuleConflict("accepted_basis_types", "list the accepted basis types")
        if not self.categories:
            for key in ("application_reply", "catalog_correction_reply"):
                if getattr(self, key) is not None:
                    raise RuleConflict(key, "no open categories, so no open-data deadline")
        if self.public_release_forbidden and self.categories:
            raise RuleConflict("categories", "public release is forbidden, so nothing is opened")
        return self


class RetirementRules(_Strict):
    new_resource_live_first: bool
    transition_min: Period | None
    notify_consumers: bool


class AuditRules(_Strict):
    min_retention_days: int = Field(gt=0)


class AnnualReport(_Strict):
    """A yearly report on the previous year, due by the last day of ``due_month``."""

    reporter: AnnualReporter
    recipient: AnnualRecipient
    due_month: int = Field(ge=1, le=12)


class ReportingRules(_Strict):
    annual_assessment: bool
    results_published: bool
    annual_reports: list[AnnualReport]


class DeliveryRules(_Strict):
    modes: list[DeliveryMode]
    preference: list[DeliveryMode]
    batch_only_when_query_or_verify_insufficient: bool
    offline_exchange_needs_approval: bool
    real_time_via_front_end: bool

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.modes:
            raise RuleConflict("modes", "at least one delivery mode")
        _unique(self.modes, "modes")
        _unique(self.preference, "preference")
        _subset(self.preference, self.modes, "preference", "modes")
        if self.batch_only_when_query_or_verify_insufficient and "batch" not in self.modes:
            raise RuleConflict(
                "batch_only_when_query_or_verify_insufficient", "batch is not a mode"
            )
        return self


class SecurityRules(_Strict):
    security_agreement: SecurityAgreementPolicy
    confidentiality_review_required: bool
    release_review_required: bool


class ProjectRules(_Strict):
    approval_requires_project_catalog: bool
    approval_requires_sharing_plan_review: bool
    approval_requires_annual_plan_filing: bool
    approval_requires_interconnection: bool
    acceptance_requires_catalog_loaded: bool
    acceptance_requires_platform_docking: bool
    acceptance_requires_sharing_compliance: bool
    acceptance_requires_third_party_testing: bool
    acceptance_requires_graded_protection_filing: bool
    acceptance_requires_review_opinion: bool
    funding_linked_to_sharing: bool


class RuleProfile(_Strict):
    name: str
    title_zh: str
    title_en: str
    source: str
    tiers: list[Tier]
    share_categories: list[ShareCategory]
    platform: PlatformRules
    scope: ScopeRules
    sharing: SharingRules
    classification: ClassificationRules
    identifiers: IdentifierKeys
    catalog: CatalogRules
    correction: CorrectionRules
    open_data: OpenDataRules
    retirement: RetirementRules
    audit: AuditRules
    reporting: ReportingRules
    delivery: DeliveryRules
    security: SecurityRules
    projects: ProjectRules

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not _NAME.match(self.name):
            raise RuleConflict("name", "use lower-case letters, digits and '_' (the file stem)")
        for key in ("title_zh", "title_en", "source"):
            if not getattr(self, key).strip():
                raise RuleConflict(key, "must not be empty")
        if not self.tiers:
            raise RuleConflict("tiers", "at least one jurisdiction tier")
        _unique(self.tiers, "tiers")
        _unique(self.share_categories, "share_categories")
        for needed in ("unconditional", "conditional"):
            if needed not in self.share_categories:
                raise RuleConflict("share_categories", f"'{needed}' is required")
        _subset(self.platform.platform_tiers, self.tiers, "platform.platform_tiers", "tiers")
        county_without_platform = (
            "county" in self.tiers and "county" not in self.platform.platform_tiers
        )
        if self.platform.county_tenants != county_without_platform:
            raise RuleConflict(
                "platform.county_tenants",
                "true exactly when counties are a tier but run no platform of their own",
            )
        _subset(
            self.classification.basis.required_for,
            self.share_categories,
            "classification.basis.required_for",
            "share_categories",
        )
        return self
