"""`/v1/sensitive-periods`: the sensitive periods (敏感时期) of the policy and their figures."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.kit.boundary import DbSession
from api.kit.pagination import Page
from api.policies.service import current_policy
from api.sensitive import service
from api.sensitive.schemas import SensitivePeriodFigures, SensitivePeriodRead

router = APIRouter(prefix="/v1/sensitive-periods", tags=["sensitive periods"])


@router.get("", **needs(Permission.read_reports))
async def list_sensitive_periods(
    session: DbSession, _: CurrentPrincipal
) -> Page[SensitivePeriodRead]:
    """The sensitive periods (敏感时期) of the policy in the order of their windows, each with
    whether it is active today (local date) and how many of its days are left. The policy
    holds at most 50, so they come on one page."""
    policy = (await current_policy(session)).policy
    return Page(items=service.list_periods(policy))


@router.get(
    "/{key}/figures",
    responses={404: {"description": "No such period, or the unit is out of reach."}},
    **needs(Permission.read_reports),
)
async def sensitive_period_figures(
    key: Annotated[str, Path(description="The period's key, e.g. `lianghui-2027`.")],
    session: DbSession,
    principal: CurrentPrincipal,
    unit_id: Annotated[
        uuid.UUID | None, Query(description="The subtree's top unit; default: the caller's.")
    ] = None,
) -> SensitivePeriodFigures:
    """A period's figures for a unit subtree: cases received in the window (collective, above
    the county, by lodged level), arrival deadlines missed, the daily situation reports
    (日报告: owed, filed, zero, late, missed) per day, and the officers who have not reported
    today."""
    policy = (await current_policy(session)).policy
    return await service.figures_of(session, key, unit_id, principal, policy)
