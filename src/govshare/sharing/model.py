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


class StepDecision(StrEnum):
    PASSED = "passed"  # compliance review passed, forwarded
    APPROVE = "approve"
    REFUSE = "refuse"
    DONE = "done"


class GrantStatus(StrEnum):
    PENDING_AGREEMENT = "pending_agreement"  # YX-21: waits for the security agreement
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Masking(StrEnum):
    MASKED = "masked"
    RAW = "raw"


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
