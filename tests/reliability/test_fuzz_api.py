"""API fuzzing: schemathesis generates requests from the app's own OpenAPI document and checks
every response: no 5xx, and status code, content type, headers and body conform to the
document. Every operation is covered with valid credentials — a client-system bearer token for
the client endpoints (and the load endpoints, which a department's business system may call),
a signed-in session with its CSRF token for the user endpoints. Path parameters are drawn from
both random values and real ids of the demo city (so that the handlers behind the 404 are
fuzzed too). Deterministic (derandomized) so that CI is stable; SQLite only, since the
subject is the HTTP layer, not the database (the authorization matrix and the web tests run
on both databases)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from schemathesis.core.failures import FailureGroup

from govshare.identity.policy import Permission
from govshare.platform import Platform
from govshare.web.app import create_app, iter_routes
from govshare.web.deps import route_policy
from tests.reliability.city_objects import seeded_city
from tests.web.conftest import login

MIN_CASES = 1000
# Operations that take a client token: the data services, and the loads (a department's
# business system pushes into its own department's pools, NX-29).
TOKEN_POLICIES = {Permission.CLIENT_API, Permission.LOAD_DATA}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@dataclass
class Credentials:
    session_cookie: str
    csrf: str
    token_by_department: dict[str, str]
    real_ids: dict[str, str] = field(default_factory=dict)


def _without_lifespan(app: Any) -> Any:
    """The app as schemathesis' ASGI transport sees it: requests go through, the lifespan is
    the test client's (started and stopped with the test), not one kept for the process."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return asgi


@pytest.fixture
def fuzz_city(sqlite_demo_platform: Platform) -> Iterator[tuple[TestClient, Credentials]]:
    city = seeded_city(sqlite_demo_platform)
    app = create_app(platform=sqlite_demo_platform)
    with TestClient(app, base_url="http://testserver") as client:
        csrf = login(client, "admin")
        cookie = client.cookies["govshare_session"]
        client.cookies.clear()
        tokens = {dept: city.token(client, name) for name, dept in city.clients.items()}
        yield client, Credentials(cookie, csrf, tokens, city.real_ids)


def test_every_operation_survives_fuzzing_and_conforms(
    fuzz_city: tuple[TestClient, Credentials],
) -> None:
    client, creds = fuzz_city
    policies = {
        (method, route.path): route_policy(route)
        for route in iter_routes(client.app)  # type: ignore[arg-type]
        if hasattr(route, "methods")
        for method in route.methods
    }
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", _without_lifespan(client.app))
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 100, "the document lost its operations"
    # generous: operations with few distinct inputs (no parameters) yield fewer cases
    per_operation = math.ceil(1.4 * MIN_CASES / len(operations))
    sent: Counter[str] = Counter()
    failures: list[str] = []

    for operation in operations:
        policy = policies[(operation.method.upper(), operation.path)]
        if policy in TOKEN_POLICIES:
            dept = "人社局" if policy is Permission.CLIENT_API else "公安局"
            headers = {
                "Authorization": f"Bearer {creds.token_by_department[dept]}",
                "X-Purpose": "administrative_basis",
                "X-End-User": "fuzz",
                "X-Case-Number": "FUZZ-1",
            }
        else:
            headers = {
                "Cookie": f"govshare_session={creds.session_cookie}",
                "X-CSRF-Token": creds.csrf,
            }
        names = [p.name for p in operation.iter_parameters() if p.location == "path"]
        real = {n: creds.real_ids[n] for n in names if n in creds.real_ids}
        strategy = operation.as_strategy()
        if real and len(real) == len(names):
            strategy = st.one_of(operation.as_strategy(path_parameters=real), strategy)

        @given(case=strategy)
        @settings(
            max_examples=per_operation,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call(headers=headers)  # noqa: B023
            sent[operation.label] += 1  # noqa: B023
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)  # noqa: B023
            except FailureGroup as exc:  # recorded; the run goes on to find the others
                failures.append(f"{operation.label}: {exc}"[:2000])  # noqa: B023

        run()

    total = sum(sent.values())
    print(f"fuzzed {total} cases over {len(operations)} operations")
    assert not failures, "\n\n".join(failures)
    assert total >= MIN_CASES
    assert set(sent) == {op.label for op in operations}, "an operation was not fuzzed"
