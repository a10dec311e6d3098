"""Identifiers: sortable random ids for rows, secrets for credentials."""

from __future__ import annotations

import os
import secrets
import time


def new_id() -> str:
    """A 26-character, time-sortable, URL-safe id (ULID layout, Crockford base32)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    out = []
    for _ in range(26):
        out.append(alphabet[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
