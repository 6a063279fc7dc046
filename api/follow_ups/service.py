"""Follow-up calls (回访): the dashboard's figures (the calls themselves are a case action,
`api.cases.workflow.follow_up`)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from api.follow_ups.repository import FollowUpFiguresRepository
from api.follow_ups.schemas import FollowUpFigures
from api.kit.db import utcnow
from api.kit.timeutil import local_days
from api.policies.schemas import Policy
from api.stats.schemas import Rate


async def figures(
    session: AsyncSession,
    unit_ids: frozenset[uuid.UUID],
    first: date,
    last: date,
    policy: Policy,
) -> FollowUpFigures:
    """The subtree's calls back and instructions in the local days `first`..`last`."""
    del policy
    start, end = local_days(first, last)
    repo = FollowUpFiguresRepository(session)
    deadlines = await repo.deadlines(unit_ids, start, end, utcnow())
    calls = await repo.calls(unit_ids, start, end)
    return FollowUpFigures(
        owed=sum(deadlines.get(s, 0) for s in ("open", "met", "missed")),
        on_time=deadlines.get("met", 0),
        missed=deadlines.get("missed", 0),
        open_overdue=deadlines["open_overdue"],
        calls=calls.calls,
        reach_rate=Rate.of(calls.reached, calls.calls),
        satisfaction=Rate.of(calls.satisfied, calls.reached),
        instructed_cases=await repo.instructed(unit_ids, start, end),
    )
