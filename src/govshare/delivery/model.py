"""Data services vocabulary (数据服务): masking levels, the grant as a call sees it, call
context, verification outcomes and the call receipt (调用记录凭证)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from govshare.aggregation.pools import Pool


class MaskLevel(StrEnum):
    """How a granted item leaves the platform (share_grant.items[].masking)."""

    MASKED = "masked"  # the sensitivity kind's rule (the default)
    RAW = "raw"  # only where the grant says raw
    PSEUDONYM = "pseudonym"  # keyed HMAC per consumer department: stable, not reversible
    SUPPRESSED = "suppressed"  # never leaves (null)


class VerifyOutcome(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    NO_RECORD = "no_record"


@dataclass(frozen=True)
class GrantedItem:
    code: str
    level: MaskLevel
    sensitivity: str  # kernel.masking.SensitivityKind value of the data item
    name: str = ""


@dataclass(frozen=True)
class GrantView:
    """A share grant with what a call needs of its resource, read per call (so that a
    suspension or revocation bites at the next call, NX-41)."""

    id: str
    consumer_department_id: str
    client_system_id: str | None
    resource_id: str
    resource_code: str
    resource_status: str
    provider_department_id: str
    version_id: str
    version_no: int
    items: tuple[GrantedItem, ...]
    modes: tuple[str, ...]
    purpose: str
    valid_until: date
    status: str
    rate_limit_per_minute: int
    quota_per_day: int
    transition_until: date | None  # the grant's own cut-off (SZ-19)
    resource_transition_ends_on: date | None  # the retiring resource's cut-off
    replacement_code: str | None  # the resource that replaces a retiring one
    calls_today: int  # authorised calls so far today (Asia/Shanghai day), all modes
    client_system_client_id: str | None = None  # OAuth client id of the named client system
    pool: Pool | None = None  # the pool serving the grant's version, read with the grant

    def item(self, code: str) -> GrantedItem | None:
        return next((i for i in self.items if i.code == code), None)

    @property
    def cut_off(self) -> date | None:
        """The last day the grant's resource is served, when it is being retired."""
        days = [d for d in (self.transition_until, self.resource_transition_ends_on) if d]
        return min(days) if days else None


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class CallHeaders:
    """What every call must say about itself: the purpose (must match the grant's, SQ-21),
    the civil servant acting (X-End-User) and the case number (X-Case-Number, 办件编号)."""

    purpose: str | None
    end_user: str | None
    case_no: str | None


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class ClientRef:
    """The calling business system (部门业务系统)."""

    id: str  # client_system.id
    client_id: str
    name: str
    department_id: str


@dataclass(frozen=True)
class Sunset:
    """A retiring resource served through its transition (SZ-19)."""

    cut_off: date  # the last day served
    replacement_code: str | None
