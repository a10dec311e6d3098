"""Time: stored in UTC, shown and computed in Asia/Shanghai."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def utcnow() -> datetime:
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Tests freeze or move time with this; ``None`` restores the real clock."""
    global _now
    _now = fn if fn is not None else (lambda: datetime.now(UTC))


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local_date(value: datetime) -> date:
    return as_utc(value).astimezone(SHANGHAI).date()


def end_of_local_day(day: date) -> datetime:
    """The last instant of ``day`` in Asia/Shanghai, as UTC."""
    nxt = datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    return (nxt - timedelta(microseconds=1)).astimezone(UTC)


_last_iso: tuple[datetime, str] | None = None


def iso_utc(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (microseconds always written). The text of the last
    moment is kept: the receipts of one flush all name its time, one ``datetime``."""
    global _last_iso
    last = _last_iso
    if last is not None and last[0] is value:
        return last[1]
    text = as_utc(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    _last_iso = (value, text)
    return text


def local_display(value: datetime | None) -> str:
    if value is None:
        return ""
    return as_utc(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
