"""The dashboard's prevention and leadership figures, gathered from each domain."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.decisions import service as decisions
from api.follow_ups import service as follow_ups
from api.policies.service import current_policy
from api.prevention.schemas import PreventionSummary
from api.reception import service as reception
from api.screening import service as screening
from api.sensitive import service as sensitive
from api.stats.schemas import PeriodQuery
from api.stats.service import scope
from api.units.repository import UnitRepository


async def summary(
    session: AsyncSession, query: PeriodQuery, principal: Principal
) -> PreventionSummary:
    """A unit subtree's prevention and leadership figures for a period (defaults as for
    `GET /v1/stats/summary`)."""
    unit, first, last = await scope(session, query, principal)
    unit_ids = await UnitRepository(session).subtree_ids(unit.id)
    policy = (await current_policy(session, unit.id)).policy
    return PreventionSummary(
        unit_id=unit.id,
        from_=first,
        to=last,
        screening=await screening.figures(session, unit_ids, first, last, policy),
        sensitive=await sensitive.figures(session, unit_ids, first, last, policy),
        reception=await reception.figures(session, unit_ids, first, last, policy),
        decisions=await decisions.figures(session, unit_ids, first, last, policy),
        follow_up=await follow_ups.figures(session, unit_ids, first, last, policy),
    )
