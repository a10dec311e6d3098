"""The governed contenders, built on govshare's delivery package (issue 6): lookup and
verification over HTTP with token, grant check, masking, group-commit audit and receipt,
and the masked batch export. Each function returns what to run, or the reason it cannot
run in this tree (reported as "not available", never as a number).

The grant is made the ordinary way: 人社局's data user applies for the bench resource
(query, verify and batch, every item, masked as the grant's defaults say) and 公安局's
approver approves it, with call limits high enough not to throttle a benchmark (the
limits are the grant's terms, set in the approval; the checks still run on every call).
The client system 人社业务系统 takes its token through ``identity.services.issue_token``,
the function behind ``POST /oauth/token``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import quote

from bench import data
from bench.config import Config
from bench.platform_setup import BenchPlatform

if TYPE_CHECKING:
    from bench.suite_http import Target

CLIENT = "人社业务系统"
CONSUMER = "人社局"
PURPOSE = "administrative_basis"
END_USER = "周人社"
CASE_NO = "RS-2026-000123"
NEEDED = (
    "govshare.delivery.guard",
    "govshare.delivery.services.lookup",
    "govshare.sharing.services",
)


def missing(*modules: str) -> str:
    try:
        absent = [m for m in modules if importlib.util.find_spec(m) is None]
    except ModuleNotFoundError as exc:
        return f"{exc.name} not in this tree yet"
    return f"{', '.join(absent)} not in this tree yet" if absent else ""


@dataclass(frozen=True)
class Grant:
    grant_id: str
    client_id: str
    secret: str


def grant_for(bp: BenchPlatform) -> Grant:
    """The bench grant (made once per database)."""
    cached = bp.cache.get("grant")
    if isinstance(cached, Grant):
        return cached
    from bench.platform_setup import user_actor
    from govshare.demo.seed import demo_client_secret
    from govshare.identity import queries as identity_queries
    from govshare.sharing import services as sharing
    from govshare.sharing.model import ApplicationInput, Purpose

    db, profiles = bp.platform.db, bp.platform.profiles
    with db.read() as conn:
        consumer = next(
            d for d in identity_queries.list_departments(conn) if d.short_name == CONSUMER
        )
        client = next(c for c in identity_queries.list_client_systems(conn) if c.name == CLIENT)
    app = sharing.submit_application(
        db,
        profiles,
        ApplicationInput(
            consumer_department_id=consumer.id,
            resource_id=bp.resource_id,
            items=data.ITEM_CODES,
            modes=("query", "verify", "batch"),
            purpose=Purpose(PURPOSE),
            scenario="社会保险待遇资格认证（基准测试）",
            legal_basis="《社会保险法》第七十四条",
            valid_until=date(2099, 12, 31),
            batch_justification="待遇资格年度认证需要全量比对，联机查询和核验不能满足",
        ),
        actor=user_actor(bp.platform, "rs_user"),
    )
    done = sharing.decide(
        db,
        profiles,
        app.id,
        sharing.Decision(
            approve=True,
            limits=sharing.Limits(rate_limit_per_minute=100_000_000, quota_per_day=1_000_000_000),
        ),
        actor=user_actor(bp.platform, "ga_approver"),
    )
    if not done.grant_id:
        raise RuntimeError("the bench application was not granted")
    grant = Grant(done.grant_id, client.client_id, demo_client_secret(CLIENT))
    bp.cache["grant"] = grant
    return grant


def call_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "X-Purpose": PURPOSE,
        "X-End-User": quote(END_USER),
        "X-Case-Number": CASE_NO,
        "Content-Type": "application/json",
    }


def http_target(cfg: Config, bp: BenchPlatform, keys: list[tuple[str, str]]) -> Target | str:
    why = missing(*NEEDED, "govshare.web.routes.delivery_api")
    if why:
        return why
    from bench.loadgen import Request
    from bench.servers import free_port
    from bench.suite_http import Target, verify_body
    from govshare.identity import services as identity_services

    grant = grant_for(bp)
    token = identity_services.issue_token(
        bp.platform.db,
        bp.platform.keys,
        client_id=grant.client_id,
        client_secret=grant.secret,
        ttl_seconds=3600,
    ).token
    port = free_port()
    base = f"/api/v1/delivery/grants/{grant.grant_id}"
    target = Target(
        "govshare",
        port,
        [str(cfg.python.parent / "govshare"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        "/healthz",
        env={
            "GOVSHARE_DATABASE_URL": bp.url,
            "GOVSHARE_VAR_DIR": str(bp.settings.var_dir),
            "GOVSHARE_LOG_LEVEL": "WARNING",
            "GOVSHARE_CHECKPOINT_INTERVAL_SECONDS": "0",
        },
        headers=call_headers(token),
        loads={"lookup": [Request("GET", f"{base}/records?key={k}") for k, _ in keys]},
    )
    if bp.backend == "sqlite":
        target.loads["verify"] = [
            Request("POST", f"{base}/verify", verify_body(k, nm, i))
            for i, (k, nm) in enumerate(keys)
        ]
    return target


def export_command(cfg: Config, bp: BenchPlatform, table: str) -> list[str] | str:
    why = missing(*NEEDED, "govshare.delivery.export")
    if why:
        return why
    grant = grant_for(bp)
    return [
        str(cfg.python),
        "-m",
        "bench.worker",
        "export-govshare",
        "--url",
        bp.url,
        "--var-dir",
        str(bp.settings.var_dir),
        "--grant-id",
        grant.grant_id,
        "--client-id",
        grant.client_id,
    ]
