"""What lookup and verify share: the subject key and the pool it is looked up in."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection

from govshare.aggregation.pools import Pool
from govshare.delivery import errors
from govshare.delivery.guard import Authorised
from govshare.delivery.queries import grant_pool
from govshare.kernel.masking import SensitivityKind

KEY_MAX = 64
_KIND_OF_IDENTIFIER = {
    "id_card": SensitivityKind.ID_CARD.value,
    "uscc": SensitivityKind.USCC.value,
    "org_code": SensitivityKind.USCC.value,
}


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class Subject:
    pool: Pool
    column: str  # the pool's key column
    key: str  # normalised
    kind: str  # how the key is masked in audit entries

    def where(self) -> dict[str, str]:
        return {self.column: self.key}


_CONTROL = re.compile("[\x00-\x1f]")


def normalise_key(key: str | None) -> str:
    text = (key or "").strip()
    if not text:
        raise errors.key_required()
    if len(text) > KEY_MAX or _CONTROL.search(text):
        raise errors.key_invalid()
    return text


def subject(conn: Connection, auth: Authorised, key: str) -> Subject:
    """The pool of the grant's resource version and its key column (身份证号, 统一社会信用代码
    or another identifier item: the pool's unique index)."""
    pool = grant_pool(conn, auth.grant)
    if pool is None:
        raise errors.no_pool()
    if len(pool.key_columns) != 1:
        raise errors.not_keyed()
    column = pool.key_columns[0]
    col = pool.column(column)
    identifier = col.identifier if col is not None else ""
    if identifier in ("id_card", "uscc", "org_code"):
        key = key.upper()
    kind = _KIND_OF_IDENTIFIER.get(identifier, SensitivityKind.ID_CARD.value)
    return Subject(pool, column, key, kind)
