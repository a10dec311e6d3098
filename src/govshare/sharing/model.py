"""Share applications (共享申请), their steps and the grants (授权) they produce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class ApplicationState(StrEnum):
    COMPLIANCE_REVIEW = "compliance_review"  # the authority checks it (SZ-15.1, HB-19)
    AWAITING_DECISION = "awaiting_decision"  # with the decider (provider / agent / authority)
    APPROVED = "approved"  # a grant was issued
    REFUSED = "refused"  # refused with reasons (SQ-19, SZ-16.2, HB-20)
    NEGOTIATING = "negotiating"  # consumer and provider negotiate after a refusal (SZ-15.3)
    COORDINATING = "coordinating"  # the authority coordinates and decides (SZ-15.3, HB-25)


class Purpose(StrEnum):
    ADMINISTRATIVE_BASIS = "administrative_basis"  # 行政依据
    WORK_REFERENCE = "work_reference"  # 工作参考
    VERIFICATION = "verification"  # 数据校核
    COLLABORATION = "collaboration"  # 业务协同


class StepKind(StrEnum):
    SUBMISSION = "submission"
    COMPLIANCE_REVIEW = "compliance_review"  # 符合性审查 by the authority
    DIRECT_AUTHORISATION = "direct_authorisation"  # the platform authorises (HB-21)
    DECISION = "decision"  # provider, its delegated reviewer, or the authority decides
    CONSUMER_NOTICE = "consumer_notice"  # the consumer is told the result (HB-20)
    DEDICATED = "dedicated"  # 专用: granted without review (SZ-16.3)
    COORDINATION = "coordination"  # the authority coordinates a dispute (SZ-15.3, HB-25)


class StepDecision(StrEnum):
    PASSED = "passed"  # compliance review passed, forwarded
    APPROVE = "approve"
    REFUSE = "refuse"
    DONE = "done"
    UPHOLD = "uphold"  # coordination upholds the refusal


class GrantStatus(StrEnum):
    PENDING_AGREEMENT = "pending_agreement"  # YX-21: waits for the security agreement
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Masking(StrEnum):
    MASKED = "masked"  # the item's sensitivity rule (default)
    RAW = "raw"  # only where the provider approved it explicitly, with a basis
    PSEUDONYM = "pseudonym"  # keyed per consumer, stable for linking
    SUPPRESSED = "suppressed"


class NegotiationState(StrEnum):
    OPEN = "open"  # consumer and provider exchange messages
    COORDINATION = "coordination"  # escalated: the authority decides
    CLOSED = "closed"


class NegotiationOutcome(StrEnum):
    AGREED = "agreed"  # the provider granted after all
    WITHDRAWN = "withdrawn"  # the consumer gave up
    GRANTED = "granted"  # the authority's coordination granted
    UPHELD = "upheld"  # the authority upheld the refusal


class AttachmentKind(StrEnum):
    SUPPORTING = "supporting"  # documents supporting an application
    SECURITY_AGREEMENT = "security_agreement"  # the signed 安全(保密)协议 (YX-21, SZ-11)
    DESTRUCTION = "destruction"  # a destruction certificate (SZ-27)


SUPERSEDED = "由续期授权替代"  # the reason on a grant replaced by its renewal

# Default call limits of a grant when the decider states none.
DEFAULT_RATE_LIMIT_PER_MINUTE = 600
DEFAULT_QUOTA_PER_DAY = 100_000


@dataclass(frozen=True)
class ApplicationInput:
    """Everything a consumer department states in a share application."""

    consumer_department_id: str
    resource_id: str
    items: tuple[str, ...]  # data-item codes of the published version (最少够用, NX-12)
    modes: tuple[str, ...]  # delivery modes
    purpose: Purpose
    scenario: str  # 应用场景
    legal_basis: str  # the legal basis of the consumer's duty
    valid_until: date
    client_system_id: str | None = None  # the business system that will use the data
    batch_justification: str = ""  # why query / verify do not suffice (NX-38)
    renews_grant_id: str | None = None  # a renewal of an existing grant
    controlled_parameters: str = ""  # the parameters asked for (HB-11)


@dataclass(frozen=True)
class Step:
    id: str
    application_id: str
    kind: StepKind
    department_id: str | None  # the department responsible for the step
    opened_at: datetime
    due_on: date | None
    due_provisional: bool
    actor: str | None  # who completed it
    at: datetime | None  # when it was completed
    decision: StepDecision | None
    reason: str
    agent_department_id: str | None  # set when a delegated reviewer decided (SZ-16.1)


@dataclass(frozen=True)
class Application:
    id: str
    consumer_department_id: str
    provider_department_id: str
    resource_id: str
    version_id: str
    items: tuple[str, ...]
    modes: tuple[str, ...]
    purpose: Purpose
    scenario: str
    legal_basis: str
    client_system_id: str | None
    valid_until: date
    batch_justification: str
    share_category: str
    state: ApplicationState
    submitted_at: datetime
    submitted_by: str
    grant_id: str | None
    steps: tuple[Step, ...]
    renews_grant_id: str | None = None
    controlled_parameters: str = ""


@dataclass(frozen=True)
class ApplicationRow:
    """An application in a list (no timeline)."""

    id: str
    consumer_department_id: str
    provider_department_id: str
    resource_id: str
    state: ApplicationState
    purpose: Purpose
    submitted_at: datetime
    share_category: str
    grant_id: str | None


@dataclass(frozen=True)
class GrantItem:
    code: str
    masking: Masking


@dataclass(frozen=True)
class Grant:
    id: str
    application_id: str | None
    consumer_department_id: str
    client_system_id: str | None
    resource_id: str
    version_id: str
    items: tuple[GrantItem, ...]
    modes: tuple[str, ...]
    purpose: str
    valid_until: date
    status: GrantStatus
    reason: str
    created_at: datetime
    updated_at: datetime
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE
    quota_per_day: int = DEFAULT_QUOTA_PER_DAY
    controlled_parameters: str = ""
    transition_until: date | None = None  # the resource retires; served until then (SZ-19)
    replacement_code: str | None = None
    renewed_from: str | None = None
    destruction_confirmed_at: datetime | None = None  # SZ-27
    destruction_confirmed_by: str | None = None
    destruction_note: str = ""

    @property
    def ended(self) -> bool:
        return self.status in (GrantStatus.EXPIRED, GrantStatus.REVOKED)

    @property
    def destruction_due(self) -> bool:
        """The grant ended and the consumer has not confirmed destruction (SZ-27)."""
        return self.ended and self.destruction_confirmed_at is None and not self.superseded

    @property
    def superseded(self) -> bool:
        return self.status is GrantStatus.EXPIRED and self.reason.startswith(SUPERSEDED)


@dataclass(frozen=True)
class NegotiationMessage:
    id: str
    department_id: str
    author: str
    at: datetime
    body: str


@dataclass(frozen=True)
class Negotiation:
    id: str
    application_id: str
    state: NegotiationState
    opened_by: str
    opened_at: datetime
    escalated_at: datetime | None
    closed_at: datetime | None
    outcome: NegotiationOutcome | None
    outcome_reason: str
    messages: tuple[NegotiationMessage, ...]


@dataclass(frozen=True)
class Attachment:
    id: str
    owner_kind: str
    owner_id: str
    kind: AttachmentKind
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


@dataclass(frozen=True)
class OnwardConsent:
    id: str
    grant_id: str
    recipient: str
    purpose: str
    consented_by: str
    consented_at: datetime


@dataclass(frozen=True)
class InboxItem:
    """One open step in a department's inbox (待办)."""

    step_id: str
    application_id: str
    kind: StepKind
    resource_id: str
    consumer_department_id: str
    due_on: date | None
    due_provisional: bool
    overdue: bool
    days_left: int | None  # calendar days until the due date (negative once overdue)
