"""Administration pages for the authority and department admins: departments, users,
client systems. Each handler parses the form, calls one service, renders the result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from govshare.identity import queries, services
from govshare.identity.model import InterfaceKind
from govshare.identity.policy import Permission, can
from govshare.identity.services import DepartmentInput
from govshare.kernel.actor import Actor, Role
from govshare.kernel.errors import DomainError
from govshare.platform import Platform
from govshare.web.deps import PlatformDep, act_then_redirect, flash, locale_of, policy, render

router = APIRouter(prefix="/admin", include_in_schema=False)

ManageDepartments = Annotated[Actor, policy(Permission.MANAGE_DEPARTMENTS)]
ManageUsers = Annotated[Actor, policy(Permission.MANAGE_USERS)]
ManageClients = Annotated[Actor, policy(Permission.MANAGE_CLIENT_SYSTEMS)]


def _managed_department_ids(platform: PlatformDep, actor: Actor) -> set[str]:
    """Departments whose users / clients ``actor`` manages."""
    with platform.db.read() as conn:
        depts = queries.list_departments(conn)
    return {
        d.id
        for d in depts
        if can(
            actor, Permission.MANAGE_USERS, department_id=d.id, jurisdiction_id=d.jurisdiction_id
        )
    }


# Departments -----------------------------------------------------------------
@router.get("/departments")
def departments(
    request: Request, platform: PlatformDep, actor: ManageDepartments, q: str = ""
) -> HTMLResponse:
    with platform.db.read() as conn:
        items = queries.list_departments(
            conn, jurisdiction_ids=set(actor.governs), search=q or None
        )
        jurisdictions = {j.id: j for j in queries.list_jurisdictions(conn)}
    return render(
        request,
        "admin/departments.html",
        {"departments": items, "jurisdictions": jurisdictions, "q": q},
    )


def _department_form_context(platform: PlatformDep, actor: Actor) -> dict[str, object]:
    with platform.db.read() as conn:
        js = [j for j in queries.list_jurisdictions(conn) if j.id in actor.governs]
    return {"jurisdictions": js}


@router.get("/departments/new")
def new_department(
    request: Request, platform: PlatformDep, actor: ManageDepartments
) -> HTMLResponse:
    return render(
        request,
        "admin/department_form.html",
        {**_department_form_context(platform, actor), "department": None, "form": {}},
    )


class DepartmentForm(BaseModel):
    """The department form as posted by the admin pages (checkboxes arrive as "1" or not)."""

    name: str = ""
    short_name: str = ""
    uscc: str = ""
    jurisdiction_id: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    is_authority: str | None = None
    is_operator: str | None = None

    def to_input(self) -> DepartmentInput:
        return DepartmentInput(
            **self.model_dump(exclude={"is_authority", "is_operator"}),
            is_authority=bool(self.is_authority),
            is_operator=bool(self.is_operator),
        )


DepartmentFormDep = Annotated[DepartmentForm, Form()]


@router.post("/departments")
def create_department(
    request: Request,
    platform: PlatformDep,
    actor: ManageDepartments,
    form: DepartmentFormDep,
) -> Response:
    data = form.to_input()
    try:
        dept = services.create_department(platform.db, data, actor=actor)
    except DomainError as exc:
        return render(
            request,
            "admin/department_form.html",
            {
                **_department_form_context(platform, actor),
                "department": None,
                "form": data.__dict__,
                "error": exc.message(locale_of(request)),
                "error_field": exc.field,
            },
            status=exc.status,
        )
    flash(request, dept.name)
    return RedirectResponse(f"/admin/departments/{dept.id}", status_code=303)


@router.get("/departments/{department_id}")
def department_detail(
    request: Request, department_id: str, platform: PlatformDep, actor: ManageDepartments
) -> HTMLResponse:
    with platform.db.read() as conn:
        dept = queries.get_department(conn, department_id)
        if dept.jurisdiction_id not in actor.governs:
            from govshare.kernel.errors import NotFound

            raise NotFound("部门不存在", "no such department")
        interfaces = queries.list_interfaces(conn, department_id)
        users = queries.list_users(conn, department_ids={department_id})
        clients = queries.list_client_systems(conn, department_ids={department_id})
    return render(
        request,
        "admin/department_detail.html",
        {
            **_department_form_context(platform, actor),
            "department": dept,
            "form": dept.__dict__,
            "interfaces": interfaces,
            "users": users,
            "clients": clients,
            "interface_kinds": list(InterfaceKind),
        },
    )


@router.post("/departments/{department_id}")
def update_department(
    request: Request,
    department_id: str,
    platform: PlatformDep,
    actor: ManageDepartments,
    form: DepartmentFormDep,
) -> Response:
    data = form.to_input()
    return act_then_redirect(
        request,
        f"/admin/departments/{department_id}",
        lambda: services.update_department(platform.db, department_id, data, actor=actor),
    )


@router.post("/departments/{department_id}/active")
def department_active(
    request: Request,
    department_id: str,
    platform: PlatformDep,
    actor: ManageDepartments,
    active: Annotated[str, Form()] = "0",
    reason: Annotated[str, Form()] = "",
) -> Response:
    services.set_department_active(
        platform.db, department_id, active == "1", actor=actor, reason=reason
    )
    return RedirectResponse(f"/admin/departments/{department_id}", status_code=303)


@router.post("/departments/{department_id}/responsibility")
def department_responsibility(
    request: Request,
    department_id: str,
    platform: PlatformDep,
    actor: ManageDepartments,
    responsible_unit: Annotated[str, Form()] = "",
    responsible_person: Annotated[str, Form()] = "",
) -> Response:
    return act_then_redirect(
        request,
        f"/admin/departments/{department_id}",
        lambda: services.file_responsibility(
            platform.db,
            department_id,
            responsible_unit=responsible_unit,
            responsible_person=responsible_person,
            actor=actor,
        ),
    )


@router.post("/departments/{department_id}/interfaces")
def department_interface(
    request: Request,
    department_id: str,
    platform: PlatformDep,
    actor: ManageDepartments,
    kind: Annotated[str, Form()] = "interface",
    name: Annotated[str, Form()] = "",
    endpoint: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    try:
        services.register_interface(
            platform.db,
            department_id,
            kind=InterfaceKind(kind),
            name=name,
            endpoint=endpoint,
            description=description,
            actor=actor,
        )
    except (DomainError, ValueError) as exc:
        msg = exc.message(locale_of(request)) if isinstance(exc, DomainError) else str(exc)
        flash(request, msg, "error")
    return RedirectResponse(f"/admin/departments/{department_id}", status_code=303)


# Users -------------------------------------------------------------------------
def _role_choices(platform: PlatformDep, actor: Actor) -> dict[str, object]:
    managed = _managed_department_ids(platform, actor)
    with platform.db.read() as conn:
        depts = [
            d for d in queries.list_departments(conn, include_inactive=False) if d.id in managed
        ]
    return {"departments": depts, "roles": list(Role)}


def _parse_roles(form_roles: list[str]) -> list[tuple[str, Role]]:
    out = []
    for item in form_roles:
        dept, _, role = item.partition(":")
        if dept and role in Role.__members__.values():
            out.append((dept, Role(role)))
    return out


@router.get("/users")
def users(request: Request, platform: PlatformDep, actor: ManageUsers) -> HTMLResponse:
    managed = _managed_department_ids(platform, actor)
    with platform.db.read() as conn:
        items = queries.list_users(conn, department_ids=managed)
        depts = {d.id: d for d in queries.list_departments(conn)}
    return render(request, "admin/users.html", {"users": items, "departments": depts})


@router.get("/users/new")
def new_user(request: Request, platform: PlatformDep, actor: ManageUsers) -> HTMLResponse:
    return render(
        request,
        "admin/user_form.html",
        {**_role_choices(platform, actor), "user": None, "form": {}, "selected": []},
    )


@router.post("/users")
async def create_user(request: Request, platform: PlatformDep, actor: ManageUsers) -> Response:
    form = await request.form()
    # the password hash and the write: in a worker thread, not on the event loop's
    return await run_in_threadpool(_create_user, request, platform, actor, form)


def _create_user(request: Request, platform: Platform, actor: Actor, form: FormData) -> Response:
    username = str(form.get("username", ""))
    display_name = str(form.get("display_name", ""))
    roles = _parse_roles([str(v) for v in form.getlist("roles")])
    try:
        user = services.create_user(
            platform.db,
            actor=actor,
            username=username,
            display_name=display_name,
            password=str(form.get("password", "")),
            roles=roles,
        )
    except DomainError as exc:
        return render(
            request,
            "admin/user_form.html",
            {
                **_role_choices(platform, actor),
                "user": None,
                "form": {"username": username, "display_name": display_name},
                "selected": [f"{d}:{r.value}" for d, r in roles],
                "error": exc.message(locale_of(request)),
                "error_field": exc.field,
            },
            status=exc.status,
        )
    flash(request, user.username)
    return RedirectResponse(f"/admin/users/{user.id}", status_code=303)


@router.get("/users/{user_id}")
def user_detail(
    request: Request, user_id: str, platform: PlatformDep, actor: ManageUsers
) -> HTMLResponse:
    managed = _managed_department_ids(platform, actor)
    with platform.db.read() as conn:
        user = queries.get_user(conn, user_id)
    if not any(d in managed for d, _ in user.roles):
        from govshare.kernel.errors import NotFound

        raise NotFound("用户不存在", "no such user")
    return render(
        request,
        "admin/user_form.html",
        {
            **_role_choices(platform, actor),
            "user": user,
            "form": {"username": user.username, "display_name": user.display_name},
            "selected": [f"{d}:{r.value}" for d, r in user.roles],
        },
    )


@router.post("/users/{user_id}")
async def update_user(
    request: Request, user_id: str, platform: PlatformDep, actor: ManageUsers
) -> Response:
    form = await request.form()
    return await run_in_threadpool(
        act_then_redirect,
        request,
        f"/admin/users/{user_id}",
        lambda: services.update_user(
            platform.db,
            user_id,
            actor=actor,
            display_name=str(form.get("display_name", "")),
            roles=_parse_roles([str(v) for v in form.getlist("roles")]),
        ),
    )


@router.post("/users/{user_id}/active")
def user_active(
    request: Request,
    user_id: str,
    platform: PlatformDep,
    actor: ManageUsers,
    active: Annotated[str, Form()] = "0",
) -> Response:
    return act_then_redirect(
        request,
        f"/admin/users/{user_id}",
        lambda: services.set_user_active(platform.db, user_id, active == "1", actor=actor),
    )


@router.post("/users/{user_id}/password")
def user_password(
    request: Request,
    user_id: str,
    platform: PlatformDep,
    actor: ManageUsers,
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        services.set_password(platform.db, user_id, password, actor=actor)
        flash(request, "OK")
    except DomainError as exc:
        flash(request, exc.message(locale_of(request)), "error")
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


# Client systems ----------------------------------------------------------------
@router.get("/clients")
def clients(request: Request, platform: PlatformDep, actor: ManageClients) -> HTMLResponse:
    managed = _managed_department_ids(platform, actor)
    with platform.db.read() as conn:
        items = queries.list_client_systems(conn, department_ids=managed)
        depts = {d.id: d for d in queries.list_departments(conn)}
    return render(
        request,
        "admin/clients.html",
        {
            "clients": items,
            "departments": depts,
            "choices": [depts[d] for d in sorted(managed) if depts[d].active],
        },
    )


@router.post("/clients")
def create_client(
    request: Request,
    platform: PlatformDep,
    actor: ManageClients,
    name: Annotated[str, Form()] = "",
    department_id: Annotated[str, Form()] = "",
) -> Response:
    try:
        created = services.create_client_system(
            platform.db, actor=actor, department_id=department_id, name=name
        )
    except DomainError as exc:
        flash(request, exc.message(locale_of(request)), "error")
        return RedirectResponse("/admin/clients", status_code=303)
    # The secret is shown on this one response and never again.
    response = render(
        request, "admin/client_secret.html", {"client": created.client, "secret": created.secret}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/clients/{client_pk}/rotate")
def rotate_client(
    request: Request, client_pk: str, platform: PlatformDep, actor: ManageClients
) -> Response:
    created = services.rotate_client_secret(platform.db, client_pk, actor=actor)
    response = render(
        request, "admin/client_secret.html", {"client": created.client, "secret": created.secret}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/clients/{client_pk}/revoke")
def revoke_client(
    request: Request,
    client_pk: str,
    platform: PlatformDep,
    actor: ManageClients,
    reason: Annotated[str, Form()] = "",
) -> Response:
    return act_then_redirect(
        request,
        "/admin/clients",
        lambda: services.revoke_client_system(platform.db, client_pk, actor=actor, reason=reason),
    )
