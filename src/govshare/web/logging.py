"""Structured JSON logs. Values pass through the masking module; secrets never appear."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from govshare.kernel.masking import mask_details


def _mask_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
    return mask_details(dict(event_dict))


def _stderr_logger(*_: Any) -> structlog.PrintLogger:
    # resolve sys.stderr at use, not at configuration (it may be replaced, e.g. by pytest)
    return structlog.PrintLogger(file=sys.stderr)


_threshold = logging.INFO  # the configured level (``enabled``)


def configure_logging(level: str = "INFO") -> None:
    global _threshold
    number = logging.getLevelName(str(level).upper())
    _threshold = number if isinstance(number, int) else logging.INFO
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _mask_processor,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "govshare") -> Any:
    return structlog.get_logger(name)


def enabled(level: int) -> bool:
    """Whether records at ``level`` are written: a per-request line checks this first,
    because a filtered call still builds the lazy logger (several microseconds)."""
    return level >= _threshold
