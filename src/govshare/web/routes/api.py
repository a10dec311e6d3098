"""The JSON API (OpenAPI at /api/openapi.json). Errors are JSON with a 4xx status."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, ConfigDict, Field

from govshare.identity import queries, services
from govshare.identity.model import Department
from govshare.identity.policy import Permission
from govshare.identity.services import DepartmentInput
from govshare.kernel.actor import Actor
from govshare.kernel.errors import NotFound, ValidationFailed
from govshare.web.deps import SESSION_USER, PlatformDep, csrf_token, policy

router = APIRouter(tags=["api"])

SignedIn = Annotated[Actor, policy(Permission.SIGNED_IN)]
ManageDepartments = Annotated[Actor, policy(Permission.MANAGE_DEPARTMENTS)]


class ErrorBody(BaseModel):
    code: str
    message: str
    message_zh: str
    message_en: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (400, 401, 403, 404, 409, 422)
}


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    responses=ERRORS,
    dependencies=[policy(Permission.PUBLIC, csrf=False)],
)
def token(
    request: Request,
    platform: PlatformDep,
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str, Form()],
    client_secret: Annotated[str, Form()],
) -> TokenResponse:
    """OAuth2 client-credentials grant for department business systems (部门业务系统)."""
    if grant_type != "client_credentials":
        raise ValidationFailed(
            "仅支持 client_credentials 授权方式",
            "only the client_credentials grant is supported",
            code="unsupported_grant_type",
            field="grant_type",
        )
    ttl = platform.settings.token_ttl_seconds
    issued = services.issue_token(
        platform.db,
        platform.keys,
        client_id=client_id,
        client_secret=client_secret,
        ttl_seconds=ttl,
        source=request.client.host if request.client else "",
    )
    return TokenResponse(access_token=issued.token, expires_in=ttl)


class SessionIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class MeOut(BaseModel):
    kind: str
    id: str
    name: str
    department_id: str | None
    roles: list[str]
    csrf_token: str | None = None


def _me(actor: Actor, csrf: str | None = None) -> MeOut:
    return MeOut(
        kind=actor.kind.value,
        id=actor.id,
        name=actor.name,
        department_id=actor.department_id,
        roles=sorted(f"{d}:{r.value}" for d, r in actor.roles),
        csrf_token=csrf,
    )


@router.post(
    "/api/v1/session",
    response_model=MeOut,
    responses=ERRORS,
    dependencies=[policy(Permission.PUBLIC)],
)
def api_login(body: SessionIn, request: Request, platform: PlatformDep) -> MeOut:
    """Sign in for API use from a browser session; returns the CSRF token to send back
    in the X-CSRF-Token header on writes. (Only the CSRF check of the cookie session
    applies here: the caller must first GET /api/v1/session/csrf.)"""
    actor = services.authenticate(
        platform.db,
        username=body.username,
        password=body.password,
        max_failures=platform.settings.login_max_failures,
        lockout_minutes=platform.settings.login_lockout_minutes,
        source=request.client.host if request.client else "",
    )
    request.session.clear()
    request.session[SESSION_USER] = actor.id
    return _me(actor, csrf_token(request))


@router.get("/api/v1/session/csrf", dependencies=[policy(Permission.PUBLIC)])
def api_csrf(request: Request) -> dict[str, str]:
    return {"csrf_token": csrf_token(request)}


@router.get("/api/v1/me", response_model=MeOut, responses=ERRORS)
def me(actor: Annotated[Actor, policy(Permission.SIGNED_IN)]) -> MeOut:
    return _me(actor)


@router.get("/api/v1/client/me", response_model=MeOut, responses=ERRORS)
def client_me(actor: Annotated[Actor, policy(Permission.CLIENT_API)]) -> MeOut:
    """Who a department business system is, as its bearer token says."""
    return _me(actor)


class DepartmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    short_name: str = Field(max_length=50)
    uscc: str = Field(max_length=18, description="统一社会信用代码 (GB 32100-2015)")
    jurisdiction_id: str = Field(max_length=26)
    contact_name: str = Field(default="", max_length=50)
    contact_phone: str = Field(default="", max_length=30)
    contact_email: str = Field(default="", max_length=200)
    is_authority: bool = False
    is_operator: bool = False


class DepartmentOut(BaseModel):
    id: str
    name: str
    short_name: str
    uscc: str
    jurisdiction_id: str
    is_authority: bool
    is_operator: bool
    active: bool
    responsible_unit: str
    responsible_person: str

    @classmethod
    def of(cls, d: Department) -> DepartmentOut:
        return cls(**{k: getattr(d, k) for k in cls.model_fields})


@router.get("/api/v1/departments", response_model=list[DepartmentOut], responses=ERRORS)
def list_departments(platform: PlatformDep, actor: SignedIn) -> list[DepartmentOut]:
    """Departments are a directory every signed-in user may read (names and codes only)."""
    with platform.db.read() as conn:
        return [DepartmentOut.of(d) for d in queries.list_departments(conn)]


@router.post("/api/v1/departments", response_model=DepartmentOut, status_code=201, responses=ERRORS)
def create_department(
    body: DepartmentIn, platform: PlatformDep, actor: ManageDepartments
) -> DepartmentOut:
    dept = services.create_department(
        platform.db, DepartmentInput(**body.model_dump()), actor=actor
    )
    return DepartmentOut.of(dept)


@router.get("/api/v1/departments/{department_id}", response_model=DepartmentOut, responses=ERRORS)
def get_department(department_id: str, platform: PlatformDep, actor: SignedIn) -> DepartmentOut:
    with platform.db.read() as conn:
        return DepartmentOut.of(queries.get_department(conn, department_id))


class DeadlineOut(BaseModel):
    start: date
    working_days: int
    deadline: date
    provisional: bool
    unknown_years: list[int]


@router.get("/api/v1/calendar/add", response_model=DeadlineOut, responses=ERRORS)
def calendar_add(
    platform: PlatformDep, actor: SignedIn, start: date, days: int, provisional: bool = False
) -> DeadlineOut:
    """N working days after ``start`` (the start day is not counted)."""
    if not 1 <= days <= 366:
        raise ValidationFailed("天数应在1到366之间", "days must be between 1 and 366", field="days")
    result = platform.calendar().add_working_days(start, days, provisional=provisional)
    return DeadlineOut(
        start=start,
        working_days=days,
        deadline=result.day,
        provisional=result.provisional,
        unknown_years=list(result.unknown_years),
    )


@router.get("/api/v1/profiles/{name}", responses=ERRORS)
def get_profile(name: str, platform: PlatformDep, actor: SignedIn) -> dict[str, Any]:
    profile = platform.profiles.get(name)
    if profile is None:
        raise NotFound("规则配置不存在", "no such rule profile")
    return profile.model_dump(mode="json")
