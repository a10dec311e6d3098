"""Identifiers: sortable random ids for rows, secrets for credentials."""

from __future__ import annotations

import os
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits -> two characters
_SHIFTS = range(120, -1, -10)


def new_id() -> str:
    """A 26-character, time-sortable, URL-safe id (ULID layout, Crockford base32): 48 bits
    of milliseconds then 80 random bits, written ten bits (two characters) at a time."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 1023] for shift in _SHIFTS])


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
