"""The authorization matrix: every route of the app (HTML and API) against every demo role,
a client-system token and an anonymous caller.

The expected outcome of each (route, caller) is derived, not observed:
- the route's declared policy, asked of ``identity.policy.can`` for the caller (route level);
- then the ownership rules of the object the path names (below): a share application or a
  grant is seen by its parties only (人社局 the consumer, 公安局 the provider, the authority
  admin); 公安局's draft by 公安局 and the authority; pools, batches, a department's users and
  client systems by whom the policy allows *on 公安局* (``can(..., department_id=公安局)``).
A denied call must answer 401 / 403 (anonymous HTML GETs: a redirect to sign-in; an object
hidden by design: 404) and carry none of the object's planted markers. Independently, no
response to any caller holds a marker of an object the caller may not read — lists included,
so one department never reads another's drafts, applications or grants.

Calls that the matrix expects to be allowed and that would change state (POST/PUT by a
permitted caller) are not sent: their authorization is the allowed side, covered by the
route's own tests; every call expected to be refused is sent, unsafe or not (with the
caller's CSRF token, so that the policy, not CSRF, is what refuses it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission, can
from govshare.kernel.actor import Actor, Role
from govshare.platform import Platform
from govshare.web.app import create_app, iter_routes
from govshare.web.deps import route_policy
from tests.conftest import _BACKENDS, _copy_of, make_settings
from tests.integration.delivery.conftest import P1
from tests.reliability.city_objects import (
    APPLICATION_MARKER,
    DRAFT_MARKER,
    GRANT_MARKER,
    SeededCity,
    seeded_city,
)
from tests.web.conftest import login

USERS = (
    "admin",
    "auditor",
    "ga_admin",
    "ga_catalog",
    "ga_approver",
    "scjg_admin",
    "rs_user",
    "rs_admin",
    "xzsp_admin",
    "xyb_admin",
    "ops",
)
CLIENT = "client:人社业务系统"
ANONYMOUS = "anonymous"
CALLERS = (ANONYMOUS, *USERS, CLIENT)

# Ownership rules of the planted objects (who may read each one) -------------------------
SHARING_PARTIES = {"admin", "rs_user", "rs_admin", "ga_admin", "ga_catalog", "ga_approver"}
GRANT_READERS = SHARING_PARTIES | {CLIENT}  # the consumer's business system uses its grant
DRAFT_READERS = {"admin", "ga_admin", "ga_catalog", "ga_approver"}  # 公安局 and its authority
DATA_READERS = {"admin", "ga_admin", "ga_catalog", CLIENT}  # the pool's rows
MARKERS = {
    APPLICATION_MARKER: SHARING_PARTIES,
    GRANT_MARKER: GRANT_READERS,
    DRAFT_MARKER: DRAFT_READERS,
    "欧阳娜娜": DATA_READERS,
    P1: DATA_READERS,
}
SHARING_PARAMS = {"application_id", "grant_id"}
# The grant's terms: it was granted for these modes; a data service of another mode refuses.
GRANT_MODES = {"query", "verify"}
MODE_ROUTES = {"/records": "query", "/verify": "verify", "/exports": "batch", "/changes": "feed"}
MODE_ROUTES["/documents"] = "file"
DEPARTMENT_SCOPED = {"resource_id", "batch_id", "department_id", "user_id", "client_pk"}
# A published resource is read by every catalog reader: these GETs are not department-scoped.
PUBLISHED_READS = ("/api/v1/catalog/resources/{resource_id}", "/catalog/resources/{resource_id}")
NO_SUCH = "01NOSUCHOBJECT000000000000"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
DELIVERY_HEADERS = {
    "X-Purpose": "administrative_basis",
    "X-End-User": "matrix",
    "X-Case-Number": "AUTHZ-1",
    "Idempotency-Key": "authz-matrix",  # a client's push needs one before it is looked at
}
# The audit log is the record of every operation: its readers (auditors, the authority
# admin, Permission.VIEW_AUDIT) read every object's name there, by design (SQ-25).
AUDIT_LOG = "/audit"
# A batch's quarantine file (rejected rows, raw) goes to the provider's staff only (T5).
PROVIDER_ONLY = {"/api/v1/pools/batches/{batch_id}/quarantine.csv"}
PROVIDER_STAFF = (Role.CATALOGUER, Role.DEPT_ADMIN)


@dataclass(frozen=True)
class Call:
    method: str
    template: str
    permission: Permission


def app_calls(app: Any) -> list[Call]:
    calls = []
    for route in iter_routes(app):
        if not isinstance(route, APIRoute):
            continue  # the framework's docs and static mounts (tests/web/test_policy.py)
        permission = route_policy(route)
        assert permission is not None, f"{route.path} declares no policy"
        calls += [Call(m, route.path, permission) for m in sorted(route.methods)]
    return calls


@dataclass
class Matrix:
    city: SeededCity
    app: Any
    actors: dict[str, Actor]
    ga: str
    jurisdiction: str
    ids: dict[str, str]

    def fill(self, template: str) -> str:
        path = template
        while "{" in path:
            name = path[path.index("{") + 1 : path.index("}")]
            path = path.replace("{" + name + "}", self.ids.get(name, NO_SUCH))
        return path

    def route_allows(self, caller: str, call: Call) -> bool:
        return can(self.actors[caller], call.permission)

    def object_allows(self, caller: str, call: Call) -> bool:
        """The ownership rule of the object the path names (True: none, or a readable one)."""
        params = {p.strip("{}") for p in call.template.split("/") if p.startswith("{")} & set(
            self.ids
        )
        if params & SHARING_PARAMS:
            if "grant_id" in params:
                needs = next(
                    (m for end, m in MODE_ROUTES.items() if call.template.endswith(end)), None
                )
                return caller in GRANT_READERS and (needs is None or needs in GRANT_MODES)
            return caller in SHARING_PARTIES
        if "version_id" in params:
            if caller not in DRAFT_READERS:
                return False
            if call.method in UNSAFE:
                return can(self.actors[caller], call.permission, department_id=self.ga)
            return True
        published = call.template.startswith(PUBLISHED_READS)
        if params == {"resource_id"} and call.method == "GET" and published:
            return True
        if call.template in PROVIDER_ONLY:
            return any(self.actors[caller].has_role(r, self.ga) for r in PROVIDER_STAFF)
        if params & DEPARTMENT_SCOPED:
            if call.template == "/api/v1/departments/{department_id}":
                return True  # the directory of departments is open to every signed-in user
            return can(
                self.actors[caller],
                call.permission,
                department_id=self.ga,
                jurisdiction_id=self.jurisdiction,
            )
        return True


def _actors(city: SeededCity) -> dict[str, Actor]:
    actors = {u: city.city.actor(u) for u in USERS}
    actors[ANONYMOUS] = Actor.anonymous()
    with city.city.db.read() as conn:
        cs = next(c for c in identity_queries.list_client_systems(conn) if c.name == "人社业务系统")
        client = identity_queries.client_actor(conn, cs.client_id)
    assert client is not None
    actors[CLIENT] = client
    return actors


@pytest.fixture(scope="module", params=_BACKENDS)
def matrix(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Matrix]:
    """One demo city per backend, shared by the callers: the matrix changes nothing (it sends
    no call that it expects to be allowed to change state, and the refused ones must not)."""
    tmp = tmp_path_factory.mktemp("authz")
    urls = _copy_of(request, tmp, "_sqlite_demo_template", "_pg_demo_template")
    platform = Platform.open(make_settings(tmp, next(urls)))
    try:
        city = seeded_city(platform)
        with city.city.db.read() as conn:
            ga_catalog = identity_queries.user_by_username(conn, "ga_catalog")
            police_client = next(
                c for c in identity_queries.list_client_systems(conn) if c.name == "公安人口库接口"
            )
        assert ga_catalog is not None
        ids = {**city.real_ids, "user_id": ga_catalog.id, "client_pk": police_client.id}
        yield Matrix(
            city=city,
            app=create_app(platform=platform),
            actors=_actors(city),
            ga=city.dept("公安局"),
            jurisdiction=city.city.depts["公安局"].jurisdiction_id,
            ids=ids,
        )
    finally:
        platform.close()
        next(urls, None)  # drops the copy


def _headers_for(m: Matrix, client: TestClient, caller: str) -> dict[str, str]:
    if caller == ANONYMOUS:
        return {}
    if caller == CLIENT:
        token = m.city.token(client, "人社业务系统")
        return {"Authorization": f"Bearer {token}", **DELIVERY_HEADERS}
    return {"X-CSRF-Token": login(client, caller)}


def _stopped_at_its_input(client: TestClient, r: Any, headers: dict[str, str]) -> bool:
    if r.status_code == 422:
        return bool(r.json()["error"]["code"] == "request_invalid")
    if r.status_code == 303:
        page = client.get(r.headers["location"], headers=headers, follow_redirects=False)
        return 'class="alert error"' in page.text
    return False


@pytest.mark.req("YX-25", "SQ-24")
@pytest.mark.parametrize("caller", CALLERS)
def test_every_route_refuses_whom_its_policy_and_owner_refuse(matrix: Matrix, caller: str) -> None:
    calls = app_calls(matrix.app)
    assert len(calls) >= 200, "the app lost its routes"
    unreadable = [marker for marker, readers in MARKERS.items() if caller not in readers]
    reads_audit = can(matrix.actors[caller], Permission.VIEW_AUDIT)
    problems: list[str] = []
    checked = 0
    with TestClient(matrix.app, base_url="http://testserver") as client:
        headers = _headers_for(matrix, client, caller)
        for call in calls:
            allowed = matrix.route_allows(caller, call) and matrix.object_allows(caller, call)
            if allowed and call.method in UNSAFE:
                continue  # would change the city; see the module's docstring
            path = matrix.fill(call.template)
            r = client.request(call.method, path, headers=headers, follow_redirects=False)
            checked += 1
            where = f"{call.method} {call.template} as {caller}: {r.status_code}"
            to_login = r.status_code == 303 and r.headers["location"].startswith("/login")
            if not allowed:
                route_level = not matrix.route_allows(caller, call)
                refusals = {401, 403} if route_level else {403, 404}
                refused = r.status_code in refusals or (
                    caller == ANONYMOUS and call.method == "GET" and to_login
                )
                if not route_level and call.method in UNSAFE and not refused:
                    # the matrix sends no body: a form or API call may stop at its missing
                    # fields first (422 request_invalid, or a form's error flash) — refused
                    # before it reached the object, which is all the matrix can ask of it
                    refused = _stopped_at_its_input(client, r, headers)
                if not refused:
                    problems.append(f"{where} — expected a refusal {sorted(refusals)}")
            elif r.status_code in (401, 403) or to_login:
                problems.append(f"{where} — expected to be let through")
            body = r.content.decode("utf-8", "replace")
            audit_log = reads_audit and call.template.startswith(AUDIT_LOG)
            leaked = [marker for marker in unreadable if marker in body and not audit_log]
            if leaked:
                problems.append(f"{where} — leaked {leaked}")
    print(f"{caller}: {checked} routes checked")
    assert checked >= 100
    assert not problems, "\n".join(problems)
