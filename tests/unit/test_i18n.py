"""Every UI message has a Chinese translation (zh-CN is the default locale)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "src/govshare/web/locale/zh_CN/LC_MESSAGES/messages.po"


def test_every_template_message_is_translated() -> None:
    from govshare.web.i18n import template_message_ids

    wanted = set(template_message_ids())
    assert "Sign in" in wanted
    with PO.open("rb") as fh:
        have = {m.id: m.string for m in read_po(fh, locale="zh_CN") if m.id}
    missing = sorted(wanted - have.keys())
    untranslated = sorted(k for k in wanted if have.get(k) == "")
    assert not missing, f"run scripts/i18n_update.py: {missing}"
    assert not untranslated, f"translate: {untranslated}"


def test_dynamic_messages_are_translated() -> None:
    from govshare.audit.model import AuditAction
    from govshare.kernel.actor import Role
    from govshare.web.i18n import translations

    zh = translations("zh_CN")
    for msg in [f"role:{r.value}" for r in Role] + [f"action:{a.value}" for a in AuditAction]:
        assert zh.gettext(msg) != msg, msg
