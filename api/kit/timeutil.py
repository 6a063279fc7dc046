"""Time zone, day arithmetic, and human-readable durations for Chinese message texts."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def local(at: datetime) -> datetime:
    """The moment in Asia/Shanghai, where all day arithmetic happens."""
    return at.astimezone(CHINA)


def local_today() -> date:
    """Today in Asia/Shanghai."""
    return datetime.now(CHINA).date()


def month_days(day: date) -> tuple[date, date]:
    """The first and last day of the month `day` falls in."""
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months_from(first: date, count: int) -> list[date]:
    """The first days of `count` months from `first`'s on."""
    start = first.year * 12 + first.month - 1
    return [date(n // 12, n % 12 + 1, 1) for n in range(start, start + count)]


def month_span(month: str) -> tuple[date, date]:
    """The first and last day of a `YYYY-MM` month."""
    year, number = (int(part) for part in month.split("-"))
    return month_days(date(year, number, 1))


def start_of_local_day(day: date) -> datetime:
    """The first moment of a local (Asia/Shanghai) date, in UTC."""
    return datetime.combine(day, time.min, tzinfo=CHINA).astimezone(UTC)


def end_of_local_day(day: date) -> datetime:
    """The last microsecond of a local (Asia/Shanghai) date, as an aware UTC datetime."""
    return datetime.combine(day, time.max, tzinfo=CHINA).astimezone(UTC)


def local_days(first: date, last: date) -> tuple[datetime, datetime]:
    """The instants from the start of local day `first` up to (not including) the start of
    the day after local day `last`: a period of whole days, both ends included."""
    start = datetime.combine(first, time(), tzinfo=CHINA)
    return start, datetime.combine(last + timedelta(days=1), time(), tzinfo=CHINA)


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


def remaining_text(span: timedelta) -> str:
    """Time left in words, to the minute: `3天4小时`, `2小时15分钟`, `40分钟` (less than a
    minute: `不足1分钟`)."""
    minutes = max(int(span.total_seconds()) // 60, 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分钟" if minutes else f"{hours}小时"
    return f"{minutes}分钟" if minutes else "不足1分钟"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
