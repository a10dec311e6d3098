"""Identity model: plain dataclasses, no framework imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from govshare.kernel.actor import Role


class JurisdictionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


class InterfaceKind(StrEnum):
    INTERFACE = "interface"  # 业务系统数据接口
    FRONT_END_PROCESSOR = "front_end_processor"  # 前置机


class PartyRole(StrEnum):
    """The four parties of NX-11. Provider and consumer are what a department does with a
    resource; authority and operator are what a department is."""

    AUTHORITY = "authority"
    PROVIDER = "provider"
    CONSUMER = "consumer"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Jurisdiction:
    id: str
    code: str
    name: str
    level: JurisdictionLevel
    parent_id: str | None
    profile: str


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    short_name: str
    uscc: str
    jurisdiction_id: str
    is_authority: bool
    is_operator: bool
    contact_name: str
    contact_phone: str
    contact_email: str
    responsible_unit: str
    responsible_person: str
    responsibility_filed_at: datetime | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @property
    def party_roles(self) -> set[PartyRole]:
        roles = {PartyRole.PROVIDER, PartyRole.CONSUMER}
        if self.is_authority:
            roles.add(PartyRole.AUTHORITY)
        if self.is_operator:
            roles = {PartyRole.OPERATOR}
        return roles


@dataclass(frozen=True)
class DepartmentInterface:
    id: str
    department_id: str
    kind: InterfaceKind
    name: str
    endpoint: str
    description: str
    active: bool


@dataclass(frozen=True)
class User:
    id: str
    username: str
    display_name: str
    active: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    roles: tuple[tuple[str, Role], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ClientSystem:
    id: str
    client_id: str
    name: str
    department_id: str
    active: bool
    revoked_at: datetime | None
    revoked_reason: str | None
    created_at: datetime
    last_token_at: datetime | None


@dataclass(frozen=True)
class NewClientSecret:
    """Returned once, at creation or rotation. The secret is never stored or shown again."""

    client: ClientSystem
    secret: str


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class VerifiedClient:
    """A client system whose access token was verified (signature, issuer, type, expiry):
    who calls, before the database has said whether the system is still active. A data
    service resolves it with ``identity.queries.active_client`` inside its own read
    transaction, so that a hot call reads the database once (a revoked system is refused
    at its very next call, as with the per-request check of every other route)."""

    client_id: str
