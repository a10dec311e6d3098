"""Audit vocabulary: the closed set of actions and the canonical entry encoding."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from govshare.kernel.clock import iso_utc

GENESIS_HASH = "0" * 64


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


@dataclass(frozen=True)
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

    def canonical(self) -> bytes:
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
        }


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def canonical_bytes(*, occurred_at: datetime, **fields: Any) -> bytes:
    """The encoding the entry hash covers: sorted-key compact JSON, UTF-8, µs UTC time."""
    return canonical_json({**fields, "occurred_at": iso_utc(occurred_at), "v": 1}).encode("utf-8")
