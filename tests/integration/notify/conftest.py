"""Notify fixtures: the demo city, a real local HTTP receiver for webhooks and a real local
SMTP server (aiosmtpd) for e-mail."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import update

from govshare.aggregation.connectors import SourceVault
from govshare.config import Settings
from govshare.identity import queries as identity_queries
from govshare.identity.tables import department
from govshare.notify import services as notify_services
from govshare.notify import subscriptions
from govshare.notify.model import NewWebhookSecret
from govshare.platform import Platform
from tests.integration.catalog.conftest import City


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1: records every POST and answers with the next planned
    status (200 once the plan is used up)."""

    url: str
    plan: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            return self.plan.pop(0) if self.plan else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = state["r"]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with rec.lock:
                rec.received.append(Received(self.path, dict(self.headers.items()), body))
            status = rec.answer()
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["r"]
    server.shutdown()
    server.server_close()
    thread.join()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    port: int
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


class Notify(City):
    """The demo city, with helpers to subscribe its client systems and notify it."""

    def __init__(self, platform: Platform) -> None:
        super().__init__(platform)
        self.settings: Settings = platform.settings
        self.vault = SourceVault.for_settings(platform.settings)
        with self.db.read() as conn:
            self.clients = {c.name: c for c in identity_queries.list_client_systems(conn)}

    def subscribe(
        self,
        url: str,
        *,
        client: str = "人社业务系统",
        admin: str = "rs_admin",
        events: list[str] | None = None,
    ) -> NewWebhookSecret:
        return subscriptions.create_subscription(
            self.db,
            self.vault,
            actor=self.actor(admin),
            client_system_id=self.clients[client].id,
            url=url,
            events=events or [],
        )

    def notify(
        self,
        dept: str | None = "人社局",
        *,
        event: str = "sharing.application.approved",
        username: str | None = None,
        subject_zh: str = "共享申请已通过：居民户籍信息",
        subject_en: str = "share application approved: household registration",
        link: str = "/sharing/applications/X1",
        data: dict[str, Any] | None = None,
    ) -> str:
        with self.db.transaction() as tx:
            return notify_services.notify(
                tx,
                event=event,
                department_id=self.depts[dept].id if dept else None,
                username=username,
                subject_zh=subject_zh,
                subject_en=subject_en,
                link=link,
                data=data if data is not None else {"application_id": "X1"},
            )

    def set_contact_email(self, dept: str, email: str) -> None:
        with self.db.transaction() as tx:
            tx.conn.execute(
                update(department)
                .where(department.c.id == self.depts[dept].id)
                .values(contact_email=email)
            )

    def with_smtp(self, port: int, **query: str) -> Settings:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return self.settings.model_copy(
            update={
                "smtp_url": f"smtp://127.0.0.1:{port}" + (f"?{qs}" if qs else ""),
                "smtp_from": "noreply@govshare.example",
            }
        )


@pytest.fixture
def city(demo_platform: Platform) -> Iterator[Notify]:
    yield Notify(demo_platform)
    notify_services.set_waker(None)
