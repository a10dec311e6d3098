"""Who is acting: a user, a client system, or the platform itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ActorKind(StrEnum):
    USER = "user"
    CLIENT_SYSTEM = "client_system"
    SYSTEM = "system"
    ANONYMOUS = "anonymous"


class Role(StrEnum):
    """Roles are held per department (see identity.policy for what each may do)."""

    AUTHORITY_ADMIN = "authority_admin"  # 数据主管部门管理员
    DEPT_ADMIN = "dept_admin"  # 部门管理员
    CATALOGUER = "cataloguer"  # 目录编制员
    APPROVER = "approver"  # 审核员
    DATA_USER = "data_user"  # 数据使用人员
    AUDITOR = "auditor"  # 审计员
    OPERATOR = "operator"  # 技术服务单位人员 (NX-11)


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str
    name: str
    department_id: str | None = None
    roles: frozenset[tuple[str, Role]] = field(default_factory=frozenset)
    # Jurisdictions this actor governs as data authority (its own and those below it).
    governs: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(kind=ActorKind.SYSTEM, id=name, name=name)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(kind=ActorKind.ANONYMOUS, id="anonymous", name="anonymous")

    def has_role(self, role: Role, department_id: str | None = None) -> bool:
        return any(
            r == role and (department_id is None or d == department_id) for d, r in self.roles
        )

    def departments_with(self, role: Role) -> set[str]:
        return {d for d, r in self.roles if r == role}

    @property
    def all_roles(self) -> set[Role]:
        return {r for _, r in self.roles}
