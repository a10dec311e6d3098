"""The working-day calendar and its one deadline convention."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from govshare.kernel.calendar import UnknownCalendarYear, WorkingDayCalendar, add_calendar_days
from govshare.kernel.clock import end_of_local_day
from govshare.rules.calendar import package_calendar


@pytest.fixture(scope="module")
def cal() -> WorkingDayCalendar:
    return package_calendar()


@pytest.mark.req("SZ-15.2", "SQ-19", "HB-20")
def test_national_day_with_adjusted_saturday(cal: WorkingDayCalendar) -> None:
    # Oct 1-7 2026 off; Sat Oct 10 is an adjusted working day (调休上班).
    assert cal.add_working_days(date(2026, 9, 30), 5).day == date(2026, 10, 13)
    assert cal.is_working_day(date(2026, 10, 10))
    assert not cal.is_working_day(date(2026, 10, 5))


@pytest.mark.req("SZ-15.1")
def test_event_day_not_counted_weekend_skipped(cal: WorkingDayCalendar) -> None:
    # 2026-11-21 is a Saturday: the first working day after it is Monday the 23rd.
    assert cal.add_working_days(date(2026, 11, 21), 1).day == date(2026, 11, 23)
    # A Friday event: the next working day is Monday, not the Friday itself.
    assert cal.add_working_days(date(2026, 11, 20), 1).day == date(2026, 11, 23)


@pytest.mark.req("SQ-19")
def test_unknown_year_is_an_explicit_error(cal: WorkingDayCalendar) -> None:
    with pytest.raises(UnknownCalendarYear) as err:
        cal.add_working_days(date(2026, 12, 25), 10)
    assert err.value.year == 2027
    assert "2027" in err.value.message_en and "2027" in err.value.message_zh


def test_provisional_estimate_is_flagged(cal: WorkingDayCalendar) -> None:
    result = cal.add_working_days(date(2026, 12, 25), 10, provisional=True)
    assert result.provisional and result.unknown_years == (2027,)
    # Dec 28-31 are 4 working days in 2026; then Mon-Fri of 2027: Jan 1 (Fri) .. Jan 8.
    assert result.day == date(2027, 1, 8)
    # Inside known years the same call is not provisional.
    assert not cal.add_working_days(date(2026, 12, 1), 3, provisional=True).provisional


def test_loaded_year_replaces_guess() -> None:
    cal = package_calendar()
    cal.add_year(2027, [date(2027, 1, 1)], [])
    result = cal.add_working_days(date(2026, 12, 25), 10)
    assert not result.provisional
    assert result.day == date(2027, 1, 11)  # Jan 1 is a holiday now


def test_spring_festival_2026(cal: WorkingDayCalendar) -> None:
    # 2026 Spring Festival: Feb 15-23 off; Sat Feb 14 and Sat Feb 28 are working days.
    assert cal.is_working_day(date(2026, 2, 14))
    assert not cal.is_working_day(date(2026, 2, 16))
    assert cal.add_working_days(date(2026, 2, 13), 1).day == date(2026, 2, 14)
    assert cal.add_working_days(date(2026, 2, 14), 1).day == date(2026, 2, 24)


def test_deadline_is_end_of_shanghai_day(cal: WorkingDayCalendar) -> None:
    # 2026-11-20 17:00 UTC is already Saturday 01:00 in Shanghai.
    event = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    d = cal.deadline_after(event, 1)
    assert d.day == date(2026, 11, 23)
    assert d.due_at == end_of_local_day(date(2026, 11, 23))
    assert d.due_at == datetime(2026, 11, 23, 15, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.req("SZ-19")
def test_calendar_days_count_every_day() -> None:
    assert add_calendar_days(date(2026, 9, 30), 20) == date(2026, 10, 20)


def test_working_days_between(cal: WorkingDayCalendar) -> None:
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 13)) == 5
