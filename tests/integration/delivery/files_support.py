"""Shared set-up of the export, feed and document tests: the police's population resource
offered with every delivery mode, its pool seeded, and a grant to 人社局 with the batch,
feed and file modes, each item at a chosen masking level."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient

from govshare.aggregation import ingest
from govshare.catalog.model import DeliveryMode, ShareCategory
from govshare.delivery.export import ExportJob, job_for, request_export, run_export
from govshare.demo.seed import demo_client_secret
from govshare.identity import queries as identity_queries
from govshare.jobs.queue import make_queue
from govshare.platform import Platform
from govshare.web.app import create_app
from tests.integration.aggregation.conftest import publish as publish_resource
from tests.integration.catalog.conftest import City
from tests.integration.delivery.conftest import (
    HEADERS,
    ITEMS,
    ROWS,
    Delivery,
    client_actor,
    grant,
)

ALL_MODES = (
    DeliveryMode.QUERY,
    DeliveryMode.VERIFY,
    DeliveryMode.BATCH,
    DeliveryMode.FEED,
    DeliveryMode.FILE,
)
FILE_MODES = ("batch", "feed", "file")
# masked by rule, kept raw, pseudonymised or suppressed: every level is exercised
LEVELS = {
    "name": "masked",
    "id_card": "masked",
    "birth_date": "raw",
    "mobile": "masked",
    "address": "masked",
    "email": "suppressed",
}
# raw values that must never appear in any output under LEVELS
SECRETS = [
    "欧阳娜娜",
    "13812345678",
    "江苏省宿迁市宿城区幸福街道人民路18号",
    "幸福街道",
    "nana@example.cn",
    "13900001111",
]
HTTP_HEADERS = {
    "X-Purpose": "administrative_basis",
    "X-End-User": quote("周人社"),
    "X-Case-Number": "RS-2026-0001",
}


def files_resource(city: City, name: str = "居民人口信息（全方式）") -> str:
    return publish_resource(
        city,
        name=name,
        items=ITEMS,
        share_category=ShareCategory.CONDITIONAL,
        share_conditions="仅限社会保障业务",
        share_basis_type="law",
        share_basis_text="第十条",
        share_basis_ref="《某法》",
        delivery_modes=ALL_MODES,
    )


def files_delivery(city: City, rows: list[dict[str, Any]] | None = None) -> Delivery:
    rid = files_resource(city)
    ingest.push_rows(
        city.db,
        rid,
        rows if rows is not None else ROWS,
        [],
        actor=city.actor("ga_catalog"),
        idempotency_key="seed",
    )
    d = Delivery(
        city=city,
        platform=city.platform,
        resource_id=rid,
        grant_id=grant(city, rid, modes=FILE_MODES, batch_justification="社保待遇资格年度全量比对"),
        client=client_actor(city.platform, "人社业务系统"),
        other_client=client_actor(city.platform, "市场监管登记系统"),
    )
    d.set_grant(items=LEVELS)
    return d


def inline(platform: Platform) -> Any:
    """An enqueue that runs the export at once (what an immediate huey queue does)."""

    def enqueue(job_id: str) -> None:
        run_export(platform, job_id)

    return enqueue


def exported(
    d: Delivery,
    fmt: str = "csv",
    encoding: str | None = None,
    items: tuple[str, ...] | None = None,
) -> ExportJob:
    """An export requested by the grant's client system and run at once: the job as it
    ended (done, or failed with its error)."""
    done = request_export(
        d.platform,
        d.grant_id,
        fmt=fmt,
        encoding=encoding,
        items=items,
        call=HEADERS,
        actor=d.client,
        enqueue=inline(d.platform),
    )
    return job_for(d.platform, done.job.id, actor=d.client)


def token(client: TestClient, platform: Platform, name: str = "人社业务系统") -> str:
    with platform.db.read() as conn:
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


def bearer(client: TestClient, platform: Platform, name: str = "人社业务系统") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(client, platform, name)}", **HTTP_HEADERS}


def app_client(platform: Platform) -> Iterator[TestClient]:
    """The real app with an immediate job queue (exports run inside the request)."""
    queue = make_queue(platform.settings, platform=platform, immediate=True)
    app = create_app(platform=platform, queue=queue)
    with TestClient(app, base_url="http://testserver") as c:
        yield c
