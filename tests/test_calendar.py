"""The working-day calendar: counting rules, the holiday library against an independent one,
State Council arrangements, guessing in unknown years, and the admin overrides over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import holidays
import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.calendar.repository import CalendarRepository
from api.calendar.service import (
    CALENDAR_UNKNOWN_YEAR,
    LIBRARY_YEARS,
    UnknownYear,
    WorkCalendar,
    add_calendar_days,
    due_after_days,
    due_after_working_days,
    library_is_workday,
)
from api.kit.boundary import AppState
from api.kit.timeutil import end_of_local_day, local
from tests.conftest import login

CST = timezone(timedelta(hours=8))
UNKNOWN = date(2099, 3, 2)  # a Monday in a year no holiday notice will cover for a long time

# Bounded so the file stays fast; no example database, so nothing is written into the repo.
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Starts whose 40th working day still lies in a year the library covers.
covered_starts = st.dates(
    min_value=date(LIBRARY_YEARS.start, 1, 1), max_value=date(LIBRARY_YEARS.stop - 1, 10, 31)
)
counts = st.integers(min_value=0, max_value=40)


@st.composite
def calendars(draw: st.DrawFn, start: date) -> WorkCalendar:
    """The library calendar with a few random overrides in the two months after `start`."""
    days = st.integers(min_value=1, max_value=60).map(lambda k: start + timedelta(days=k))
    return WorkCalendar(draw(st.dictionaries(days, st.booleans(), max_size=6)))


def workdays_between(calendar: WorkCalendar, start: date, end: date) -> int:
    """Working days in (start, end]."""
    span = (end - start).days
    return sum(calendar.is_workday(start + timedelta(days=k)) for k in range(1, span + 1))


# --- properties of the counting ------------------------------------------------------------


@PROPERTY
@given(data=st.data(), start=covered_starts, n=counts)
def test_nth_working_day_is_exact(data: st.DataObject, start: date, n: int) -> None:
    calendar = data.draw(calendars(start))
    result = calendar.add_working_days(start, n)
    assert not result.guessed
    assert result.day >= start
    assert workdays_between(calendar, start, result.day) == n
    if n > 0:
        assert calendar.is_workday(result.day)
    else:
        assert result.day == start


@PROPERTY
@given(data=st.data(), start=covered_starts, a=counts, b=counts)
def test_counting_is_monotonic_and_composes(
    data: st.DataObject, start: date, a: int, b: int
) -> None:
    calendar = data.draw(calendars(start))
    low, high = sorted((a, b))
    if low < high:
        assert (
            calendar.add_working_days(start, low).day < calendar.add_working_days(start, high).day
        )
    if a + b <= 40:
        middle = calendar.add_working_days(start, a).day
        assert calendar.add_working_days(start, a + b) == calendar.add_working_days(middle, b)


@PROPERTY
@given(start=st.dates(min_value=date(2090, 1, 1), max_value=date(2099, 12, 1)), n=counts)
def test_unknown_years_count_weekdays_and_say_so(start: date, n: int) -> None:
    result = WorkCalendar().add_working_days(start, n)
    assert result.guessed == (n > 0)
    span = (result.day - start).days
    weekdays = sum((start + timedelta(days=k)).weekday() < 5 for k in range(1, span + 1))
    assert weekdays == n
    if n > 0:
        assert result.day.weekday() < 5


@PROPERTY
@given(offset=st.integers(min_value=0, max_value=30), n=counts)
def test_guessed_exactly_when_the_count_leaves_the_library(offset: int, n: int) -> None:
    start = date(LIBRARY_YEARS.stop - 1, 12, 31) - timedelta(days=offset)
    result = WorkCalendar().add_working_days(start, n)
    assert result.guessed == (result.day.year not in LIBRARY_YEARS)


# --- the library against an independent one ------------------------------------------------

# Days where `chinesecalendar` and `holidays` disagree, with the State Council notice that
# settles it; the service follows `chinesecalendar`, so a wrong day here needs an admin override.
KNOWN_DISAGREEMENTS: dict[date, bool] = {
    # 国办发明电〔2005〕35号 (2006 arrangement): "12月31日(星期六)上班". `holidays` is right;
    # `chinesecalendar` 1.11.0 still has it as a weekend day (its open issue #125).
    date(2005, 12, 31): True,
}


def holidays_workday(calendar: holidays.HolidayBase, day: date) -> bool:
    """The verdict of the `holidays` package: a weekday that is no public holiday, or a
    weekend day it lists as a make-up workday (调休上班)."""
    if day.weekday() < 5:
        return day not in calendar
    return day in calendar.weekend_workdays


@pytest.mark.parametrize("year", list(LIBRARY_YEARS))
def test_library_matches_the_holidays_package(year: int) -> None:
    oracle = holidays.country_holidays("CN", years=year, categories=(holidays.PUBLIC,))
    disagree: dict[date, bool] = {}
    day = date(year, 1, 1)
    while day.year == year:
        official = holidays_workday(oracle, day)
        if library_is_workday(day) != official:
            disagree[day] = official
        day += timedelta(days=1)
    expected = {d: v for d, v in KNOWN_DISAGREEMENTS.items() if d.year == year}
    assert disagree == expected


def test_library_covers_the_years_in_use() -> None:
    assert {2025, 2026} <= set(LIBRARY_YEARS)
    assert UNKNOWN.year not in LIBRARY_YEARS


# --- named arrangements ----------------------------------------------------------------------


def test_2025_national_day_golden_week() -> None:
    # 国办发明电〔2024〕12号: 10月1日至8日放假调休，共8天；9月28日（周日）、10月11日（周六）上班。
    calendar = WorkCalendar()
    off = {date(2025, 9, 27), date(2025, 10, 12)} | {date(2025, 10, d) for d in range(1, 9)}
    for k in range(16):
        day = date(2025, 9, 27) + timedelta(days=k)
        assert calendar.is_workday(day) == (day not in off), day
    assert calendar.is_workday(date(2025, 9, 28))
    assert calendar.is_workday(date(2025, 10, 11))
    # Received on Tue 30 Sep: 5 working days are 9, 10, 11 (Saturday, make-up), 13, 14 Oct.
    assert calendar.add_working_days(date(2025, 9, 30), 5).day == date(2025, 10, 14)


def test_2026_spring_festival() -> None:
    # 2026 notice: 2月15日至23日放假调休，共9天；2月14日（周六）、2月28日（周六）上班。
    calendar = WorkCalendar()
    for k in range(9):
        assert not calendar.is_workday(date(2026, 2, 15) + timedelta(days=k))
    assert calendar.is_workday(date(2026, 2, 14))
    assert calendar.is_workday(date(2026, 2, 28))
    assert calendar.is_workday(date(2026, 2, 24))
    # Received on Friday 13 Feb: the make-up Saturday counts, then 24–27 Feb.
    assert calendar.add_working_days(date(2026, 2, 13), 5) == calendar.add_working_days(
        date(2026, 2, 14), 4
    )
    assert calendar.add_working_days(date(2026, 2, 13), 5).day == date(2026, 2, 27)


def test_unknown_year_is_never_decided_silently() -> None:
    calendar = WorkCalendar()
    assert not calendar.covers(UNKNOWN)
    with pytest.raises(UnknownYear):
        calendar.is_workday(UNKNOWN)
    result = calendar.add_working_days(UNKNOWN, 5)
    assert result == type(result)(day=date(2099, 3, 9), guessed=True)
    # Overrides on every counted day decide the span, so nothing is guessed.
    decided = WorkCalendar({UNKNOWN + timedelta(days=k): k != 3 for k in range(1, 7)})
    assert decided.covers(UNKNOWN + timedelta(days=1))
    assert decided.add_working_days(UNKNOWN, 5).day == date(2099, 3, 8)
    assert not decided.add_working_days(UNKNOWN, 5).guessed


def test_calendar_days_and_end_of_local_day() -> None:
    assert add_calendar_days(date(2026, 1, 1), 60) == date(2026, 3, 2)
    # 02:00 on 1 Jan in Shanghai is still 31 Dec in UTC: the local day is what counts.
    due = due_after_days(datetime(2025, 12, 31, 18, 0, tzinfo=UTC), 60)
    assert due == datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=CST)
    assert due.tzinfo is UTC
    assert end_of_local_day(date(2026, 3, 2)) == due
    with pytest.raises(ValueError):
        due_after_days(datetime(2026, 1, 1, 8, 0), 1)


# --- the async helpers and the HTTP surface --------------------------------------------------


def db(app: FastAPI) -> AppState:
    state: AppState = app.state.desk
    return state


async def test_objection_window_across_national_day(app: FastAPI) -> None:
    # 条例 art. 23: 5 working days. Assigned 01:00 Friday 26 Sep 2025 in Shanghai (still
    # Thursday in UTC): 28 (Sunday, make-up), 29, 30 Sep, then 9 and 10 Oct after the holiday.
    assigned = datetime(2025, 9, 25, 17, 0, tzinfo=UTC)
    async with db(app).sessionmaker() as session:
        due, flags = await due_after_working_days(session, assigned, 5)
    assert due == datetime(2025, 10, 10, 23, 59, 59, 999999, tzinfo=CST)
    assert flags == []


async def test_unknown_year_flags_the_deadline(app: FastAPI) -> None:
    async with db(app).sessionmaker() as session:
        due, flags = await due_after_working_days(
            session, datetime(2099, 3, 2, 10, 0, tzinfo=CST), 5
        )
        crossing, crossing_flags = await due_after_working_days(
            session, datetime(LIBRARY_YEARS.stop - 1, 12, 28, 10, 0, tzinfo=CST), 10
        )
    assert due == end_of_local_day(date(2099, 3, 9))
    assert flags == [CALENDAR_UNKNOWN_YEAR]
    assert crossing_flags == [CALENDAR_UNKNOWN_YEAR]
    assert local(crossing).year == LIBRARY_YEARS.stop


async def test_overrides_beyond_the_first_window_still_count(app: FastAPI) -> None:
    # Six weeks closed by hand (say, a disaster) push one working day past any fixed window.
    async with db(app).sessionmaker() as session:
        repo = CalendarRepository(session)
        for k in range(42):
            await repo.upsert(date(2025, 11, 3) + timedelta(days=k), False, None, None)
        due, flags = await due_after_working_days(
            session, datetime(2025, 11, 2, 10, 0, tzinfo=CST), 1
        )
        await session.rollback()
    assert due == end_of_local_day(date(2025, 12, 15))
    assert flags == []


async def test_override_changes_deadlines_until_deleted(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    day = date(2025, 10, 9)  # an ordinary Thursday after the 2025 golden week
    assigned = datetime(2025, 9, 26, 15, 0, tzinfo=CST)

    async def due() -> datetime:
        async with db(app).sessionmaker() as session:
            at, flags = await due_after_working_days(session, assigned, 5)
        assert flags == []
        return at

    async def shown() -> dict[str, Any]:
        resp = await client.get(
            "/v1/calendar", params={"from": day.isoformat(), "to": day.isoformat()}, headers=admin
        )
        assert resp.status_code == 200, resp.text
        [entry] = resp.json()
        return dict(entry)

    assert await due() == end_of_local_day(date(2025, 10, 10))
    body = {"is_workday": False, "note": "本县停电放假"}
    try:
        resp = await client.put(f"/v1/calendar/{day}", json=body, headers=admin)
        assert resp.status_code == 200, resp.text
        assert resp.json() == {
            "date": "2025-10-09",
            "is_workday": False,
            "source": "override",
            "note": "本县停电放假",
        }
        assert await shown() == resp.json()
        # 9 Oct no longer counts: the 5th working day is Saturday 11 Oct (make-up).
        assert await due() == end_of_local_day(date(2025, 10, 11))
        body["is_workday"] = True
        resp = await client.put(f"/v1/calendar/{day}", json=body, headers=admin)
        assert resp.json()["is_workday"] is True
    finally:
        resp = await client.delete(f"/v1/calendar/{day}", headers=admin)
    assert resp.status_code == 204
    assert await shown() == {
        "date": "2025-10-09",
        "is_workday": True,
        "source": "library",
        "note": None,
    }
    assert await due() == end_of_local_day(date(2025, 10, 10))
    again = await client.delete(f"/v1/calendar/{day}", headers=admin)
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"


async def test_calendar_listing(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    resp = await client.get(
        "/v1/calendar", params={"from": "2025-09-27", "to": "2025-10-12"}, headers=admin
    )
    assert resp.status_code == 200, resp.text
    days = {d["date"]: d for d in resp.json()}
    assert len(days) == 16
    assert days["2025-09-28"] == {
        "date": "2025-09-28",
        "is_workday": True,
        "source": "library",
        "note": "国庆节调休上班",
    }
    assert days["2025-10-01"]["note"] == "国庆节"
    assert [d for d, v in days.items() if not v["is_workday"]] == [
        "2025-09-27",
        *(f"2025-10-0{k}" for k in range(1, 9)),
        "2025-10-12",
    ]
    unknown = await client.get(
        "/v1/calendar", params={"from": "2099-03-02", "to": "2099-03-02"}, headers=admin
    )
    assert unknown.json() == [
        {"date": "2099-03-02", "is_workday": None, "source": "unknown", "note": None}
    ]
    longest = await client.get(
        "/v1/calendar", params={"from": "2026-01-01", "to": "2027-02-04"}, headers=admin
    )
    assert longest.status_code == 200
    assert len(longest.json()) == 400


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2025-13-01", "to": "2025-12-31"},
        {"from": "2025-02-30", "to": "2025-03-01"},
        {"from": "2025-10-08", "to": "2025-10-01"},
        {"from": "2026-01-01", "to": "2027-02-05"},
        {"from": "2025-10-01"},
    ],
)
async def test_bad_ranges_are_problems(
    client: httpx.AsyncClient, admin: dict[str, str], params: dict[str, str]
) -> None:
    resp = await client.get("/v1/calendar", params=params, headers=admin)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["errors"]


async def test_bad_date_and_roles(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    resp = await client.put("/v1/calendar/2025-02-30", json={"is_workday": True}, headers=admin)
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    resp = await client.put("/v1/calendar/2025-10-09", json={"note": "x"}, headers=admin)
    assert resp.status_code == 422

    tag = uuid.uuid4().hex[:6]
    unit = await client.post(
        "/v1/units", json={"name": f"日历县-{tag}", "level": "county"}, headers=admin
    )
    assert unit.status_code == 201, unit.text
    viewer = {
        "name": f"viewer-{tag}",
        "unit_id": unit.json()["id"],
        "role": "viewer",
        "username": f"viewer-{tag}",
        "password": "viewer-password",
    }
    resp = await client.post("/v1/officials", json=viewer, headers=admin)
    assert resp.status_code == 201, resp.text
    headers = await login(client, f"viewer-{tag}", "viewer-password")

    listed = await client.get(
        "/v1/calendar", params={"from": "2025-10-01", "to": "2025-10-02"}, headers=headers
    )
    assert listed.status_code == 200
    put = await client.put("/v1/calendar/2025-10-09", json={"is_workday": False}, headers=headers)
    assert put.status_code == 403
    assert put.headers["content-type"] == "application/problem+json"
    delete = await client.delete("/v1/calendar/2025-10-09", headers=headers)
    assert delete.status_code == 403
    anonymous = await client.get("/v1/calendar", params={"from": "2025-10-01", "to": "2025-10-02"})
    assert anonymous.status_code == 401
