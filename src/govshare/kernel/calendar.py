"""The working-day calendar (工作日 / 调休) and the one deadline convention.

Convention (期间开始之日不计算在内): the day of the triggering event is not counted.
"N working days after D" is the N-th working day strictly after D's date in
Asia/Shanghai; the deadline is the end of that day (23:59:59.999999 Asia/Shanghai).

A working day is a Monday-Friday that is not an official holiday, or a weekend day
that is an official adjusted working day (调休上班). Years the calendar does not know
are never guessed: ``UnknownCalendarYear`` is raised, unless the caller asks for a
provisional estimate, which counts Monday-Friday only and is flagged as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from govshare.kernel.clock import end_of_local_day, local_date
from govshare.kernel.errors import DomainError


class UnknownCalendarYear(DomainError):
    status = 422
    code = "calendar_year_unknown"

    def __init__(self, year: int) -> None:
        super().__init__(
            f"工作日历缺少{year}年的节假日安排，请先加载{year}年日历（govshare calendar load）",
            f"the working-day calendar has no holiday data for {year}; "
            f"load it with 'govshare calendar load' first",
            extra={"year": year},
        )
        self.year = year


@dataclass(frozen=True)
class Deadline:
    day: date
    provisional: bool
    unknown_years: tuple[int, ...] = ()

    @property
    def due_at(self) -> datetime:
        return end_of_local_day(self.day)


@dataclass
class WorkingDayCalendar:
    """Holidays and adjusted working days for a set of known years."""

    holidays: set[date] = field(default_factory=set)
    adjusted_working_days: set[date] = field(default_factory=set)
    known_years: set[int] = field(default_factory=set)

    def add_year(
        self, year: int, holidays: Iterable[date], adjusted_working_days: Iterable[date]
    ) -> None:
        """Add (or replace) one year's data; later data for the same year wins."""
        self.holidays = {d for d in self.holidays if d.year != year}
        self.adjusted_working_days = {d for d in self.adjusted_working_days if d.year != year}
        for d in holidays:
            if d.year != year:
                raise ValueError(f"{d} is not in {year}")
            self.holidays.add(d)
        for d in adjusted_working_days:
            if d.year != year:
                raise ValueError(f"{d} is not in {year}")
            self.adjusted_working_days.add(d)
        self.known_years.add(year)

    def is_working_day(self, day: date) -> bool:
        if day.year not in self.known_years:
            raise UnknownCalendarYear(day.year)
        return self._working(day)

    def _working(self, day: date) -> bool:
        if day in self.adjusted_working_days:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, n: int, *, provisional: bool = False) -> Deadline:
        """The N-th working day strictly after ``start`` (N >= 1)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        unknown: set[int] = set()
        day = start
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            if day.year not in self.known_years:
                if not provisional:
                    raise UnknownCalendarYear(day.year)
                unknown.add(day.year)
                if day.weekday() < 5:
                    counted += 1
                continue
            if self._working(day):
                counted += 1
        return Deadline(day=day, provisional=bool(unknown), unknown_years=tuple(sorted(unknown)))

    def deadline_after(self, event_at: datetime, n: int, *, provisional: bool = False) -> Deadline:
        """Deadline N working days after an event timestamp (converted to Shanghai time)."""
        return self.add_working_days(local_date(event_at), n, provisional=provisional)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end], the same convention as ``add_working_days``."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def add_calendar_days(start: date, n: int) -> date:
    """Calendar days (自然日), same start convention: the event day is not counted."""
    return start + timedelta(days=n)
