"""The demo city with objects to point at: 公安局 publishes a conditional population resource
with data in its pool; 人社局 holds an active grant on it and has a second application waiting
for 公安局's decision; 公安局 keeps a draft catalog entry. Each object carries a marker string
that appears nowhere else, so that a test can tell whether a response leaked it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fastapi.testclient import TestClient

from govshare.aggregation import ingest
from govshare.catalog import services as catalog
from govshare.demo.seed import demo_client_secret
from govshare.identity import queries as identity_queries
from govshare.platform import Platform
from govshare.sharing import services as sharing
from govshare.sharing.model import ApplicationInput, Purpose
from tests.integration.aggregation.conftest import ITEMS as SMALL_ITEMS
from tests.integration.catalog.conftest import City
from tests.integration.delivery.conftest import GRANTED, ROWS, population_resource

GRANT_MARKER = "授权标记GRANTQX7"  # the scenario of the granted application
APPLICATION_MARKER = "申请标记APPLQX7"  # the scenario of the pending application
DRAFT_MARKER = "草稿标记DRAFTQX7"  # the name of 公安局's draft entry
CLIENTS = {"人社业务系统": "人社局", "公安人口库接口": "公安局", "市场监管登记系统": "市场监管局"}


@dataclass
class SeededCity:
    city: City
    resource_id: str
    grant_id: str
    application_id: str  # pending, 人社局 → 公安局
    granted_application_id: str
    draft_version_id: str
    batch_id: str
    clients: dict[str, str] = field(default_factory=lambda: dict(CLIENTS))
    real_ids: dict[str, str] = field(default_factory=dict)

    def dept(self, short: str) -> str:
        return self.city.depts[short].id

    def token(self, client: TestClient, name: str) -> str:
        with self.city.db.read() as conn:
            cs = next(c for c in identity_queries.list_client_systems(conn) if c.name == name)
        r = client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": cs.client_id,
                "client_secret": demo_client_secret(name),
            },
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


def _application(
    city: City, resource_id: str, scenario: str, items: tuple[str, ...] = GRANTED
) -> ApplicationInput:
    return ApplicationInput(
        consumer_department_id=city.depts["人社局"].id,
        resource_id=resource_id,
        items=items,
        modes=("query", "verify"),
        purpose=Purpose.ADMINISTRATIVE_BASIS,
        scenario=scenario,
        legal_basis="《社会保险法》第七十四条",
        valid_until=date(2099, 12, 31),
    )


def seeded_city(platform: Platform) -> SeededCity:
    city = City(platform)
    rid = population_resource(city)
    loaded = ingest.push_rows(
        city.db, rid, ROWS, [], actor=city.actor("ga_catalog"), idempotency_key="city-objects"
    )
    granted = sharing.submit_application(
        city.db, city.profiles, _application(city, rid, GRANT_MARKER), actor=city.actor("rs_user")
    )
    decided = sharing.decide(
        city.db,
        city.profiles,
        granted.id,
        sharing.Decision(approve=True),
        actor=city.actor("ga_approver"),
    )
    assert decided.grant_id
    grant_id = decided.grant_id
    pending = sharing.submit_application(
        city.db,
        city.profiles,
        _application(city, rid, APPLICATION_MARKER, items=("name", "birth_date")),
        actor=city.actor("rs_user"),
    )
    draft = catalog.create_draft(
        city.db,
        city.profiles,
        city.entry(dept="公安局", name=DRAFT_MARKER, data_items=SMALL_ITEMS),
        actor=city.actor("ga_catalog"),
    )
    seeded = SeededCity(
        city=city,
        resource_id=rid,
        grant_id=grant_id,
        application_id=pending.id,
        granted_application_id=granted.id,
        draft_version_id=draft.id,
        batch_id=loaded.batch.id,
    )
    seeded.real_ids = {
        "resource_id": rid,
        "grant_id": grant_id,
        "application_id": pending.id,
        "version_id": draft.id,
        "batch_id": loaded.batch.id,
        "department_id": city.depts["公安局"].id,
        "name": "suqian",
    }
    return seeded
