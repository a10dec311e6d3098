"""Calendar data: the chinese-calendar package, plus years the authority loads.

An override file holds one year (YAML):

    year: 2027
    source: 国务院办公厅关于2027年部分节假日安排的通知
    holidays:            # 放假日期 (dates off that would otherwise be working days, or all of them)
      - {date: 2027-01-01, name: 元旦}
    adjusted_working_days:   # 调休上班的周末
      - {date: 2027-02-07, name: 春节调休}

Loading a year replaces whatever the package or an earlier load said about it, writes an
audit entry, and runs the given recompute hooks (workflows store deadlines that
reached into an unknown year as provisional and recompute them here).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml
from sqlalchemy import Connection, delete, insert, inspect, select

from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor
from govshare.kernel.calendar import WorkingDayCalendar
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import ValidationFailed
from govshare.rules.tables import calendar_day, calendar_year
from govshare.storage.engine import Database, Transaction

# Recomputes a workflow's provisional deadlines once a year is loaded (Platform.recompute_hooks).
RecomputeHook = Callable[[Transaction, WorkingDayCalendar, int], None]


def package_calendar() -> WorkingDayCalendar:
    """The years the chinese-calendar package knows."""
    cal = WorkingDayCalendar()
    years = sorted({d.year for d in chinese_calendar.holidays})
    for year in years:
        cal.add_year(
            year,
            (d for d in chinese_calendar.holidays if d.year == year),
            (d for d in chinese_calendar.workdays if d.year == year),
        )
    return cal


_PACKAGE: WorkingDayCalendar | None = None


def load_calendar(conn: Connection) -> WorkingDayCalendar:
    """The package years plus every year loaded into this database."""
    global _PACKAGE
    if _PACKAGE is None:
        _PACKAGE = package_calendar()
    cal = WorkingDayCalendar(
        holidays=set(_PACKAGE.holidays),
        adjusted_working_days=set(_PACKAGE.adjusted_working_days),
        known_years=set(_PACKAGE.known_years),
    )
    if not inspect(conn).has_table("calendar_year"):  # a database not migrated yet
        return cal
    rows = conn.execute(select(calendar_day.c.day, calendar_day.c.year, calendar_day.c.kind)).all()
    loaded = {int(y) for (y,) in conn.execute(select(calendar_year.c.year)).all()}
    for year in sorted(loaded):
        cal.add_year(
            year,
            (r.day for r in rows if r.year == year and r.kind == "holiday"),
            (r.day for r in rows if r.year == year and r.kind == "adjusted_working_day"),
        )
    return cal


@dataclass(frozen=True)
class CalendarYearFile:
    year: int
    source: str
    holidays: list[tuple[date, str]]
    adjusted_working_days: list[tuple[date, str]]
    sha256: str


def _bad(msg_zh: str, msg_en: str, field: str) -> ValidationFailed:
    return ValidationFailed(msg_zh, msg_en, code="calendar_file_invalid", field=field)


def _days(raw: Any, year: int, key: str) -> list[tuple[date, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _bad(f"{key} 应为列表", f"{key} must be a list", key)
    out: list[tuple[date, str]] = []
    for i, item in enumerate(raw):
        name = ""
        if isinstance(item, dict):
            name = str(item.get("name", ""))
            item = item.get("date")
        if not isinstance(item, date):
            raise _bad(
                f"{key}[{i}] 不是日期", f"{key}[{i}] is not a date (YYYY-MM-DD)", f"{key}[{i}]"
            )
        if item.year != year:
            raise _bad(f"{key}[{i}] 不在{year}年", f"{key}[{i}] is not in {year}", f"{key}[{i}]")
        out.append((item, name))
    return out


def parse_year_file(path: Path) -> CalendarYearFile:
    data = path.read_bytes()
    try:
        raw = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise _bad(
            "日历文件不是有效的YAML", f"{path.name} is not valid YAML: {exc}", "file"
        ) from exc
    if not isinstance(raw, dict):
        raise _bad("日历文件格式错误", f"{path.name} must be a mapping", "file")
    year = raw.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise _bad("year 应为年份", "year must be a year number", "year")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise _bad(
            "source 必须注明依据的通知", "source must name the State Council notice", "source"
        )
    holidays = _days(raw.get("holidays"), year, "holidays")
    adjusted = _days(raw.get("adjusted_working_days"), year, "adjusted_working_days")
    both = {d for d, _ in holidays} & {d for d, _ in adjusted}
    if both:
        first = min(both)
        raise _bad(
            f"{first} 不能既是假日又是调休工作日",
            f"{first} cannot be both a holiday and an adjusted working day",
            "holidays",
        )
    return CalendarYearFile(
        year, source.strip(), holidays, adjusted, hashlib.sha256(data).hexdigest()
    )


def load_year(
    db: Database, path: Path, *, actor: Actor, recompute: Sequence[RecomputeHook] = ()
) -> CalendarYearFile:
    require(actor, Permission.LOAD_CALENDAR)
    parsed = parse_year_file(path)
    with db.transaction() as tx:
        tx.conn.execute(delete(calendar_day).where(calendar_day.c.year == parsed.year))
        tx.conn.execute(delete(calendar_year).where(calendar_year.c.year == parsed.year))
        rows = [
            {"day": d, "year": parsed.year, "kind": "holiday", "name": n}
            for d, n in parsed.holidays
        ] + [
            {"day": d, "year": parsed.year, "kind": "adjusted_working_day", "name": n}
            for d, n in parsed.adjusted_working_days
        ]
        if rows:
            tx.conn.execute(insert(calendar_day), rows)
        tx.conn.execute(
            insert(calendar_year).values(
                year=parsed.year,
                source=parsed.source,
                file_sha256=parsed.sha256,
                loaded_at=utcnow(),
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.CALENDAR_LOAD,
            "calendar_year",
            str(parsed.year),
            details={
                "source": parsed.source,
                "holidays": len(parsed.holidays),
                "adjusted_working_days": len(parsed.adjusted_working_days),
                "sha256": parsed.sha256,
            },
        )
        cal = load_calendar(tx.conn)
        for hook in recompute:
            hook(tx, cal, parsed.year)
    return parsed
