"""Identity write path. Each service is one transaction with its audit entry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select, update

from govshare.audit import services as audit
from govshare.audit.keys import PlatformKeys
from govshare.audit.model import AuditAction
from govshare.identity import queries
from govshare.identity.auth import (
    DUMMY_HASH,
    MIN_PASSWORD_LENGTH,
    AccessToken,
    client_secret_matches,
    hash_client_secret,
    hash_password,
    issue_client_token,
    verify_password,
)
from govshare.identity.errors import AccountLocked, ClientAuthFailed, LoginFailed
from govshare.identity.model import (
    ClientSystem,
    Department,
    DepartmentInterface,
    InterfaceKind,
    Jurisdiction,
    JurisdictionLevel,
    NewClientSecret,
    User,
)
from govshare.identity.policy import Permission, require
from govshare.identity.tables import (
    app_user,
    client_system,
    department,
    department_interface,
    jurisdiction,
    user_role,
)
from govshare.kernel.actor import Actor, ActorKind, Role
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import Conflict, ValidationFailed
from govshare.kernel.identifiers import validate_uscc
from govshare.kernel.ids import new_id, new_secret
from govshare.kernel.masking import fingerprint
from govshare.storage.engine import Database, Transaction

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{2,63}$")
MOBILE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _required(value: str, field: str, zh: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(f"{zh}不能为空", f"{field} is required", field=field)
    return value


# Jurisdictions ---------------------------------------------------------------
def create_jurisdiction(
    db: Database,
    *,
    actor: Actor,
    code: str,
    name: str,
    level: JurisdictionLevel,
    profile: str,
    parent_id: str | None = None,
    known_profiles: set[str] | None = None,
) -> Jurisdiction:
    if actor.kind is not ActorKind.SYSTEM:
        require(actor, Permission.MANAGE_DEPARTMENTS, jurisdiction_id=parent_id)
    code = _required(code, "code", "行政区划代码")
    if not re.fullmatch(r"\d{6}", code):
        raise ValidationFailed(
            "行政区划代码应为6位数字", "the division code must be six digits", field="code"
        )
    if known_profiles is not None and profile not in known_profiles:
        raise ValidationFailed(
            f"规则配置“{profile}”不存在", f"no rule profile named '{profile}'", field="profile"
        )
    j = Jurisdiction(
        id=new_id(),
        code=code,
        name=_required(name, "name", "名称"),
        level=JurisdictionLevel(level),
        parent_id=parent_id,
        profile=profile,
    )
    with db.transaction() as tx:
        if tx.conn.execute(select(jurisdiction.c.id).where(jurisdiction.c.code == code)).first():
            raise Conflict("行政区划代码已存在", "that division code exists already", field="code")
        tx.conn.execute(
            insert(jurisdiction).values(
                id=j.id,
                code=j.code,
                name=j.name,
                level=j.level.value,
                parent_id=j.parent_id,
                profile=j.profile,
                created_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.CREATE,
            "jurisdiction",
            j.id,
            details={"code": code, "name": j.name, "level": j.level.value, "profile": profile},
        )
    return j


# Departments -----------------------------------------------------------------
@dataclass(frozen=True)
class DepartmentInput:
    name: str
    short_name: str
    uscc: str
    jurisdiction_id: str
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    is_authority: bool = False
    is_operator: bool = False


def _clean_department(data: DepartmentInput) -> dict[str, object]:
    phone = (data.contact_phone or "").strip()
    if phone and not MOBILE_RE.match(phone):
        raise ValidationFailed(
            "联系电话格式不正确", "the contact phone number is malformed", field="contact_phone"
        )
    email = (data.contact_email or "").strip()
    if email and not EMAIL_RE.match(email):
        raise ValidationFailed(
            "电子邮箱格式不正确", "the contact e-mail address is malformed", field="contact_email"
        )
    return {
        "name": _required(data.name, "name", "部门名称"),
        "short_name": _required(data.short_name, "short_name", "简称"),
        "uscc": validate_uscc(data.uscc),
        "jurisdiction_id": _required(data.jurisdiction_id, "jurisdiction_id", "所属行政区划"),
        "contact_name": (data.contact_name or "").strip(),
        "contact_phone": phone,
        "contact_email": email,
        "is_authority": bool(data.is_authority),
        "is_operator": bool(data.is_operator),
    }


def _check_department_unique(
    tx: Transaction, values: dict[str, object], exclude_id: str | None = None
) -> None:
    q = select(department.c.id, department.c.uscc, department.c.name).where(
        (department.c.uscc == values["uscc"])
        | (
            (department.c.name == values["name"])
            & (department.c.jurisdiction_id == values["jurisdiction_id"])
        )
    )
    for row in tx.conn.execute(q).all():
        if row.id == exclude_id:
            continue
        if row.uscc == values["uscc"]:
            raise Conflict(
                "该统一社会信用代码已被其他部门使用",
                "another department already has that unified social credit code",
                field="uscc",
            )
        raise Conflict(
            "同一行政区划内已有同名部门",
            "a department with that name exists in this jurisdiction",
            field="name",
        )
    if values["is_authority"]:
        other = tx.conn.execute(
            select(department.c.id).where(
                department.c.jurisdiction_id == values["jurisdiction_id"],
                department.c.is_authority.is_(True),
            )
        ).first()
        if other is not None and other.id != exclude_id:
            raise Conflict(
                "每个行政区划只能有一个数据主管部门",
                "a jurisdiction has exactly one data authority",
                field="is_authority",
            )


def create_department(db: Database, data: DepartmentInput, *, actor: Actor) -> Department:
    values = _clean_department(data)
    require(actor, Permission.MANAGE_DEPARTMENTS, jurisdiction_id=str(values["jurisdiction_id"]))
    now = utcnow()
    dept_id = new_id()
    with db.transaction() as tx:
        queries.get_jurisdiction(tx.conn, str(values["jurisdiction_id"]))
        _check_department_unique(tx, values)
        tx.conn.execute(
            insert(department).values(
                id=dept_id, active=True, created_at=now, updated_at=now, **values
            )
        )
        audit.record(tx, actor, AuditAction.CREATE, "department", dept_id, details=values)
        return queries.get_department(tx.conn, dept_id)


def update_department(
    db: Database, department_id: str, data: DepartmentInput, *, actor: Actor
) -> Department:
    values = _clean_department(data)
    with db.transaction() as tx:
        before = queries.get_department(tx.conn, department_id)
        require(actor, Permission.MANAGE_DEPARTMENTS, jurisdiction_id=before.jurisdiction_id)
        require(
            actor, Permission.MANAGE_DEPARTMENTS, jurisdiction_id=str(values["jurisdiction_id"])
        )
        _check_department_unique(tx, values, exclude_id=department_id)
        changed = {k: v for k, v in values.items() if getattr(before, k) != v}
        if changed:
            tx.conn.execute(
                update(department)
                .where(department.c.id == department_id)
                .values(updated_at=utcnow(), **changed)
            )
            audit.record(
                tx, actor, AuditAction.UPDATE, "department", department_id, details=changed
            )
        return queries.get_department(tx.conn, department_id)


def set_department_active(
    db: Database, department_id: str, active: bool, *, actor: Actor, reason: str = ""
) -> Department:
    with db.transaction() as tx:
        before = queries.get_department(tx.conn, department_id)
        require(actor, Permission.MANAGE_DEPARTMENTS, jurisdiction_id=before.jurisdiction_id)
        if before.active != active:
            tx.conn.execute(
                update(department)
                .where(department.c.id == department_id)
                .values(active=active, updated_at=utcnow())
            )
            audit.record(
                tx,
                actor,
                AuditAction.ACTIVATE if active else AuditAction.DEACTIVATE,
                "department",
                department_id,
                details={"reason": reason},
            )
        return queries.get_department(tx.conn, department_id)


def file_responsibility(
    db: Database,
    department_id: str,
    *,
    responsible_unit: str,
    responsible_person: str,
    actor: Actor,
) -> Department:
    """SZ-4: a department's responsible unit and person, filed with the authority (备案)."""
    unit = _required(responsible_unit, "responsible_unit", "责任处室")
    person = _required(responsible_person, "responsible_person", "责任人")
    with db.transaction() as tx:
        dept = queries.get_department(tx.conn, department_id)
        require(
            actor,
            Permission.MANAGE_USERS,
            department_id=department_id,
            jurisdiction_id=dept.jurisdiction_id,
        )
        tx.conn.execute(
            update(department)
            .where(department.c.id == department_id)
            .values(
                responsible_unit=unit,
                responsible_person=person,
                responsibility_filed_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.FILE_RESPONSIBILITY,
            "department",
            department_id,
            details={"responsible_unit": unit, "responsible_person": person},
        )
        return queries.get_department(tx.conn, department_id)


def register_interface(
    db: Database,
    department_id: str,
    *,
    kind: InterfaceKind,
    name: str,
    endpoint: str = "",
    description: str = "",
    actor: Actor,
) -> DepartmentInterface:
    """YX-4: record a department's business-system data interface or front-end processor."""
    iface = DepartmentInterface(
        id=new_id(),
        department_id=department_id,
        kind=InterfaceKind(kind),
        name=_required(name, "name", "名称"),
        endpoint=(endpoint or "").strip(),
        description=(description or "").strip(),
        active=True,
    )
    with db.transaction() as tx:
        dept = queries.get_department(tx.conn, department_id)
        require(
            actor,
            Permission.MANAGE_CLIENT_SYSTEMS,
            department_id=department_id,
            jurisdiction_id=dept.jurisdiction_id,
        )
        tx.conn.execute(
            insert(department_interface).values(
                id=iface.id,
                department_id=department_id,
                kind=iface.kind.value,
                name=iface.name,
                endpoint=iface.endpoint,
                description=iface.description,
                active=True,
                created_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.CREATE,
            "department_interface",
            iface.id,
            details={"department_id": department_id, "kind": iface.kind.value, "name": iface.name},
        )
    return iface


# Users -----------------------------------------------------------------------
def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"密码至少{MIN_PASSWORD_LENGTH}位",
            f"the password needs at least {MIN_PASSWORD_LENGTH} characters",
            field="password",
        )
    classes = sum(
        bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]")
    )
    if classes < 3:
        raise ValidationFailed(
            "密码须包含大写字母、小写字母、数字、符号中的至少三类",
            "the password needs three of: lower case, upper case, digits, symbols",
            field="password",
        )


def _check_roles(
    tx: Transaction, actor: Actor, roles: list[tuple[str, Role]]
) -> list[tuple[str, Role]]:
    out: list[tuple[str, Role]] = []
    for dept_id, role in roles:
        dept = queries.get_department(tx.conn, dept_id)
        role = Role(role)
        if role is Role.AUTHORITY_ADMIN:
            require(actor, Permission.MANAGE_DEPARTMENTS, jurisdiction_id=dept.jurisdiction_id)
            if not dept.is_authority:
                raise ValidationFailed(
                    "只有数据主管部门的用户可以担任主管部门管理员",
                    "only users of the data authority can be authority admins",
                    field="roles",
                )
        else:
            require(
                actor,
                Permission.MANAGE_USERS,
                department_id=dept_id,
                jurisdiction_id=dept.jurisdiction_id,
            )
        if role is Role.OPERATOR and not dept.is_operator:
            raise ValidationFailed(
                "技术服务单位角色只能授予技术服务单位的用户",
                "the operator role belongs to technical service units",
                field="roles",
            )
        if (dept_id, role) not in out:
            out.append((dept_id, role))
    return out


def create_user(
    db: Database,
    *,
    actor: Actor,
    username: str,
    display_name: str,
    password: str,
    roles: list[tuple[str, Role]],
) -> User:
    username = _required(username, "username", "用户名").lower()
    if not USERNAME_RE.match(username):
        raise ValidationFailed(
            "用户名须以小写字母开头，3至64位，只含小写字母、数字、下划线、点、连字符",
            "a username starts with a letter and has 3-64 of a-z 0-9 _ . -",
            field="username",
        )
    display_name = _required(display_name, "display_name", "姓名")
    _check_password(password)
    if not roles:
        raise ValidationFailed("至少指定一个角色", "give the user at least one role", field="roles")
    now = utcnow()
    user_id = new_id()
    with db.transaction() as tx:
        roles = _check_roles(tx, actor, roles)
        if tx.conn.execute(select(app_user.c.id).where(app_user.c.username == username)).first():
            raise Conflict("用户名已存在", "that username is taken", field="username")
        tx.conn.execute(
            insert(app_user).values(
                id=user_id,
                username=username,
                display_name=display_name,
                password_hash=hash_password(password),
                active=True,
                failed_logins=0,
                created_at=now,
                updated_at=now,
            )
        )
        for dept_id, role in roles:
            tx.conn.execute(
                insert(user_role).values(user_id=user_id, department_id=dept_id, role=role.value)
            )
        audit.record(
            tx,
            actor,
            AuditAction.CREATE,
            "app_user",
            user_id,
            details={"username": username, "roles": [f"{d}:{r.value}" for d, r in roles]},
        )
        return queries.get_user(tx.conn, user_id)


def _require_manage_user(tx: Transaction, actor: Actor, user: User) -> None:
    if not user.roles:
        require(actor, Permission.MANAGE_DEPARTMENTS)
    for dept_id, _ in user.roles:
        dept = queries.get_department(tx.conn, dept_id)
        require(
            actor,
            Permission.MANAGE_USERS,
            department_id=dept_id,
            jurisdiction_id=dept.jurisdiction_id,
        )


def update_user(
    db: Database,
    user_id: str,
    *,
    actor: Actor,
    display_name: str,
    roles: list[tuple[str, Role]],
) -> User:
    display_name = _required(display_name, "display_name", "姓名")
    if not roles:
        raise ValidationFailed("至少指定一个角色", "give the user at least one role", field="roles")
    with db.transaction() as tx:
        user = queries.get_user(tx.conn, user_id)
        _require_manage_user(tx, actor, user)
        new_roles = _check_roles(tx, actor, roles)
        old = set(user.roles)
        added = [r for r in new_roles if r not in old]
        removed = [r for r in user.roles if r not in set(new_roles)]
        for dept_id, role in removed:
            tx.conn.execute(
                delete(user_role).where(
                    user_role.c.user_id == user_id,
                    user_role.c.department_id == dept_id,
                    user_role.c.role == role.value,
                )
            )
        for dept_id, role in added:
            tx.conn.execute(
                insert(user_role).values(user_id=user_id, department_id=dept_id, role=role.value)
            )
        if display_name != user.display_name:
            tx.conn.execute(
                update(app_user)
                .where(app_user.c.id == user_id)
                .values(display_name=display_name, updated_at=utcnow())
            )
        if added or removed or display_name != user.display_name:
            audit.record(
                tx,
                actor,
                AuditAction.UPDATE,
                "app_user",
                user_id,
                details={
                    "display_name": display_name,
                    "roles_added": [f"{d}:{r.value}" for d, r in added],
                    "roles_removed": [f"{d}:{r.value}" for d, r in removed],
                },
            )
        return queries.get_user(tx.conn, user_id)


def set_user_active(db: Database, user_id: str, active: bool, *, actor: Actor) -> User:
    with db.transaction() as tx:
        user = queries.get_user(tx.conn, user_id)
        _require_manage_user(tx, actor, user)
        if user_id == actor.id and not active:
            raise ValidationFailed("不能停用自己的账号", "you cannot deactivate yourself")
        if user.active != active:
            tx.conn.execute(
                update(app_user)
                .where(app_user.c.id == user_id)
                .values(active=active, failed_logins=0, locked_until=None, updated_at=utcnow())
            )
            audit.record(
                tx,
                actor,
                AuditAction.ACTIVATE if active else AuditAction.DEACTIVATE,
                "app_user",
                user_id,
            )
        return queries.get_user(tx.conn, user_id)


def set_password(db: Database, user_id: str, password: str, *, actor: Actor) -> None:
    _check_password(password)
    with db.transaction() as tx:
        user = queries.get_user(tx.conn, user_id)
        if actor.id != user_id:
            _require_manage_user(tx, actor, user)
        tx.conn.execute(
            update(app_user)
            .where(app_user.c.id == user_id)
            .values(
                password_hash=hash_password(password),
                failed_logins=0,
                locked_until=None,
                updated_at=utcnow(),
            )
        )
        audit.record(
            tx, actor, AuditAction.UPDATE, "app_user", user_id, details={"password": "changed"}
        )


def authenticate(
    db: Database,
    *,
    username: str,
    password: str,
    max_failures: int,
    lockout_minutes: int,
    source: str = "",
) -> Actor:
    """Web sign-in. Wrong passwords count; ``max_failures`` in a row lock the account."""
    username = (username or "").strip().lower()
    now = utcnow()
    anonymous = Actor.anonymous()
    with db.transaction() as tx:
        row = tx.conn.execute(select(app_user).where(app_user.c.username == username)).first()
        if row is None:
            verify_password(DUMMY_HASH, password)  # same cost as a wrong password
            audit.record(
                tx,
                anonymous,
                AuditAction.LOGIN_FAILED,
                "app_user",
                fingerprint(username),
                details={"reason": "unknown_user", "source": source},
            )
            failure: Exception = LoginFailed()
        elif row.locked_until is not None and row.locked_until > now:
            audit.record(
                tx,
                anonymous,
                AuditAction.LOGIN_FAILED,
                "app_user",
                row.id,
                details={"reason": "locked", "source": source},
            )
            minutes = max(1, int((row.locked_until - now).total_seconds() // 60) + 1)
            failure = AccountLocked(minutes)
        elif not row.active or not verify_password(row.password_hash, password):
            failures = row.failed_logins + 1
            locked_until = (
                now + timedelta(minutes=lockout_minutes) if failures >= max_failures else None
            )
            tx.conn.execute(
                update(app_user)
                .where(app_user.c.id == row.id)
                .values(failed_logins=0 if locked_until else failures, locked_until=locked_until)
            )
            audit.record(
                tx,
                anonymous,
                AuditAction.LOGIN_FAILED,
                "app_user",
                row.id,
                details={
                    "reason": "inactive" if not row.active else "password",
                    "failures": failures,
                    "source": source,
                },
            )
            if locked_until is not None:
                audit.record(
                    tx,
                    Actor.system(),
                    AuditAction.LOCKOUT,
                    "app_user",
                    row.id,
                    details={"minutes": lockout_minutes},
                )
                failure = AccountLocked(lockout_minutes)
            else:
                failure = LoginFailed()
        else:
            tx.conn.execute(
                update(app_user)
                .where(app_user.c.id == row.id)
                .values(failed_logins=0, locked_until=None, last_login_at=now)
            )
            actor = queries.actor_for_user(tx.conn, row.id)
            if actor is None or not actor.roles:
                raise LoginFailed()
            audit.record(
                tx, actor, AuditAction.LOGIN, "app_user", row.id, details={"source": source}
            )
            return actor
    # the failure is raised after commit so that the counter and the audit entry persist
    raise failure


def record_logout(db: Database, *, actor: Actor) -> None:
    with db.transaction() as tx:
        audit.record(tx, actor, AuditAction.LOGOUT, "app_user", actor.id)


# Client systems --------------------------------------------------------------
def create_client_system(
    db: Database, *, actor: Actor, department_id: str, name: str, secret: str | None = None
) -> NewClientSecret:
    """Register a business system. ``secret`` is for the demo seed only; normally random."""
    name = _required(name, "name", "系统名称")
    if secret is not None and len(secret) < 32:
        raise ValidationFailed("密钥过短", "a client secret needs at least 32 characters")
    secret = secret or new_secret()
    pk = new_id()
    client_id = "cs_" + new_id().lower()
    with db.transaction() as tx:
        dept = queries.get_department(tx.conn, department_id)
        require(
            actor,
            Permission.MANAGE_CLIENT_SYSTEMS,
            department_id=department_id,
            jurisdiction_id=dept.jurisdiction_id,
        )
        if not dept.active:
            raise ValidationFailed(
                "部门已停用", "the department is deactivated", field="department_id"
            )
        tx.conn.execute(
            insert(client_system).values(
                id=pk,
                client_id=client_id,
                name=name,
                department_id=department_id,
                secret_hash=hash_client_secret(secret),
                active=True,
                created_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.CREATE,
            "client_system",
            pk,
            details={"client_id": client_id, "name": name, "department_id": department_id},
        )
        client = queries.get_client_system(tx.conn, pk)
    return NewClientSecret(client=client, secret=secret)


def rotate_client_secret(db: Database, client_pk: str, *, actor: Actor) -> NewClientSecret:
    secret = new_secret()
    with db.transaction() as tx:
        client = queries.get_client_system(tx.conn, client_pk)
        dept = queries.get_department(tx.conn, client.department_id)
        require(
            actor,
            Permission.MANAGE_CLIENT_SYSTEMS,
            department_id=client.department_id,
            jurisdiction_id=dept.jurisdiction_id,
        )
        if not client.active:
            raise Conflict(
                "已吊销的凭证不能更换密钥", "a revoked client cannot be given a new secret"
            )
        tx.conn.execute(
            update(client_system)
            .where(client_system.c.id == client_pk)
            .values(secret_hash=hash_client_secret(secret))
        )
        audit.record(tx, actor, AuditAction.ROTATE_SECRET, "client_system", client_pk)
    return NewClientSecret(client=client, secret=secret)


def revoke_client_system(
    db: Database, client_pk: str, *, actor: Actor, reason: str
) -> ClientSystem:
    """Revocation takes effect at once: every token check reads the client's status."""
    reason = _required(reason, "reason", "吊销原因")
    with db.transaction() as tx:
        client = queries.get_client_system(tx.conn, client_pk)
        dept = queries.get_department(tx.conn, client.department_id)
        require(
            actor,
            Permission.MANAGE_CLIENT_SYSTEMS,
            department_id=client.department_id,
            jurisdiction_id=dept.jurisdiction_id,
        )
        if client.active:
            tx.conn.execute(
                update(client_system)
                .where(client_system.c.id == client_pk)
                .values(active=False, revoked_at=utcnow(), revoked_reason=reason)
            )
            audit.record(
                tx,
                actor,
                AuditAction.REVOKE,
                "client_system",
                client_pk,
                details={"reason": reason},
            )
        return queries.get_client_system(tx.conn, client_pk)


def issue_token(
    db: Database,
    keys: PlatformKeys,
    *,
    client_id: str,
    client_secret: str,
    ttl_seconds: int,
    source: str = "",
) -> AccessToken:
    """OAuth2 client-credentials grant: a short-lived EdDSA-signed token."""
    now = utcnow()
    with db.transaction() as tx:
        row = tx.conn.execute(
            select(client_system).where(client_system.c.client_id == (client_id or ""))
        ).first()
        ok = (
            row is not None
            and row.active
            and client_secret_matches(row.secret_hash, client_secret or "")
        )
        if not ok:
            audit.record(
                tx,
                Actor.anonymous(),
                AuditAction.TOKEN_REFUSED,
                "client_system",
                row.id if row is not None else fingerprint(client_id or ""),
                details={"source": source, "revoked": bool(row is not None and not row.active)},
            )
        else:
            assert row is not None
            token = issue_client_token(
                keys,
                client_id=row.client_id,
                department_id=row.department_id,
                now=now,
                ttl_seconds=ttl_seconds,
            )
            tx.conn.execute(
                update(client_system).where(client_system.c.id == row.id).values(last_token_at=now)
            )
            client_actor = Actor(
                kind=ActorKind.CLIENT_SYSTEM,
                id=row.client_id,
                name=row.name,
                department_id=row.department_id,
            )
            audit.record(
                tx,
                client_actor,
                AuditAction.ISSUE_TOKEN,
                "client_system",
                row.id,
                details={"jti": token.jti, "expires_at": token.expires_at.isoformat()},
            )
            return token
    raise ClientAuthFailed()
