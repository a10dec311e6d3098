"""E-mail notices over SMTP (a real local aiosmtpd server), retried like webhooks, and
skipped rather than left pending when no SMTP server is configured."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from govshare.config import Settings
from govshare.kernel.clock import utcnow
from govshare.notify import dispatch
from govshare.notify.tables import email_delivery
from tests.integration.notify.conftest import Mailbox, Notify, free_port


def _emails(city: Notify) -> list[dict[str, object]]:
    with city.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(email_delivery))]


def test_a_department_notice_is_mailed_with_a_chinese_subject(
    city: Notify, mailbox: Mailbox
) -> None:
    city.set_contact_email("人社局", "rsj@example.gov.cn")
    city.notify(subject_zh="共享申请已通过：居民户籍信息（宿迁市）")
    settings = city.with_smtp(mailbox.port)
    report = dispatch.dispatch_due(city.db, settings)
    assert report.emails == {"sent": 1}

    [(sender, rcpts, raw)] = mailbox.messages
    assert sender == "noreply@govshare.example" and rcpts == ["rsj@example.gov.cn"]
    assert b"=?utf-8?" in raw  # the subject travels RFC 2047-encoded
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "共享申请已通过：居民户籍信息（宿迁市）"
    assert msg["To"] == "rsj@example.gov.cn"
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "share application approved" in text and "/sharing/applications/X1" in text
    [row] = _emails(city)
    assert row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"] is not None


def test_a_failing_smtp_server_is_retried_with_backoff(city: Notify, mailbox: Mailbox) -> None:
    city.set_contact_email("人社局", "rsj@example.gov.cn")
    city.notify()
    t0 = utcnow()
    down = city.with_smtp(free_port())  # nothing listens there
    assert dispatch.dispatch_due(city.db, down, t0).emails == {"pending": 1}
    [row] = _emails(city)
    assert row["attempts"] == 1 and row["next_attempt_at"] == t0 + timedelta(minutes=1)
    assert row["last_error"]
    up = city.with_smtp(mailbox.port)
    assert dispatch.dispatch_due(city.db, up, t0 + timedelta(seconds=30)).total == 0
    assert dispatch.dispatch_due(city.db, up, t0 + timedelta(minutes=1)).emails == {"sent": 1}
    assert len(mailbox.messages) == 1 and _emails(city)[0]["attempts"] == 2


def test_without_smtp_emails_are_skipped_not_left_pending(city: Notify) -> None:
    city.set_contact_email("人社局", "rsj@example.gov.cn")
    city.notify()
    assert city.settings.smtp_url is None
    assert dispatch.dispatch_due(city.db, city.settings).emails == {"skipped": 1}
    [row] = _emails(city)
    assert row["status"] == "skipped" and row["next_attempt_at"] is None
    assert "SMTP" in str(row["last_error"])
    assert dispatch.dispatch_due(city.db, city.settings).total == 0


def test_a_department_without_contact_email_gets_no_email(city: Notify) -> None:
    city.notify("公安局")
    assert _emails(city) == []


def test_smtp_settings_are_checked() -> None:
    with pytest.raises(ValidationError):
        Settings(smtp_url="http://mail.example.gov.cn", smtp_from="a@b.cn")
    with pytest.raises(ValidationError):
        Settings(smtp_url="smtp://mail.example.gov.cn:25")  # no From address
    cfg = dispatch.SmtpConfig.from_settings(
        Settings(
            smtp_url="smtp://notice%40x.cn:p%40ss@mail.example.gov.cn:587?starttls=1",
            smtp_from="notice@x.cn",
        )
    )
    assert cfg is not None
    assert (cfg.host, cfg.port, cfg.username, cfg.password) == (
        "mail.example.gov.cn",
        587,
        "notice@x.cn",
        "p@ss",
    )
    assert cfg.starttls and not cfg.ssl
    tls = dispatch.SmtpConfig.from_settings(
        Settings(smtp_url="smtps://mail.example.gov.cn", smtp_from="notice@x.cn")
    )
    assert tls is not None and tls.ssl and tls.port == 465
