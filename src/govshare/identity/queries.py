"""Read side of identity for pages, APIs and the actor of each request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, bindparam, select

from govshare.identity.errors import ClientRevoked
from govshare.identity.model import (
    ClientSystem,
    Department,
    DepartmentInterface,
    InterfaceKind,
    Jurisdiction,
    JurisdictionLevel,
    User,
    VerifiedClient,
)
from govshare.identity.tables import (
    app_user,
    client_system,
    department,
    department_interface,
    jurisdiction,
    user_role,
)
from govshare.kernel.actor import Actor, ActorKind, Role
from govshare.kernel.errors import NotFound
from govshare.storage.prepared import Prepared


def _jurisdiction(row: Row[Any]) -> Jurisdiction:
    m = row._mapping
    return Jurisdiction(
        id=m["id"],
        code=m["code"],
        name=m["name"],
        level=JurisdictionLevel(m["level"]),
        parent_id=m["parent_id"],
        profile=m["profile"],
    )


def _department(row: Row[Any]) -> Department:
    return Department(**{k: row._mapping[k] for k in Department.__dataclass_fields__})


def _client(row: Row[Any]) -> ClientSystem:
    return ClientSystem(**{k: row._mapping[k] for k in ClientSystem.__dataclass_fields__})


def list_jurisdictions(conn: Connection) -> list[Jurisdiction]:
    rows = conn.execute(select(jurisdiction).order_by(jurisdiction.c.code)).all()
    return [_jurisdiction(r) for r in rows]


def get_jurisdiction(conn: Connection, jurisdiction_id: str) -> Jurisdiction:
    row = conn.execute(select(jurisdiction).where(jurisdiction.c.id == jurisdiction_id)).first()
    if row is None:
        raise NotFound("行政区划不存在", "no such jurisdiction")
    return _jurisdiction(row)


def jurisdiction_by_code(conn: Connection, code: str) -> Jurisdiction | None:
    row = conn.execute(select(jurisdiction).where(jurisdiction.c.code == code)).first()
    return _jurisdiction(row) if row else None


def descendant_jurisdictions(conn: Connection, root_id: str) -> set[str]:
    """``root_id`` and every jurisdiction below it."""
    rows = conn.execute(select(jurisdiction.c.id, jurisdiction.c.parent_id)).all()
    children: dict[str | None, list[str]] = {}
    for r in rows:
        children.setdefault(r.parent_id, []).append(r.id)
    out, stack = set(), [root_id]
    while stack:
        j = stack.pop()
        if j in out:
            continue
        out.add(j)
        stack.extend(children.get(j, []))
    return out


def list_departments(
    conn: Connection,
    *,
    jurisdiction_ids: set[str] | None = None,
    include_inactive: bool = True,
    search: str | None = None,
) -> list[Department]:
    q = select(department).order_by(department.c.jurisdiction_id, department.c.name)
    if jurisdiction_ids is not None:
        q = q.where(department.c.jurisdiction_id.in_(sorted(jurisdiction_ids)))
    if not include_inactive:
        q = q.where(department.c.active.is_(True))
    if search:
        like = f"%{search}%"
        q = q.where(department.c.name.like(like) | department.c.uscc.like(like))
    return [_department(r) for r in conn.execute(q).all()]


def get_department(conn: Connection, department_id: str) -> Department:
    row = conn.execute(select(department).where(department.c.id == department_id)).first()
    if row is None:
        raise NotFound("部门不存在", "no such department")
    return _department(row)


def department_by_uscc(conn: Connection, uscc: str) -> Department | None:
    row = conn.execute(select(department).where(department.c.uscc == uscc)).first()
    return _department(row) if row else None


def list_interfaces(conn: Connection, department_id: str) -> list[DepartmentInterface]:
    rows = conn.execute(
        select(department_interface)
        .where(department_interface.c.department_id == department_id)
        .order_by(department_interface.c.created_at)
    ).all()
    return [
        DepartmentInterface(
            id=r.id,
            department_id=r.department_id,
            kind=InterfaceKind(r.kind),
            name=r.name,
            endpoint=r.endpoint,
            description=r.description,
            active=r.active,
        )
        for r in rows
    ]


def _roles_of(conn: Connection, user_ids: list[str]) -> dict[str, list[tuple[str, Role]]]:
    out: dict[str, list[tuple[str, Role]]] = {u: [] for u in user_ids}
    if not user_ids:
        return out
    rows = conn.execute(
        select(user_role).where(user_role.c.user_id.in_(user_ids)).order_by(user_role.c.role)
    ).all()
    for r in rows:
        out[r.user_id].append((r.department_id, Role(r.role)))
    return out


def _user(row: Row[Any], roles: list[tuple[str, Role]]) -> User:
    m = row._mapping
    return User(
        id=m["id"],
        username=m["username"],
        display_name=m["display_name"],
        active=m["active"],
        failed_logins=m["failed_logins"],
        locked_until=m["locked_until"],
        last_login_at=m["last_login_at"],
        roles=tuple(roles),
    )


def list_users(conn: Connection, *, department_ids: set[str] | None = None) -> list[User]:
    q = select(app_user).order_by(app_user.c.username)
    if department_ids is not None:
        q = q.where(
            app_user.c.id.in_(
                select(user_role.c.user_id).where(
                    user_role.c.department_id.in_(sorted(department_ids))
                )
            )
        )
    rows = conn.execute(q).all()
    roles = _roles_of(conn, [r.id for r in rows])
    return [_user(r, roles[r.id]) for r in rows]


def get_user(conn: Connection, user_id: str) -> User:
    row = conn.execute(select(app_user).where(app_user.c.id == user_id)).first()
    if row is None:
        raise NotFound("用户不存在", "no such user")
    return _user(row, _roles_of(conn, [user_id])[user_id])


def user_by_username(conn: Connection, username: str) -> User | None:
    row = conn.execute(select(app_user).where(app_user.c.username == username)).first()
    return _user(row, _roles_of(conn, [row.id])[row.id]) if row else None


def actor_for_user(conn: Connection, user_id: str) -> Actor | None:
    """The acting identity of a signed-in user, or None if the account is gone or inactive."""
    row = conn.execute(select(app_user).where(app_user.c.id == user_id)).first()
    if row is None or not row.active:
        return None
    roles = _roles_of(conn, [user_id])[user_id]
    active_depts = {
        r.id: r.jurisdiction_id
        for r in conn.execute(
            select(department.c.id, department.c.jurisdiction_id).where(
                department.c.id.in_([d for d, _ in roles]), department.c.active.is_(True)
            )
        ).all()
    }
    roles = [(d, r) for d, r in roles if d in active_depts]
    governs: set[str] = set()
    for d, r in roles:
        if r is Role.AUTHORITY_ADMIN:
            governs |= descendant_jurisdictions(conn, active_depts[d])
    primary = roles[0][0] if roles else None
    return Actor(
        kind=ActorKind.USER,
        id=row.id,
        name=row.username,
        department_id=primary,
        roles=frozenset(roles),
        governs=frozenset(governs),
    )


def list_client_systems(
    conn: Connection, *, department_ids: set[str] | None = None
) -> list[ClientSystem]:
    q = select(client_system).order_by(client_system.c.created_at)
    if department_ids is not None:
        q = q.where(client_system.c.department_id.in_(sorted(department_ids)))
    return [_client(r) for r in conn.execute(q).all()]


def get_client_system(conn: Connection, client_pk: str) -> ClientSystem:
    row = conn.execute(select(client_system).where(client_system.c.id == client_pk)).first()
    if row is None:
        raise NotFound("业务系统不存在", "no such client system")
    return _client(row)


_CLIENT_ACTOR = Prepared(  # read on every data-service call
    select(
        client_system.c.id,
        client_system.c.client_id,
        client_system.c.name,
        client_system.c.department_id,
        client_system.c.active,
    ).where(client_system.c.client_id == bindparam("client_id"))
)


def active_client(conn: Connection, caller: VerifiedClient) -> Actor:
    """The client system a verified token names, read now (``ClientRevoked`` when it is
    revoked or unknown)."""
    actor = client_actor(conn, caller.client_id)
    if actor is None:
        raise ClientRevoked()
    return actor


def client_actor(conn: Connection, client_id: str) -> Actor | None:
    """The acting identity of a client system, or None if unknown or revoked (checked per call)."""
    row = _CLIENT_ACTOR.first(conn, {"client_id": client_id})
    if row is None or not row.active:
        return None
    return Actor(
        kind=ActorKind.CLIENT_SYSTEM,
        id=row.client_id,
        name=row.name,
        department_id=row.department_id,
    )
