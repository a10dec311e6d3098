"""Catalog vocabulary as plain enums and dataclasses.

Follows 《政务信息资源目录编制指南（试行）》 (2017).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Classification(StrEnum):
    BASE = "base"  # 基础信息资源
    THEME = "theme"  # 主题信息资源
    DEPARTMENT = "department"  # 部门信息资源


class BaseKind(StrEnum):
    POPULATION = "population"  # 人口
    LEGAL_ENTITY = "legal_entity"  # 法人
    GEO = "geo"  # 自然资源和空间地理
    LICENCE = "licence"  # 电子证照
    CREDIT = "credit"  # 社会信用
    MACRO_ECONOMY = "macro_economy"  # 宏观经济 (SZ-6)


BASE_KIND_CODES = {k: i for i, k in enumerate(BaseKind, start=1)}


class FormatCategory(StrEnum):
    SPREADSHEET = "spreadsheet"  # 电子表格
    DATABASE = "database"  # 数据库
    DOCUMENT = "document"  # 电子文件
    IMAGE = "image"  # 图形图像
    STREAMING = "streaming"  # 流媒体
    INTERFACE = "interface"  # 接口
    OTHER = "other"  # 其他


class UpdateCycle(StrEnum):
    REALTIME = "realtime"  # 实时
    DAILY = "daily"  # 每日
    WEEKLY = "weekly"  # 每周
    MONTHLY = "monthly"  # 每月
    QUARTERLY = "quarterly"  # 每季度
    YEARLY = "yearly"  # 每年
    IRREGULAR = "irregular"  # 不定期


# The longest a resource's data may go without an update under its cycle (NX-72, SQ-20).
UPDATE_CYCLE_DAYS: dict[UpdateCycle, int | None] = {
    UpdateCycle.REALTIME: 1,
    UpdateCycle.DAILY: 1,
    UpdateCycle.WEEKLY: 7,
    UpdateCycle.MONTHLY: 31,
    UpdateCycle.QUARTERLY: 92,
    UpdateCycle.YEARLY: 366,
    UpdateCycle.IRREGULAR: None,
}


class ShareCategory(StrEnum):
    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享
    NOT_SHARED = "not_shared"  # 不予共享


class OpenCategory(StrEnum):
    OPEN = "open"  # 无条件开放
    OPEN_ON_REQUEST = "open_on_request"  # 有条件 / 依申请开放
    CLOSED = "closed"  # 不予开放


class DeliveryMode(StrEnum):
    QUERY = "query"  # 联机查询 / 接口
    VERIFY = "verify"  # 核验
    BATCH = "batch"  # 批量交换 / 库表
    FEED = "feed"  # 订阅 / 增量
    FILE = "file"  # 文件 / 证照


class ItemType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    CODE = "code"  # a value from a code list


class IdentifierKind(StrEnum):
    NONE = "none"
    ID_CARD = "id_card"  # 身份证号 / 有效身份证件号码 (SQ-16, NX-24)
    USCC = "uscc"  # 统一社会信用代码
    ORG_CODE = "org_code"  # 组织机构代码 (SQ-16 fallback)


class CollectionBasis(StrEnum):
    """Per data item (SZ-10): the law that prescribes collecting it, or the subject's consent."""

    NONE = "none"
    LAW = "law"
    CONSENT = "consent"


class VersionState(StrEnum):
    DRAFT = "draft"  # 草稿
    SUBMITTED = "submitted"  # 待审核
    RETURNED = "returned"  # 退回修改
    PUBLISHED = "published"  # 已发布 (current)
    SUPERSEDED = "superseded"  # 已被新版本取代


class ResourceStatus(StrEnum):
    DRAFT = "draft"  # never published
    PUBLISHED = "published"
    RETIRING = "retiring"  # in its transition period (SZ-19)
    RETIRED = "retired"


class ReviewDecision(StrEnum):
    APPROVE = "approve"
    RETURN = "return"


@dataclass(frozen=True)
class DataItemInput:
    name: str
    code: str
    type: ItemType = ItemType.STRING
    length: int | None = None
    description: str = ""
    required: bool = False
    identifier: IdentifierKind = IdentifierKind.NONE
    sensitivity: str = "none"  # kernel.masking.SensitivityKind
    code_list: str = ""
    base_item: bool = False  # a base information item (基础信息项, SQ-10.2)
    collection_basis: CollectionBasis = CollectionBasis.NONE
    collection_basis_text: str = ""


@dataclass(frozen=True)
class EntryInput:
    """Everything a cataloguer states about one version of a resource."""

    name: str
    classification: Classification
    provider_department_id: str
    summary: str = ""
    base_kind: BaseKind | None = None
    theme: str = ""
    internal_division: str = ""
    format_category: FormatCategory | None = None
    format_type: str = ""
    update_cycle: UpdateCycle | None = None
    timeliness: str = ""
    share_category: ShareCategory | None = None
    share_scope: str = ""
    share_conditions: str = ""
    share_basis_type: str = ""
    share_basis_text: str = ""
    share_basis_ref: str = ""
    not_shared_reasons: str = ""
    head_sign_off: str = ""  # 主要负责人审签 (SQ-17): who signed and when
    delivery_modes: tuple[DeliveryMode, ...] = ()
    usage_requirements: str = ""
    dedicated_department_ids: tuple[str, ...] = ()
    open_category: OpenCategory = OpenCategory.CLOSED
    open_conditions: str = ""
    open_basis: str = ""
    open_review: str = ""  # 政务公开审查 / consent / public-interest basis (SZ-23)
    involves_state_secret: bool = False
    confidentiality_review: str = ""  # 保密审查 record (SQ-27, YX-12, SZ-26, NX-54)
    grade: str = ""  # 分级 (SZ-11)
    release_scenarios: str = ""  # application scenarios (SZ-11)
    release_consumers: str = ""  # consumer identity
    release_region: str = ""
    release_knowledge_scope: str = ""  # 知悉范围
    release_usage_scope: str = ""
    security_agreement_required: bool = False
    # HB-11: the controlled parameters (管控参数) an unconditional resource is served under;
    # when set, the provider (not the platform) authorises each application.
    controlled_parameters: str = ""
    tags: tuple[str, ...] = ()
    related_codes: tuple[str, ...] = ()
    single_source_justification: str = ""  # 一数一源: why a second source is needed
    data_items: tuple[DataItemInput, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class DataItem:
    position: int
    name: str
    code: str
    type: ItemType
    length: int | None
    description: str
    required: bool
    identifier: IdentifierKind
    sensitivity: str
    code_list: str
    base_item: bool
    collection_basis: CollectionBasis
    collection_basis_text: str


@dataclass(frozen=True)
class ResourceVersion:
    id: str
    resource_id: str
    code: str
    version_no: int
    state: VersionState
    entry: EntryInput
    created_by: str
    created_at: datetime
    submitted_at: datetime | None
    review_due: date | None
    review_due_provisional: bool
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_comment: str
    published_at: datetime | None
    overlaps: tuple[str, ...]  # resource codes that already provide overlapping items


@dataclass(frozen=True)
class Resource:
    id: str
    code: str
    provider_department_id: str
    status: ResourceStatus
    published_version_id: str | None
    draft_version_id: str | None
    retired_reason: str
    replacement_resource_id: str | None
    transition_ends_on: date | None
    created_at: datetime
    updated_at: datetime
