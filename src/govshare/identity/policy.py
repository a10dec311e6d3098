"""Every permission decision lives here. Routes name a Permission; they never test roles.

The rules:
- the data authority's admins (数据主管部门管理员) govern the departments, users and client
  systems of their jurisdiction and of the jurisdictions below it (counties are tenants of
  the city platform, SQ-11, NX-35);
- a department admin manages the users and client systems of its own department;
- auditors and authority admins read the audit log;
- every signed-in user sees their home page, the calendar and the rule profiles.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from govshare.identity.model import Department
from govshare.kernel.actor import Actor, ActorKind, Role
from govshare.kernel.errors import Forbidden, Unauthenticated


class Permission(StrEnum):
    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    MANAGE_DEPARTMENTS = "manage_departments"
    MANAGE_USERS = "manage_users"
    MANAGE_CLIENT_SYSTEMS = "manage_client_systems"
    VIEW_AUDIT = "view_audit"
    MANAGE_AUDIT = "manage_audit"  # checkpoints, purge
    LOAD_CALENDAR = "load_calendar"
    CLIENT_API = "client_api"  # a department business system with a valid token
    VIEW_CATALOG = "view_catalog"  # any signed-in government user
    EDIT_CATALOG = "edit_catalog"  # cataloguers and admins of the provider department
    REVIEW_CATALOG = "review_catalog"  # the data authority over the provider's jurisdiction
    FILE_DEMAND = "file_demand"  # a consumer department's staff
    LOAD_DATA = "load_data"  # the provider's staff load its data pools (汇聚)
    VIEW_POOLS = "view_pools"  # the provider and its authority see pools, batches, quality
    COORDINATE = "coordinate"  # the authority settles cross-source conflicts (SQ-15, YX-17)
    GOVERN_AGGREGATION = "govern_aggregation"  # the authority files agreements, approves


def _is_user(actor: Actor) -> bool:
    return actor.kind is ActorKind.USER


def _holds_any(actor: Actor, roles: tuple[Role, ...], department_id: str | None) -> bool:
    """Holds one of ``roles`` in ``department_id`` (in any department when None)."""
    return any(actor.has_role(r, department_id) for r in roles)


def can(
    actor: Actor,
    permission: Permission,
    *,
    department_id: str | None = None,
    jurisdiction_id: str | None = None,
) -> bool:
    """May ``actor`` do ``permission``, optionally on one department / jurisdiction?"""
    if actor.kind is ActorKind.SYSTEM:
        return True
    if permission is Permission.PUBLIC:
        return True
    if permission is Permission.CLIENT_API:
        return actor.kind is ActorKind.CLIENT_SYSTEM
    if permission is Permission.LOAD_DATA and actor.kind is ActorKind.CLIENT_SYSTEM:
        # a department's business system loads its own department's pools (NX-29, YX-22)
        return department_id is None or actor.department_id == department_id
    if not _is_user(actor):
        return False
    if permission is Permission.SIGNED_IN:
        return True
    governs = (jurisdiction_id is None and bool(actor.governs)) or jurisdiction_id in actor.governs
    if permission in (
        Permission.MANAGE_DEPARTMENTS,
        Permission.LOAD_CALENDAR,
        Permission.MANAGE_AUDIT,
        Permission.COORDINATE,
    ):
        return actor.has_role(Role.AUTHORITY_ADMIN) and governs
    if permission in (Permission.MANAGE_USERS, Permission.MANAGE_CLIENT_SYSTEMS):
        if actor.has_role(Role.AUTHORITY_ADMIN) and governs:
            return True
        if department_id is None:
            return actor.has_role(Role.DEPT_ADMIN)
        return actor.has_role(Role.DEPT_ADMIN, department_id)
    if permission is Permission.VIEW_CATALOG:
        return bool(actor.roles)
    if permission is Permission.EDIT_CATALOG:
        if actor.has_role(Role.AUTHORITY_ADMIN) and governs:
            return True
        return _holds_any(actor, (Role.CATALOGUER, Role.DEPT_ADMIN), department_id)
    if permission in (Permission.REVIEW_CATALOG, Permission.GOVERN_AGGREGATION):
        return actor.has_role(Role.AUTHORITY_ADMIN) and governs
    if permission is Permission.FILE_DEMAND:
        roles = (Role.DATA_USER, Role.DEPT_ADMIN, Role.CATALOGUER, Role.AUTHORITY_ADMIN)
        return _holds_any(actor, roles, department_id)
    if permission is Permission.LOAD_DATA:
        return _holds_any(actor, (Role.CATALOGUER, Role.DEPT_ADMIN, Role.OPERATOR), department_id)
    if permission is Permission.VIEW_POOLS:
        if actor.has_role(Role.AUTHORITY_ADMIN) and governs:
            return True
        return _holds_any(actor, (Role.CATALOGUER, Role.DEPT_ADMIN), department_id)
    if permission is Permission.VIEW_AUDIT:
        return actor.has_role(Role.AUDITOR) or actor.has_role(Role.AUTHORITY_ADMIN)
    return False


def departments_where(
    actor: Actor, permission: Permission, departments: Iterable[Department]
) -> list[Department]:
    """The active government departments (technical service units excluded) on which
    ``actor`` holds ``permission``: the one filter behind the department choices of pages."""
    return [
        d
        for d in departments
        if d.active
        and not d.is_operator
        and can(actor, permission, department_id=d.id, jurisdiction_id=d.jurisdiction_id)
    ]


def require(
    actor: Actor,
    permission: Permission,
    *,
    department_id: str | None = None,
    jurisdiction_id: str | None = None,
) -> None:
    if can(actor, permission, department_id=department_id, jurisdiction_id=jurisdiction_id):
        return
    if actor.kind is ActorKind.ANONYMOUS:
        raise Unauthenticated("请先登录", "please sign in first")
    raise Forbidden("没有执行此操作的权限", "you are not allowed to do this", code="forbidden")
