"""Aggregation vocabulary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class BatchSource(StrEnum):
    UPLOAD = "upload"  # a file through the UI, the API or the CLI (manual upload, NX-29)
    API = "api"  # pushed by a client system (real time, NX-29, YX-22)
    CONNECTOR = "connector"  # pulled from the department's database (前置机)


class BatchStatus(StrEnum):
    LOADED = "loaded"
    REJECTED = "rejected"  # every row failed validation: nothing loaded


@dataclass(frozen=True)
class FieldError:
    field: str  # the data item code
    code: str
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class RejectedRow:
    row_no: int
    values: dict[str, str | None]
    errors: tuple[FieldError, ...]


@dataclass(frozen=True)
class Batch:
    id: str
    pool_id: str
    resource_id: str
    source: BatchSource
    status: BatchStatus
    file_name: str
    file_sha256: str
    encoding: str
    idempotency_key: str | None
    actor_id: str
    actor_name: str
    department_id: str
    started_at: datetime
    finished_at: datetime
    rows_total: int
    rows_loaded: int
    rows_rejected: int
    rows_deleted: int
    completeness: float
    validity: float
    uniqueness: float
    quality_score: float


@dataclass
class IngestResult:
    batch: Batch
    duplicate: bool = False  # the same file (or idempotency key) was loaded before: no-op
    rejected: list[RejectedRow] = field(default_factory=list)
