"""Domain errors with a stable code and a Chinese and an English message."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every expected, user-facing failure. Never carries a raw sensitive value."""

    status = 400
    code = "invalid"

    def __init__(
        self,
        message_zh: str,
        message_en: str,
        *,
        code: str | None = None,
        field: str | None = None,
        row: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message_en)
        if code is not None:
            self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.field = field
        self.row = row
        self.extra = extra or {}

    def message(self, locale: str = "zh_CN") -> str:
        return self.message_en if locale.startswith("en") else self.message_zh

    def to_dict(self, locale: str = "zh_CN") -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message(locale),
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }
        if self.field is not None:
            body["field"] = self.field
        if self.row is not None:
            body["row"] = self.row
        if self.extra:
            body.update(self.extra)
        return body


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"
