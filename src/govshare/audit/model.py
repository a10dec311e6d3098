"""Audit vocabulary: the closed set of actions and the canonical entry encodings.

An entry's ``hash`` is the SHA-256 (hex) of its canonical encoding, which covers every
column but the hash itself, including ``prev_hash`` (the link). Two encodings exist; each
entry says which one its hash covers in ``hash_version`` (itself covered by the hash):

- **version 1** (entries written before 0012): sorted-key compact JSON of an object,
  ``occurred_at`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, plus ``"v": 1``.
- **version 2** (every entry written now): the compact JSON *array* (RFC 8259, UTF-8,
  non-ASCII characters unescaped, no whitespace; what ``json.dumps(..., ensure_ascii=False,
  separators=(",", ":"))`` and ``orjson.dumps`` both produce) of
  ``[2, seq, occurred_at, actor_kind, actor_id, actor_name, actor_department_id, action,
  object_type, object_id, purpose, case_no, details, prev_hash]``, ``occurred_at`` as the
  UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (the text SQLite stores, and what PostgreSQL's
  ``to_char`` gives), absent values as ``null``. The array is exactly the columns in
  their stored form, so that verification hashes what it reads without re-serialising
  anything (``audit.verify``); JSON keeps it unambiguous (no separator can be forged).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from govshare.kernel.clock import as_utc, iso_utc

GENESIS_HASH = "0" * 64
HASH_VERSION = 2  # the encoding of the entries written now
HASH_VERSIONS = (1, 2)


class AuditAction(StrEnum):
    # Lifecycle of data, SQ-25:
    # 分类、采集、清洗、转换、加载、传输、存储、复制、备份、恢复、查询和销毁
    CLASSIFY = "classify"
    COLLECT = "collect"
    CLEAN = "clean"
    TRANSFORM = "transform"
    LOAD = "load"
    TRANSMIT = "transmit"
    STORE = "store"
    COPY = "copy"
    BACKUP = "backup"
    RESTORE = "restore"
    QUERY = "query"
    DESTROY = "destroy"
    # Administration and workflow verbs
    CREATE = "create"
    UPDATE = "update"
    DEACTIVATE = "deactivate"
    ACTIVATE = "activate"
    GRANT_ROLE = "grant_role"
    REVOKE_ROLE = "revoke_role"
    REVOKE = "revoke"
    ROTATE_SECRET = "rotate_secret"  # noqa: S105 - an action name
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKOUT = "lockout"
    LOGOUT = "logout"
    ISSUE_TOKEN = "issue_token"  # noqa: S105
    TOKEN_REFUSED = "token_refused"  # noqa: S105
    ACCESS_DENIED = "access_denied"
    CHECKPOINT = "checkpoint"
    PURGE = "purge"
    VERIFY = "verify"
    CALENDAR_LOAD = "calendar_load"
    SEED = "seed"
    FILE_RESPONSIBILITY = "file_responsibility"
    # Catalog workflow
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    PUBLISH = "publish"
    RETIRE = "retire"
    RECORD_CHANGE = "record_change"
    RESOLVE = "resolve"
    REPORT = "report"
    MAINTAIN = "maintain"
    FILE = "file"
    ASSIGN = "assign"
    FULFIL = "fulfil"
    IMPORT = "import"
    EXPORT = "export"
    # Sharing workflow
    REFUSE = "refuse"
    FORWARD = "forward"
    SUSPEND = "suspend"
    RESUME = "resume"
    EXPIRE = "expire"
    NEGOTIATE = "negotiate"
    ESCALATE = "escalate"
    COORDINATE = "coordinate"
    RENEW = "renew"
    NOTIFY = "notify"
    CONSENT = "consent"
    ATTACH = "attach"


SQ25_LIFECYCLE = (
    AuditAction.CLASSIFY,
    AuditAction.COLLECT,
    AuditAction.CLEAN,
    AuditAction.TRANSFORM,
    AuditAction.LOAD,
    AuditAction.TRANSMIT,
    AuditAction.STORE,
    AuditAction.COPY,
    AuditAction.BACKUP,
    AuditAction.RESTORE,
    AuditAction.QUERY,
    AuditAction.DESTROY,
)


# per call: slots, not frozen (a frozen field costs a call to object.__setattr__)
@dataclass(slots=True)
class AuditEntry:
    seq: int
    occurred_at: datetime
    actor_kind: str
    actor_id: str
    actor_name: str
    actor_department_id: str | None
    action: str
    object_type: str
    object_id: str
    purpose: str | None
    case_no: str | None
    details: str  # canonical JSON text, already masked
    prev_hash: str
    hash: str
    hash_version: int = 1  # the encoding ``hash`` covers (module docstring)

    def canonical(self) -> bytes:
        if self.hash_version == 2:
            return canonical_v2(
                (
                    2,
                    self.seq,
                    time_text(self.occurred_at),
                    self.actor_kind,
                    self.actor_id,
                    self.actor_name,
                    self.actor_department_id,
                    self.action,
                    self.object_type,
                    self.object_id,
                    self.purpose,
                    self.case_no,
                    self.details,
                    self.prev_hash,
                )
            )
        if self.hash_version != 1:
            raise ValueError(f"unknown audit hash version {self.hash_version!r}")
        return canonical_bytes(
            seq=self.seq,
            occurred_at=self.occurred_at,
            actor_kind=self.actor_kind,
            actor_id=self.actor_id,
            actor_name=self.actor_name,
            actor_department_id=self.actor_department_id,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            purpose=self.purpose,
            case_no=self.case_no,
            details=self.details,
            prev_hash=self.prev_hash,
        )

    def computed_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "occurred_at": iso_utc(self.occurred_at),
            "actor_kind": self.actor_kind,
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "actor_department_id": self.actor_department_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "purpose": self.purpose,
            "case_no": self.case_no,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "hash_version": self.hash_version,
        }


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


_DETAILS_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def details_json(value: Any) -> str:
    """An entry's ``details`` column: sorted-key compact JSON, UTF-8 unescaped, any other
    type as its ``str`` (as ``canonical_json`` writes it, in a fraction of the time: every
    data-service call writes one). The two differ only where orjson writes a float's
    exponent (``1e20``, not ``1e+20``), NaN and infinities (``null``) or a non-string enum
    member (its value); the hash covers the stored text, so nothing rests on either.
    A value orjson refuses (an integer beyond 64 bits, a lone surrogate) is written by
    ``canonical_json``."""
    try:
        return orjson.dumps(value, default=str, option=_DETAILS_OPTIONS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return canonical_json(value)


def canonical_bytes(*, occurred_at: datetime, **fields: Any) -> bytes:
    """The version 1 encoding: sorted-key compact JSON, UTF-8, µs UTC time."""
    return canonical_json({**fields, "occurred_at": iso_utc(occurred_at), "v": 1}).encode("utf-8")


def time_text(value: datetime) -> str:
    """``occurred_at`` as version 2 hashes it and SQLite stores it:
    ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC."""
    return as_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def canonical_v2(payload: tuple[Any, ...]) -> bytes:
    """The version 2 encoding of ``(2, seq, occurred_at text, ..., prev_hash)`` (module
    docstring): orjson's compact output, which equals the standard library's."""
    return orjson.dumps(payload)


def hash_v2(payload: tuple[Any, ...]) -> str:
    """The version 2 hash of ``(2, seq, occurred_at text, ..., prev_hash)``."""
    return hashlib.sha256(canonical_v2(payload)).hexdigest()
