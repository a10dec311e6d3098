"""Re-extract the UI messages and merge them into zh_CN/messages.po.

Run: .venv/bin/python scripts/i18n_update.py   (then translate any new empty msgstr)
Dynamic message ids (role:*, action:*, kind:*) are added from the enums.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "src/govshare/web/locale/zh_CN/LC_MESSAGES/messages.po"


def dynamic_ids() -> list[str]:
    sys.path.insert(0, str(ROOT / "src"))
    from govshare.audit.model import AuditAction
    from govshare.identity.model import InterfaceKind
    from govshare.kernel.actor import Role
    from govshare.web.nav import NAV

    return (
        [f"role:{r.value}" for r in Role]
        + [f"action:{a.value}" for a in AuditAction]
        + [f"kind:{k.value}" for k in InterfaceKind]
        + [label for _, label, _ in NAV]
        + [f"demand:{s}" for s in ("open", "matched", "assigned", "fulfilled", "closed")]
        + [f"duty:{s}" for s in ("assigned", "fulfilled", "cancelled")]
        + [f"change:{s}" for s in ("law", "functions", "content", "demand")]
    )


def main() -> None:
    from govshare.web.i18n import template_message_ids

    old = Catalog(locale="zh_CN")
    if PO.exists():
        with PO.open("rb") as fh:
            old = read_po(fh, locale="zh_CN")
    new = Catalog(locale="zh_CN", project="govshare", fuzzy=False)
    ids = template_message_ids() + dynamic_ids()
    for mid in dict.fromkeys(ids):
        prev = old.get(mid)
        new.add(mid, prev.string if prev is not None else "")
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as fh:
        write_po(fh, new, omit_header=False, no_location=True, width=0)
    missing = [m.id for m in new if m.id and not m.string]
    print(f"{len(new)} messages, {len(missing)} untranslated")
    for m in missing:
        print("  ", m)


if __name__ == "__main__":
    main()
