"""Crash safety: the real server (``govshare serve`` in its own process) is killed with
SIGKILL in the middle of ingests (pushes and a large upload), approvals and a burst of
audited catalog writes; after a restart the audit chain verifies, no batch is partial, every
acknowledged operation is there. Then a zip bomb is thrown at the restarted server, whose
memory stays bounded. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx2 as httpx
import psutil
import pytest
from sqlalchemy import func, inspect, select, text
from typer.testing import CliRunner

from govshare.aggregation.tables import ingest_batch
from govshare.catalog import services as catalog_services
from govshare.catalog.tables import resource_version
from govshare.cli.main import app
from govshare.config import get_settings
from govshare.demo.seed import DEMO_PASSWORD, demo_client_secret
from govshare.identity import queries as identity_queries
from govshare.kernel.identifiers import id_card_check_char
from govshare.platform import Platform
from govshare.storage.engine import Database
from tests.integration.aggregation.conftest import publish
from tests.integration.catalog.conftest import City

ROOT = Path(__file__).resolve().parents[2]
GOVSHARE = ROOT / ".venv" / "bin" / "govshare"
HEADER = ["姓名", "公民身份号码", "性别", "出生日期", "手机号码", "月收入"]
BOMB = ROOT / "tests" / "data" / "bad" / "xlsx_zip_bomb.xlsx"


def id_for(n: int) -> str:
    born = date(1950, 1, 1) + timedelta(days=n // 900)
    first17 = f"321302{born:%Y%m%d}{n % 900 + 100:03d}"
    return first17 + id_card_check_char(first17)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(platform: Platform) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVSHARE_")}
    s = platform.settings
    env.update(
        GOVSHARE_DATABASE_URL=s.effective_database_url,
        GOVSHARE_VAR_DIR=str(s.var_dir),
        GOVSHARE_SECRET_KEY=s.secret_key,
        GOVSHARE_NODE_MODULES_DIR=str(s.node_modules_dir),
        GOVSHARE_CHECKPOINT_INTERVAL_SECONDS="1",  # signed checkpoints while it runs
        GOVSHARE_LOG_LEVEL="WARNING",
    )
    return env


@contextmanager
def server(platform: Platform, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(GOVSHARE), "serve", "--port", str(port)],
            env=_env(platform),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def _session(base: str, username: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    token = c.get("/api/v1/session/csrf").json()["csrf_token"]
    r = c.post(
        "/api/v1/session",
        json={"username": username, "password": DEMO_PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = c.get("/api/v1/session/csrf").json()["csrf_token"]
    return c


def _loop(stop: threading.Event, step: Callable[[int], None]) -> None:
    """Run ``step(i)`` until stopped or the server is gone (any transport error)."""
    i = 0
    while not stop.is_set():
        try:
            step(i)
        except (httpx.HTTPError, OSError):
            return
        i += 1


def _verify(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> str:
    """``govshare audit verify`` (in this process: the CLI's start-up is slow)."""
    for key, value in _env(platform).items():
        if key.startswith("GOVSHARE_"):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, ["audit", "verify"])
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.mark.req("SQ-25", "NX-33", "SQ-16")
def test_sigkill_mid_work_loses_nothing_acknowledged(
    demo_platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = demo_platform
    city = City(p)
    resource = publish(city)
    cat = city.actor("ga_catalog")
    to_approve = []
    for i in range(20):
        v = catalog_services.create_draft(
            p.db, p.profiles, city.entry(name=f"待审资源{i}"), actor=cat
        )
        to_approve.append(catalog_services.submit(p.db, p.profiles, v.id, actor=cat).id)
    with p.db.read() as conn:
        client = next(
            c for c in identity_queries.list_client_systems(conn) if c.name == "公安人口库接口"
        )
    p.db.dispose()
    log = tmp_path / "server.log"
    acked: dict[str, list[object]] = {"batches": [], "drafts": [], "approved": []}
    pushed_ids: dict[str, list[str]] = {}
    big = (
        "\r\n".join(
            ",".join(r)
            for r in [HEADER]
            + [["李四", id_for(100_000 + n), "1", "1990-01-01", "", ""] for n in range(10_000)]
        )
        + "\r\n"
    ).encode()

    with server(p, log) as (base, proc):
        provider, admin = _session(base, "ga_catalog"), _session(base, "admin")
        token = httpx.post(
            f"{base}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client.client_id,
                "client_secret": demo_client_secret("公安人口库接口"),
            },
        ).json()["access_token"]
        system = httpx.Client(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

        def push(i: int) -> None:
            ids = [id_for(i * 20 + k) for k in range(20)]
            rows = [
                dict(zip(HEADER, ["张三", x, "1", "1990-01-01", "", ""], strict=True)) for x in ids
            ]
            r = system.post(
                f"/api/v1/pools/{resource}/rows",
                json={"upserts": rows},
                headers={"Idempotency-Key": f"crash-{i}"},
            )
            assert r.status_code == 201, r.text
            acked["batches"].append(r.json()["id"])
            pushed_ids[r.json()["id"]] = ids

        def draft(i: int) -> None:
            r = provider.post(
                "/api/v1/catalog/resources",
                json={
                    "name": f"突发写入{i}",
                    "classification": "department",
                    "provider_department_id": cat.department_id,
                    "data_items": [
                        {"name": "姓名", "code": "name", "type": "string", "length": 50}
                    ],
                },
            )
            assert r.status_code == 201, r.text
            acked["drafts"].append(r.json()["id"])

        def approve(i: int) -> None:
            if i >= len(to_approve):
                time.sleep(0.05)
                return
            r = admin.post(
                f"/api/v1/catalog/versions/{to_approve[i]}/review", json={"decision": "approve"}
            )
            assert r.status_code == 200, r.text
            acked["approved"].append(to_approve[i])

        def upload(_: int) -> None:
            provider.post(
                f"/api/v1/pools/{resource}/upload", files={"file": ("big.csv", big)}, timeout=120
            )
            time.sleep(0.1)

        stop = threading.Event()
        threads = [threading.Thread(target=_loop, args=(stop, f)) for f in (push, draft, approve)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while min(len(v) for v in acked.values()) < 5:
            assert time.monotonic() < deadline and all(t.is_alive() for t in threads), acked
            time.sleep(0.05)
        uploader = threading.Thread(target=_loop, args=(stop, upload))
        uploader.start()
        time.sleep(0.4)  # the large upload is on its way
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        stop.set()
        for t in [*threads, uploader]:
            t.join(timeout=60)
    survived = {k: len(v) for k, v in acked.items()}

    # restart on the same database: it serves, and everything acknowledged is there
    with server(p, log) as (base, proc):
        assert httpx.get(f"{base}/healthz").status_code == 200
        db = Database(p.settings.effective_database_url)
        try:
            _check_after_crash(db, acked, pushed_ids)
        finally:
            db.dispose()
        _zip_bomb_keeps_memory_bounded(base, proc, resource)
    assert "audit chain OK" in _verify(p, monkeypatch)
    assert all(n >= 5 for n in survived.values()), survived


def _check_after_crash(
    db: Database, acked: dict[str, list[object]], pushed_ids: dict[str, list[str]]
) -> None:
    with db.read() as conn:
        pools = [n for n in inspect(conn).get_table_names() if n.startswith("pool_")]
        assert pools
        per_batch: dict[str, int] = {}
        ids_by_batch: dict[str, set[str]] = {}
        for n in pools:
            for batch_id, count in conn.execute(
                text(f'SELECT _batch_id, count(*) FROM "{n}" GROUP BY _batch_id')
            ).all():
                per_batch[str(batch_id)] = per_batch.get(str(batch_id), 0) + int(count)
            for batch_id, key in conn.execute(text(f'SELECT _batch_id, id_card FROM "{n}"')).all():
                ids_by_batch.setdefault(str(batch_id), set()).add(str(key))
        batches = {str(b.id): b for b in conn.execute(select(ingest_batch)).all()}
        # no partial batch: every pool row belongs to a committed batch, and every committed
        # batch holds exactly the rows it counted
        assert set(per_batch) <= set(batches), "pool rows of a batch that never committed"
        for bid, b in batches.items():
            assert per_batch.get(bid, 0) == int(b.rows_loaded), (bid, b.rows_loaded)
        # every acknowledged push is there, with its rows
        for bid in acked["batches"]:
            assert bid in batches
            assert set(pushed_ids[str(bid)]) <= ids_by_batch.get(str(bid), set())
        states = dict(conn.execute(select(resource_version.c.id, resource_version.c.state)).all())
        assert all(d in states for d in acked["drafts"])
        assert all(states[v] == "published" for v in acked["approved"])
        assert conn.execute(select(func.count()).select_from(ingest_batch)).scalar_one() >= len(
            acked["batches"]
        )


def _zip_bomb_keeps_memory_bounded(base: str, proc: subprocess.Popen[bytes], resource: str) -> None:
    """The server process (its whole tree) takes the bomb and its RSS stays bounded."""
    c = _session(base, "ga_catalog")
    server_proc = psutil.Process(proc.pid)

    def rss() -> int:
        return sum(x.memory_info().rss for x in [server_proc, *server_proc.children(True)])

    before = rss()
    for _ in range(3):
        r = c.post(
            f"/api/v1/pools/{resource}/upload",
            files={"file": ("bomb.xlsx", BOMB.read_bytes())},
        )
        assert r.status_code == 422 and r.json()["error"]["field"] == "file", r.text
    assert rss() - before < 100 << 20
    assert c.get("/healthz").status_code == 200
