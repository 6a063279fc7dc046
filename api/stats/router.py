"""`/v1/stats`: the county dashboard's figures (SPEC §6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.kit.boundary import DbSession
from api.stats import service
from api.stats.schemas import PeriodQuery, Summary, UnitsSummary

router = APIRouter(prefix="/v1/stats", tags=["stats"])


@router.get(
    "/summary",
    response_model=Summary,
    **needs(Permission.read_cases),
)
async def stats_summary(
    session: DbSession,
    principal: CurrentPrincipal,
    query: Annotated[PeriodQuery, Query()],
) -> Summary:
    """The figures of a unit subtree (default: the caller's unit) for the cases received in a
    period (default: this year): counts by status, channel, category and lodged level, the
    rates of SPEC §6 each with numerator and denominator, arrivals, open overdue cases, and
    cases per day by channel. Answers an `ETag`; a poll with `If-None-Match` that finds
    nothing new gets 304 without anything being computed (as every read does)."""
    figures = await service.summary(session, query, principal)
    return figures


@router.get(
    "/units",
    response_model=UnitsSummary,
    **needs(Permission.read_cases),
)
async def stats_units(
    session: DbSession,
    principal: CurrentPrincipal,
    query: Annotated[PeriodQuery, Query()],
) -> UnitsSummary:
    """The same figures for each child unit of a unit (default: the caller's), ranked by
    on-time completion (按期办结率), then fewest open overdue cases."""
    figures = await service.by_unit(session, query, principal)
    return figures
