"""zh-CN by default, English available. Message ids are English; zh_CN.po translates them.

The .po files are compiled in memory at start-up (no compiled .mo files are committed).
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


@lru_cache(maxsize=4)
def translations(locale: str) -> gettext.NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def normalise(locale: str | None) -> str:
    if not locale:
        return DEFAULT_LOCALE
    low = locale.replace("-", "_").lower()
    if low.startswith("en"):
        return "en"
    return "zh_CN"


def template_message_ids() -> list[str]:
    """Every message id the templates use (for the translation update script and its test)."""
    from babel.messages.extract import extract_from_dir

    templates = Path(__file__).parent / "templates"
    found = extract_from_dir(
        str(templates),
        method_map=[("**.html", "jinja2")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
    )
    ids: dict[str, None] = {}
    for _filename, _lineno, message, _comments, _context in found:
        ids[message if isinstance(message, str) else message[0]] = None
    return list(ids)
