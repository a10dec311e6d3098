"""Crash safety of two workflows, through the real processes (``govshare serve`` and
``govshare jobs worker``), killed with SIGKILL at a random point of a burst, on SQLite and
PostgreSQL:

- a batch export (批量交换): the huey task is writing an export's chunks when the server and
  the worker die. After a restart no half-made export is presented as ready: every job
  acknowledged is there, each one is either failed (``export_interrupted``, to be requested
  again) or done with a manifest that matches the file its signed link serves; no partial
  or orphan file is left, none is served; ``govshare audit verify`` passes.
- sharing grant approvals (授权): the provider's decisions on a burst of applications, by
  two server processes on one database (two approvers may answer the same application at
  once). After a restart every application is either decided, with exactly one grant when
  approved, its audit entries and its notice in the outbox, or undecided with none of
  them; every decision acknowledged (303) before the kill is there.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import select

from govshare.audit.tables import audit_entry
from govshare.delivery.export import JobState, get_job, jobs_of, link_token
from govshare.delivery.file_tables import delivery_export_job
from govshare.demo.seed import demo_client_secret
from govshare.identity import queries as identity_queries
from govshare.identity import services as identity_services
from govshare.identity.services import DepartmentInput
from govshare.kernel.errors import Conflict
from govshare.notify.tables import email_delivery, notification
from govshare.platform import Platform
from govshare.sharing import services as sharing
from govshare.sharing.model import ApplicationInput, Purpose
from govshare.sharing.tables import application_step, share_application, share_grant
from govshare.storage.engine import Database
from tests.integration.catalog.conftest import City
from tests.integration.delivery.conftest import GRANTED, population_resource
from tests.integration.delivery.files_support import HTTP_HEADERS, files_delivery
from tests.integration.delivery.test_export_memory import _fill
from tests.reliability.test_crash import GOVSHARE, _env, _session, _verify

EXPORT_ROWS = 20_000  # pool rows: an export takes long enough for the kill to land mid-way
EXPORT_JOBS = 4  # exports requested in the burst
FORMATS = ("csv", "jsonl")
APPLICATIONS = 24  # applications in the approval burst


@dataclass
class Processes:
    bases: list[str]  # the servers' base URLs
    procs: list[subprocess.Popen[bytes]]  # the servers, then the worker if any

    def kill(self) -> None:
        """SIGKILL every process group at once (a power cut, as far as the processes can
        tell)."""
        for proc in self.procs:
            os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            proc.wait(timeout=30)

    def alive(self) -> bool:
        return all(proc.poll() is None for proc in self.procs)


def _ports(n: int) -> list[int]:
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


@contextmanager
def launched(
    platform: Platform, log: Path, *, servers: int = 1, worker: bool = False
) -> Iterator[Processes]:
    """``govshare serve`` × ``servers`` on one database and, with ``worker``, ``govshare
    jobs worker`` (two threads) on the embedded queue, all started at once; yields when
    every server answers ``/healthz``."""
    ports = _ports(servers)
    commands = [[str(GOVSHARE), "serve", "--port", str(port)] for port in ports]
    if worker:
        commands.append([str(GOVSHARE), "jobs", "worker", "--workers", "2"])
    with log.open("ab") as out:
        running = Processes(
            [f"http://127.0.0.1:{port}" for port in ports],
            [
                subprocess.Popen(
                    c,
                    env=_env(platform),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                for c in commands
            ],
        )
    try:
        deadline = time.monotonic() + 60
        for base in running.bases:
            while True:
                assert running.alive() and time.monotonic() < deadline, log.read_text()
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        yield running
    finally:
        for proc in running.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in running.procs:
            proc.wait(timeout=30)


def _client(base: str, platform: Platform, name: str = "人社业务系统") -> httpx.Client:
    """An HTTP client of the business system, with its token and the call headers."""
    with platform.db.read() as conn:
        cs = next(c for c in identity_queries.list_client_systems(conn) if c.name == name)
    platform.db.dispose()
    r = httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": cs.client_id,
            "client_secret": demo_client_secret(name),
        },
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    return httpx.Client(
        base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}", **HTTP_HEADERS}
    )


# Batch export ---------------------------------------------------------------------------
def _rows_in(fmt: str, body: bytes) -> int:
    if fmt == "csv":
        return sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8")))) - 1  # header
    assert fmt == "jsonl", fmt
    return sum(1 for line in body.splitlines() if line.strip())


@pytest.mark.req("SQ-18", "SQ-25")
def test_sigkill_mid_export_leaves_no_half_made_export(
    demo_platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = demo_platform
    d = files_delivery(City(p))
    _fill(d, EXPORT_ROWS)
    live_rows = EXPORT_ROWS + 2  # files_delivery's two rows
    p.db.dispose()
    exports = p.settings.exports_dir
    log = tmp_path / "processes.log"
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    acked: list[str] = []
    unexpected: list[str] = []
    mid_way: list[str] = []  # jobs whose partial file was there when the processes died

    with launched(p, log, worker=True) as running:
        api = _client(running.bases[0], p)

        def request_burst() -> None:
            for i in range(EXPORT_JOBS):
                try:
                    r = api.post(
                        f"/api/v1/delivery/grants/{d.grant_id}/exports",
                        json={"format": FORMATS[i % len(FORMATS)]},
                    )
                except (httpx.HTTPError, OSError):
                    return  # the server is gone
                if r.status_code != 202:
                    unexpected.append(f"{r.status_code} {r.text[:300]}")
                    return
                acked.append(r.json()["job_id"])

        requester = threading.Thread(target=request_burst)
        requester.start()
        # wait until an export is done and another one is half-written, then kill at a
        # random point of its writing
        deadline = time.monotonic() + 60
        first_done = False
        while True:
            assert time.monotonic() < deadline, (acked, unexpected, log.read_text())
            assert running.alive(), log.read_text()
            if not first_done and acked:
                state = api.get(f"/api/v1/delivery/exports/{acked[0]}").json()["state"]
                assert state in ("queued", "running", "done"), state
                first_done = state == "done"
            parts = list(exports.glob(".*.part"))
            if first_done and parts:
                time.sleep(rng.uniform(0, 0.1))
                if any(f.exists() for f in parts):
                    break
            time.sleep(0.01)
        running.kill()
        requester.join(timeout=60)
        mid_way = [f.name[1:].split(".", 1)[0] for f in exports.glob(".*.part")]
    assert not unexpected, (seed, unexpected)
    assert acked and mid_way, (seed, acked, mid_way)

    # restart both: the worker finds the interrupted export and fails it, runs the queued
    # ones; the server answers with states, links and files
    with launched(p, log, worker=True) as running:
        api = _client(running.bases[0], p)
        with p.db.read() as conn:  # the acknowledged jobs, and any the kill left unanswered
            jobs = [j.id for j in jobs_of(conn, d.client.department_id or "")]
        p.db.dispose()
        assert set(acked) <= set(jobs), (acked, jobs)
        deadline = time.monotonic() + 60
        while True:
            states = {j: api.get(f"/api/v1/delivery/exports/{j}").json() for j in jobs}
            if all(s.get("state") in ("done", "failed") for s in states.values()):
                break
            assert time.monotonic() < deadline, (
                {j: s.get("state") for j, s in states.items()},
                mid_way,
            )
            time.sleep(0.2)
        outcome = Counter(s["state"] for s in states.values())
        for s in states.values():
            if s["state"] == "done":
                _check_done_export(api, s, live_rows)
            else:
                _check_failed_export(api, p, s)
        for job_id in mid_way:
            assert states[job_id]["state"] == "failed", states[job_id]
        db = Database(p.settings.effective_database_url)
        try:
            _check_export_records(db, exports, acked)
        finally:
            db.dispose()
    assert "audit chain OK" in _verify(p, monkeypatch)
    assert outcome["done"] >= 1 and outcome["failed"] >= 1, (seed, outcome)
    print(  # the counts of the closing note: nothing acknowledged may be lost
        f"export crash on {p.db.dialect} (seed {seed}): acknowledged {len(acked)}, "
        f"mid-way at the kill {len(mid_way)}, after restart {dict(outcome)}, lost 0"
    )


def _check_done_export(api: httpx.Client, s: dict[str, Any], live_rows: int) -> None:
    """A done export: its signed link serves the whole file its signed manifest names."""
    m = s["manifest"]
    assert s["download_url"] and m and s["manifest_signature"], s
    f = api.get(s["download_url"])
    assert f.status_code == 200, f.text
    sha = hashlib.sha256(f.content).hexdigest()
    assert sha == s["sha256"] == m["sha256"] == f.headers["X-Export-SHA256"]
    assert len(f.content) == s["size"] == m["size"]
    assert _rows_in(s["format"], f.content) == s["rows"] == m["rows"] == live_rows
    checked = api.post(
        "/api/v1/delivery/manifests/verify",
        json={"manifest": m, "signature": s["manifest_signature"], "sha256": sha},
    ).json()
    assert checked["valid"] is True, checked


def _check_failed_export(api: httpx.Client, p: Platform, s: dict[str, Any]) -> None:
    """A failed export offers no link, and a link forged with the server's own secret for
    it (as if it had finished) serves nothing."""
    assert s["download_url"] is None and s["manifest"] is None, s
    assert s["error"]["code"] == "export_interrupted", s
    with p.db.read() as conn:
        job = get_job(conn, s["job_id"])
    assert job is not None
    as_if_done = replace(job, state=JobState.DONE, expires_at=datetime(2099, 1, 1, tzinfo=UTC))
    forged = link_token(p.settings, as_if_done)
    r = api.get(f"/api/v1/delivery/exports/{job.id}/file", params={"token": forged})
    assert r.status_code == 409 and r.json()["error"]["code"] == "export_not_ready", r.text


def _check_export_records(db: Database, exports: Path, acked: list[str]) -> None:
    with db.read() as conn:
        jobs = {r.id: r for r in conn.execute(select(delivery_export_job)).all()}
        copies = Counter(  # the production of an export: its call's COPY entry
            json.loads(r.details).get("job")
            for r in conn.execute(
                select(audit_entry.c.details).where(audit_entry.c.action == "copy")
            ).all()
        )
        destroyed = Counter(
            r.object_id
            for r in conn.execute(
                select(audit_entry.c.object_id).where(
                    audit_entry.c.action == "destroy",
                    audit_entry.c.object_type == "delivery_export",
                )
            ).all()
        )
    # every acknowledged request is there; nothing is left queued or running
    assert set(acked) <= set(jobs), set(acked) - set(jobs)
    assert all(j.state in ("done", "failed") for j in jobs.values()), {
        j.id: j.state for j in jobs.values()
    }
    # files: exactly one per done job, none for the others, no partial file left
    files = {f.name for f in exports.iterdir()}
    assert files == {j.filename for j in jobs.values() if j.state == "done"}, files
    for j in jobs.values():
        if j.state == "done":
            assert copies[j.id] == 1 and destroyed[j.id] == 0, j.id
        else:  # an interrupted copy is destroyed on the record
            assert copies[j.id] <= 1 and destroyed[j.id] == 1, j.id


# Sharing grant approvals ------------------------------------------------------------------
def _applications(city: City, resource_id: str, n: int) -> list[str]:
    """``n`` applications of 人社局 for the police's resource, waiting for the decision;
    人社局 gets a contact address, so that a decision queues an e-mail in the outbox."""
    admin = city.actor("admin")
    rs = city.depts["人社局"]
    identity_services.update_department(
        city.db,
        rs.id,
        DepartmentInput(
            name=rs.name,
            short_name=rs.short_name,
            uscc=rs.uscc,
            jurisdiction_id=rs.jurisdiction_id,
            contact_name=rs.contact_name,
            contact_phone=rs.contact_phone,
            contact_email="renshe@example.cn",
            is_authority=rs.is_authority,
            is_operator=rs.is_operator,
        ),
        actor=admin,
    )
    user = city.actor("rs_user")
    ids = []
    for i in range(n):
        app = sharing.submit_application(
            city.db,
            city.profiles,
            ApplicationInput(
                consumer_department_id=rs.id,
                resource_id=resource_id,
                items=GRANTED,
                modes=("query", "verify"),
                purpose=Purpose.ADMINISTRATIVE_BASIS,
                scenario=f"社会保险待遇资格认证（第{i}批）",
                legal_basis="《社会保险法》第七十四条",
                valid_until=date(2099, 12, 31),
            ),
            actor=user,
        )
        ids.append(app.id)
    return ids


APPROVE = {"outcome": "approve", "items": list(GRANTED), "modes": ["query", "verify"]}
REFUSE = {
    "outcome": "refuse",
    "reason": "申请用途与资源共享条件不符",
    "basis": "《政务信息资源共享管理暂行办法》第十条",
    "basis_type": "law",
}


@pytest.mark.req("SQ-19", "SQ-25", "HB-20")
def test_sigkill_mid_approvals_leaves_no_half_made_grant(
    demo_platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = demo_platform
    city = City(p)
    rid = population_resource(city)
    apps = _applications(city, rid, APPLICATIONS)
    p.db.dispose()
    log = tmp_path / "servers.log"
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    kill_after = rng.randint(4, APPLICATIONS // 2)  # decisions acknowledged before the kill
    acked: dict[str, list[str]] = {"approve": [], "refuse": []}
    conflicts: list[str] = []  # answered by another decider first (409)
    in_flight: list[str] = []  # sent, and no answer came before the kill
    unexpected: list[str] = []

    # two server processes on one database, as behind a load balancer
    with launched(p, log, servers=2) as running:
        base_a, base_b = running.bases
        deciders = [
            (_session(base_a, "ga_approver"), APPROVE, apps),
            (_session(base_b, "ga_approver"), APPROVE, apps),  # races the first
            (_session(base_b, "ga_approver"), REFUSE, apps[::-1]),  # meets them half-way
        ]

        def decide(client: httpx.Client, form: dict[str, Any], order: list[str]) -> None:
            kind = form["outcome"]
            for aid in order:
                try:
                    r = client.post(f"/sharing/applications/{aid}/decide", data=form)
                except (httpx.HTTPError, OSError):
                    in_flight.append(aid)  # the server is gone
                    return
                if r.status_code == 303:
                    acked[kind].append(aid)
                elif r.status_code == 409:
                    conflicts.append(aid)
                else:
                    unexpected.append(f"{aid} {kind}: {r.status_code} {r.text[:200]}")
                    return

        for client, _, order in deciders:  # warm up: each server has shown the page once
            assert client.get(f"/sharing/applications/{order[-1]}").status_code == 200
        threads = [threading.Thread(target=decide, args=d) for d in deciders]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked["approve"]) + len(acked["refuse"]) < kill_after:
            assert time.monotonic() < deadline, (acked, unexpected, log.read_text())
            assert running.alive(), log.read_text()
            assert not unexpected and any(t.is_alive() for t in threads), unexpected
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.05))
        running.kill()
        for t in threads:
            t.join(timeout=60)
    assert not unexpected, (seed, unexpected)
    # no application was acknowledged twice (two approvals, or an approval and a refusal)
    answered = Counter(acked["approve"] + acked["refuse"])
    assert sum(answered.values()) >= kill_after and max(answered.values()) == 1, (seed, acked)
    assert in_flight, seed  # the kill caught decisions on their way

    # restart: it serves, and every application is whole, one way or the other
    with launched(p, log) as running:
        assert httpx.get(f"{running.bases[0]}/healthz").status_code == 200
        db = Database(p.settings.effective_database_url)
        try:
            outcome = _check_applications(db, apps, acked)
        finally:
            db.dispose()
    assert "audit chain OK" in _verify(p, monkeypatch)
    print(  # the counts of the closing note: nothing acknowledged may be lost
        f"approvals crash on {p.db.dialect} (seed {seed}): acknowledged "
        f"{ {k: len(v) for k, v in acked.items()} }, "
        f"conflicts {len(conflicts)}, unanswered at the kill {len(in_flight)}, after restart "
        f"{dict(outcome)}, lost 0"
    )


def _check_applications(db: Database, apps: list[str], acked: dict[str, list[str]]) -> Counter[str]:
    links = {f"/sharing/applications/{a}": a for a in apps}
    with db.read() as conn:
        state = dict(
            conn.execute(
                select(share_application.c.id, share_application.c.state).where(
                    share_application.c.id.in_(apps)
                )
            ).all()
        )
        grant_of = dict(
            conn.execute(
                select(share_application.c.id, share_application.c.grant_id).where(
                    share_application.c.id.in_(apps)
                )
            ).all()
        )
        grants: dict[str, list[str]] = {}
        for gid, aid in conn.execute(
            select(share_grant.c.id, share_grant.c.application_id).where(
                share_grant.c.application_id.in_(apps)
            )
        ).all():
            grants.setdefault(aid, []).append(gid)
        steps: dict[str, list[Any]] = {}
        for s in conn.execute(
            select(application_step).where(
                application_step.c.application_id.in_(apps),
                application_step.c.kind == "decision",
            )
        ).all():
            steps.setdefault(s.application_id, []).append(s)
        entries = Counter(
            (r.action, r.object_type, r.object_id)
            for r in conn.execute(
                select(audit_entry.c.action, audit_entry.c.object_type, audit_entry.c.object_id)
            ).all()
        )
        notices: dict[str, list[str]] = {}
        for nid, event, link in conn.execute(
            select(notification.c.id, notification.c.event, notification.c.link).where(
                notification.c.event.in_(
                    ["sharing.application.approved", "sharing.application.refused"]
                )
            )
        ).all():
            if link in links:
                notices.setdefault(links[link], []).append(f"{event}|{nid}")
        mails = Counter(
            r.notification_id for r in conn.execute(select(email_delivery.c.notification_id)).all()
        )
    outcome: Counter[str] = Counter()
    for aid in apps:
        st = state[aid]
        outcome[st] += 1
        got = grants.get(aid, [])
        steps_of = steps.get(aid, [])
        assert len(steps_of) == 1, (aid, steps_of)  # one decision step, never reopened
        step = steps_of[0]
        notes = notices.get(aid, [])
        if st == "approved":
            # exactly one grant, the one the application names, with its audit entries
            assert len(got) == 1 and grant_of[aid] == got[0], (aid, got, grant_of[aid])
            assert step.at is not None and step.decision == "approve", aid
            assert entries[("approve", "share_application", aid)] == 1, aid
            assert entries[("create", "share_grant", got[0])] == 1, aid
            assert entries[("refuse", "share_application", aid)] == 0, aid
            assert [n.split("|")[0] for n in notes] == ["sharing.application.approved"], notes
        elif st == "refused":
            assert not got and grant_of[aid] is None, (aid, got)
            assert step.at is not None and step.decision == "refuse", aid
            assert entries[("refuse", "share_application", aid)] == 1, aid
            assert entries[("approve", "share_application", aid)] == 0, aid
            assert [n.split("|")[0] for n in notes] == ["sharing.application.refused"], notes
        else:  # undecided: nothing of a decision exists
            assert st == "awaiting_decision", (aid, st)
            assert not got and grant_of[aid] is None, (aid, got)
            assert step.at is None and step.decision is None, aid
            assert entries[("approve", "share_application", aid)] == 0, aid
            assert entries[("refuse", "share_application", aid)] == 0, aid
            assert not notes, notes
        # each decision's notice has its e-mail in the outbox
        assert all(mails[n.split("|")[1]] == 1 for n in notes), (aid, notes)
    # every acknowledged decision is there, as it was acknowledged
    assert all(state[a] == "approved" for a in acked["approve"]), acked
    assert all(state[a] == "refused" for a in acked["refuse"]), acked
    return outcome


@pytest.mark.req("SQ-19")
def test_two_answers_at_once_make_one_grant(demo_platform: Platform) -> None:
    """The race the approval burst above runs through HTTP, pinned down in-process: two
    deciders answer one application at the same instant (on PostgreSQL both read the
    decision step open); one wins, the other gets ``sharing_no_open_step``, one grant."""
    city = City(demo_platform)
    apps = _applications(city, population_resource(city), 5)
    approver = city.actor("ga_approver")

    def approve(aid: str, barrier: threading.Barrier, results: list[str]) -> None:
        barrier.wait()
        try:
            sharing.decide(
                city.db, city.profiles, aid, sharing.Decision(approve=True), actor=approver
            )
            results.append("approved")
        except Conflict as exc:
            results.append(exc.code)

    for aid in apps:
        barrier, results = threading.Barrier(2), list[str]()
        threads = [threading.Thread(target=approve, args=(aid, barrier, results)) for _ in "ab"]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["approved", "sharing_no_open_step"], results
        with city.db.read() as conn:
            grants = conn.execute(
                select(share_grant.c.id).where(share_grant.c.application_id == aid)
            ).all()
        assert len(grants) == 1, grants
