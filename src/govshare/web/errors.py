"""The API's error answer for a refused call (``DomainError``): shared by the app's
exception handler and ``web.lane``, which answers outside the router."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from govshare.kernel.errors import DomainError
from govshare.web.deps import locale_of


def json_error(request: Request, exc: DomainError) -> JSONResponse:
    """``{"error": {code, message, message_zh, message_en, ...}}`` with the error's status,
    the message in the request's language."""
    return JSONResponse({"error": exc.to_dict(locale_of(request))}, status_code=exc.status)
