"""Every route declares its policy; the policy module alone decides."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from govshare.identity.policy import Permission, can
from govshare.kernel.actor import Actor, ActorKind, Role
from govshare.web.app import iter_routes
from govshare.web.deps import route_policy

# FastAPI's own OpenAPI route is public by design (the docs page is a route of ours).
FRAMEWORK_PUBLIC = {"/api/openapi.json"}


@pytest.mark.req("YX-25", "SQ-24")
def test_every_route_declares_a_policy(client: TestClient) -> None:
    missing = []
    for route in iter_routes(client.app):  # type: ignore[arg-type]
        path = getattr(route, "path", "")
        if isinstance(route, APIRoute):
            if route_policy(route) is None:
                missing.append(path)
        elif path not in FRAMEWORK_PUBLIC and not path.startswith(("/static", "/vendor")):
            missing.append(path)
    assert not missing, f"routes without a policy: {missing}"


@pytest.mark.req("YX-25")
def test_anonymous_callers_are_refused_everywhere_but_public_routes(client: TestClient) -> None:
    for route in iter_routes(client.app):  # type: ignore[arg-type]
        if not isinstance(route, APIRoute) or route_policy(route) is Permission.PUBLIC:
            continue
        path = route.path.replace("{department_id}", "X").replace("{user_id}", "X")
        path = path.replace("{client_pk}", "X").replace("{name}", "suqian")
        for method in route.methods:
            r = client.request(method, path, follow_redirects=False)
            assert r.status_code in (303, 401, 403, 422), (method, path, r.status_code)
            if r.status_code == 303:
                assert r.headers["location"].startswith("/login")


def test_policy_matrix() -> None:
    city, county = "J-CITY", "J-COUNTY"
    authority = Actor(
        kind=ActorKind.USER,
        id="a",
        name="a",
        roles=frozenset({("D-AUTH", Role.AUTHORITY_ADMIN)}),
        governs=frozenset({city, county}),
    )
    dept_admin = Actor(
        kind=ActorKind.USER, id="b", name="b", roles=frozenset({("D-POL", Role.DEPT_ADMIN)})
    )
    auditor = Actor(
        kind=ActorKind.USER, id="c", name="c", roles=frozenset({("D-AUTH", Role.AUDITOR)})
    )
    client_system = Actor(kind=ActorKind.CLIENT_SYSTEM, id="cs", name="cs", department_id="D-POL")
    anonymous = Actor.anonymous()
    assert can(authority, Permission.MANAGE_DEPARTMENTS, jurisdiction_id=county)
    assert not can(authority, Permission.MANAGE_DEPARTMENTS, jurisdiction_id="J-OTHER")
    assert not can(dept_admin, Permission.MANAGE_DEPARTMENTS)
    assert can(dept_admin, Permission.MANAGE_USERS, department_id="D-POL")
    assert not can(dept_admin, Permission.MANAGE_USERS, department_id="D-HR")
    assert can(auditor, Permission.VIEW_AUDIT) and not can(auditor, Permission.MANAGE_AUDIT)
    assert not can(dept_admin, Permission.VIEW_AUDIT)
    assert can(client_system, Permission.CLIENT_API)
    assert not can(client_system, Permission.SIGNED_IN)
    assert not can(authority, Permission.CLIENT_API)
    assert not can(anonymous, Permission.SIGNED_IN) and can(anonymous, Permission.PUBLIC)
