"""Time zone, dates as the API reads them, and human-readable durations for Chinese message
texts."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BeforeValidator

CHINA = ZoneInfo("Asia/Shanghai")


def local(at: datetime) -> datetime:
    """The moment in Asia/Shanghai, where all day arithmetic happens."""
    return at.astimezone(CHINA)


def local_clock(at: datetime) -> str:
    """A short local date and time for message texts, e.g. `11月23日 17:52`."""
    t = local(at)
    return f"{t.month}月{t.day}日 {t:%H:%M}"


def within_text(span: timedelta) -> str:
    """A span in words: `20分钟`, `2小时`, `45秒`."""
    seconds = int(span.total_seconds())
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600}小时"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}分钟"
    return f"{seconds}秒"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(value: object) -> object:
    # Pydantic's lax mode would read `0` or "0" as 1970-01-01 (a Unix time); a date here is
    # always written YYYY-MM-DD.
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("a date is written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]


_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}.*")


def _iso_datetime_only(value: object) -> object:
    # As for dates: lax mode reads a number (`0.5`, "1700000000") as a Unix time; a moment here
    # is always written as RFC 3339 text with its offset.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.fullmatch(value):
        return value
    raise ValueError("a moment is written as RFC 3339, e.g. 2026-11-24T09:30:00+08:00")


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime_only)]
