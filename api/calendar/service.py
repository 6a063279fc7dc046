"""The working-day calendar (工作日): Chinese public holidays, make-up workdays (调休), overrides.

The core is pure and synchronous: `WorkCalendar` answers from a dict of admin overrides and the
PyPI `chinesecalendar` library, and counts working days. The async helpers load the overrides a
computation needs and turn local days into due moments (Asia/Shanghai, end of the local day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import chinese_calendar  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.calendar.repository import CalendarRepository
from api.calendar.schemas import CalendarDay, DaySource, OverrideWrite
from api.kit.errors import Forbidden, InvalidInput, NotFound, PetitionDeskError
from api.kit.i18n import N_, Message
from api.kit.timeutil import end_of_local_day, local
from api.models.calendar import CalendarOverride

CALENDAR_UNKNOWN_YEAR = "calendar_unknown_year"
"""Deadline flag: the due day was counted over a year whose holiday notice is not known."""

MAX_RANGE_DAYS = 400
"""Most dates one `GET /v1/calendar` returns."""

LIBRARY_YEARS = range(
    min(d.year for d in chinese_calendar.holidays),
    max(d.year for d in chinese_calendar.holidays) + 1,
)
"""The years whose State Council holiday notice the installed `chinesecalendar` knows."""


class UnknownYear(PetitionDeskError):
    """Neither the holiday library nor an override knows whether this date is a workday."""

    status = 422
    slug = "calendar-unknown-year"
    title = N_("Year not in the working-day calendar")

    def __init__(self, day: date) -> None:
        super().__init__(
            Message(
                "The holiday arrangement of {day_year} is not known: {value} needs an "
                "override or a newer holiday library.",
                day_year=day.year,
                value=day.isoformat(),
            ),
            day=day.isoformat(),
        )
        self.day = day


@dataclass(frozen=True)
class WorkingDayResult:
    """The day reached by counting working days, and whether any day of the count was guessed."""

    day: date
    guessed: bool


def library_covers(day: date) -> bool:
    """Whether the holiday library knows the arrangement of the date's year."""
    return day.year in LIBRARY_YEARS


def library_is_workday(day: date) -> bool:
    """The library's verdict; `UnknownYear` for a year it does not cover."""
    if not library_covers(day):
        raise UnknownYear(day)
    return bool(chinese_calendar.is_workday(day))


def library_note(day: date) -> str | None:
    """The holiday a date belongs to, e.g. `国庆节`, or `国庆节调休上班` for a make-up workday."""
    if not library_covers(day):
        return None
    if day in chinese_calendar.workdays:
        return f"{chinese_calendar.Holiday(chinese_calendar.workdays[day]).chinese}调休上班"
    if day in chinese_calendar.holidays:
        return str(chinese_calendar.Holiday(chinese_calendar.holidays[day]).chinese)
    return None


def add_calendar_days(start: date, n: int) -> date:
    """The date `n` calendar days after `start` (day 1 is the day after `start`)."""
    if n < 0:
        raise ValueError("n must not be negative")
    return start + timedelta(days=n)


class WorkCalendar:
    """Workday verdicts: an admin override wins, else the holiday library.

    Only the overrides given are known: build it with `load_calendar` over every date it will
    be asked about.
    """

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        self.overrides: dict[date, bool] = dict(overrides or {})

    def covers(self, day: date) -> bool:
        """Whether the date is decided without guessing (an override, or a library year)."""
        return day in self.overrides or library_covers(day)

    def source(self, day: date) -> DaySource:
        """Where the verdict on the date comes from."""
        if day in self.overrides:
            return DaySource.override
        return DaySource.library if library_covers(day) else DaySource.unknown

    def is_workday(self, day: date) -> bool:
        """Whether the date is a working day; `UnknownYear` when nothing decides it."""
        override = self.overrides.get(day)
        if override is not None:
            return override
        return library_is_workday(day)

    def add_working_days(self, start: date, n: int) -> WorkingDayResult:
        """The `n`-th working day after `start` (`start` itself never counts; n=0 is `start`).

        A petition received on a Friday with 5 working days is due on the 5th working day after
        that Friday. Days that nothing decides count Monday to Friday as workdays, and the
        result says `guessed`, so the caller can flag the deadline instead of trusting it.
        """
        if n < 0:
            raise ValueError("n must not be negative")
        day, left, guessed = start, n, False
        while left > 0:
            day += timedelta(days=1)
            if self.covers(day):
                working = self.is_workday(day)
            else:
                working, guessed = day.weekday() < 5, True
            if working:
                left -= 1
        return WorkingDayResult(day=day, guessed=guessed)


def _local_day(at: datetime) -> date:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    return local(at).date()


async def load_calendar(session: AsyncSession, start: date, end: date) -> WorkCalendar:
    """A calendar with the overrides of the dates from `start` to `end`, both included."""
    rows = await CalendarRepository(session).in_range(start, end)
    return WorkCalendar({row.day: row.is_workday for row in rows})


async def due_after_working_days(
    session: AsyncSession, start: datetime, n: int
) -> tuple[datetime, list[str]]:
    """Due moment `n` working days after `start`: the end of that local day, in UTC.

    The flags contain `calendar_unknown_year` when some day of the count lay in a year that
    neither the library nor an override decides (those days were counted Monday to Friday).
    """
    if n < 0:
        raise ValueError("n must not be negative")
    first = _local_day(start)
    # Twice the span plus a month holds any holiday stretch; admin overrides that close more
    # days push the result further, so widen the loaded window until the result lies inside.
    last = first + timedelta(days=2 * n + 31)
    while True:
        calendar = await load_calendar(session, first, last)
        result = calendar.add_working_days(first, n)
        if result.day <= last:
            break
        last = first + 2 * (last - first)
    flags = [CALENDAR_UNKNOWN_YEAR] if result.guessed else []
    return end_of_local_day(result.day), flags


def due_after_days(start: datetime, n: int) -> datetime:
    """Due moment `n` calendar days after `start`: the end of that local day, in UTC."""
    return end_of_local_day(add_calendar_days(_local_day(start), n))


def _range_error(name: str, detail: Message) -> InvalidInput:
    return InvalidInput(detail, errors=[{"in": "query", "name": name, "detail": detail}])


async def list_days(session: AsyncSession, start: date, end: date) -> list[CalendarDay]:
    """Every date from `start` to `end` (both included, at most 400) with its verdict."""
    if end < start:
        raise _range_error("to", Message("`to` must not be before `from`."))
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise _range_error("to", Message("At most {days} days per request.", days=MAX_RANGE_DAYS))
    rows = {row.day: row for row in await CalendarRepository(session).in_range(start, end)}
    calendar = WorkCalendar({day: row.is_workday for day, row in rows.items()})
    days: list[CalendarDay] = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        source = calendar.source(day)
        days.append(
            CalendarDay(
                date=day,
                is_workday=calendar.is_workday(day) if source is not DaySource.unknown else None,
                source=source,
                note=rows[day].note if day in rows else library_note(day),
            )
        )
    return days


def _override_day(row: CalendarOverride) -> CalendarDay:
    return CalendarDay(
        date=row.day, is_workday=row.is_workday, source=DaySource.override, note=row.note
    )


def _national(principal: Principal) -> None:
    # Working days are the State Council's, the same in every county: one calendar per
    # deployment, kept by its admin.
    if not principal.deployment_wide:
        raise Forbidden(Message("Only the deployment's admin may change the working-day calendar."))


async def set_override(
    session: AsyncSession, day: date, data: OverrideWrite, principal: Principal
) -> CalendarDay:
    """Decide a date by hand, replacing any earlier override of it (the deployment's admin).

    Deadlines computed before keep their due time; the override applies to later computations.
    """
    _national(principal)
    row = await CalendarRepository(session).upsert(day, data.is_workday, data.note, principal.id)
    return _override_day(row)


async def remove_override(session: AsyncSession, day: date, principal: Principal) -> None:
    """Drop the override of a date, so the library decides it again; 404 when there is none."""
    _national(principal)
    if not await CalendarRepository(session).delete(day):
        raise NotFound(Message("No calendar override for {value}.", value=day.isoformat()))
