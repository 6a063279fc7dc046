"""The dashboard's figures (SPEC §6) read per unit subtree and period: a handful of counter
rows (kept by `api.stats.counting`), however many cases there are."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.kit.db import utcnow
from api.kit.errors import InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.timeutil import local
from api.models.case import Channel
from api.models.unit import Unit
from api.stats.counting import split_period
from api.stats.repository import StatsRepository
from api.stats.schemas import (
    Arrivals,
    DayCount,
    Figures,
    PeriodQuery,
    Rate,
    Rates,
    Summary,
    UnitFigures,
    UnitRef,
    UnitsSummary,
)
from api.units.repository import UnitRepository
from api.units.service import get_unit

CHANNEL_KEYS = [f"channel:{channel.value}" for channel in Channel]


def figures_of(counts: dict[str, int]) -> Figures:
    """The figures from a unit's summed counters."""

    def group(prefix: str) -> dict[str, int]:
        return {
            key.removeprefix(prefix): value
            for key, value in sorted(counts.items())
            if key.startswith(prefix) and value
        }

    c = counts.get
    arrived, missed = c("arrival_on_time", 0), c("arrival_missed", 0)
    return Figures(
        cases=c("cases", 0),
        by_status=group("status:"),
        by_channel=group("channel:"),
        by_category=group("category:"),
        by_lodged_level=group("level:"),
        collective=c("collective", 0),
        rates=Rates(
            on_time_disposition=Rate.of(c("disposition_on_time", 0), c("disposition_settled", 0)),
            on_time_completion=Rate.of(c("completion_on_time", 0), c("completion_settled", 0)),
            satisfaction=Rate.of(c("satisfied", 0), c("feedback", 0)),
            first_visit_resolution=Rate.of(c("first_resolved", 0), c("first_done", 0)),
            repeat=Rate.of(c("repeat", 0), c("cases", 0)),
            skip_level=Rate.of(c("skip_level", 0), c("cases", 0)),
            arrival_on_time=Rate.of(arrived, arrived + missed),
        ),
        arrivals=Arrivals(on_time=arrived, missed=missed),
        open_overdue=c("open_overdue", 0),
    )


async def scope(
    session: AsyncSession, query: PeriodQuery, principal: Principal
) -> tuple[Unit, date, date]:
    """The unit (in the caller's reach; default their own) and the local days of a query."""
    unit_id = query.unit_id or principal.unit_id
    if unit_id is None:
        raise InvalidInput(Message("Give the unit whose figures you want."), pointer="/unit_id")
    unit = await get_unit(session, unit_id)
    if not principal.reaches(unit.id):
        raise NotFound(Message("Unit {unit_id} does not exist.", unit_id=unit_id))
    last = query.to or local(utcnow()).date()
    first = query.from_ or last.replace(month=1, day=1)
    if first > last:
        raise InvalidInput(Message("`from` must not be after `to`."), pointer="/from")
    return unit, first, last


async def totals(
    session: AsyncSession, query: PeriodQuery, principal: Principal
) -> tuple[Unit, date, date, Figures]:
    """A unit subtree's figures for the cases received in a period (the unit and the period
    as resolved from the query's defaults); a few counter rows whatever the number of cases."""
    unit, first, last = await scope(session, query, principal)
    months, days = split_period(first, last)
    counts = (await StatsRepository(session).sums([unit.id], months, days))[unit.id]
    return unit, first, last, figures_of(counts)


async def summary(session: AsyncSession, query: PeriodQuery, principal: Principal) -> Summary:
    """A unit subtree's figures for a period, with the daily series by channel."""
    unit, first, last, figures = await totals(session, query, principal)
    daily = await StatsRepository(session).per_day(unit.id, first, last, CHANNEL_KEYS)
    return Summary(
        unit_id=unit.id,
        from_=first,
        to=last,
        per_day=[
            DayCount(day=d, by_channel={k.removeprefix("channel:"): v for k, v in daily[d].items()})
            for d in sorted(daily)
        ],
        **figures.model_dump(),
    )


async def by_unit(session: AsyncSession, query: PeriodQuery, principal: Principal) -> UnitsSummary:
    """The figures of the unit's children, ranked by on-time completion (then fewest open
    overdue cases, then most cases)."""
    unit, first, last = await scope(session, query, principal)
    children = await UnitRepository(session).children(unit.id)
    months, days = split_period(first, last)
    sums = await StatsRepository(session).sums([u.id for u in children], months, days)
    rows = [(child, figures_of(sums[child.id])) for child in children]

    def standing(row: tuple[Unit, Figures]) -> tuple[float, int, int, str]:
        figures = row[1]
        rate = figures.rates.on_time_completion.rate
        return (
            -(rate if rate is not None else -1.0),
            figures.open_overdue,
            -figures.cases,
            row[0].name,
        )

    rows.sort(key=standing)
    return UnitsSummary(
        unit_id=unit.id,
        from_=first,
        to=last,
        items=[
            UnitFigures(
                unit=UnitRef(id=u.id, name=u.name, level=u.level.value, parent_id=u.parent_id),
                summary=figures,
                rank=rank,
            )
            for rank, (u, figures) in enumerate(rows, start=1)
        ],
    )
