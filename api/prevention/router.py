"""`/v1/stats/prevention`: the dashboard's prevention and leadership figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.kit.boundary import DbSession
from api.prevention import service
from api.prevention.schemas import PreventionSummary
from api.stats.schemas import PeriodQuery

router = APIRouter(prefix="/v1/stats", tags=["stats"])


@router.get("/prevention", response_model=PreventionSummary, **needs(Permission.read_cases))
async def prevention_summary(
    session: DbSession,
    principal: CurrentPrincipal,
    query: Annotated[PeriodQuery, Query()],
) -> PreventionSummary:
    """The prevention and leadership work of a unit subtree (default: the caller's unit) in a
    period (default: this year): screened disputes and their resolution (矛盾纠纷排查化解),
    the sensitive period's duties (敏感时期), leader reception (领导接访, 约访, 带案下访),
    stability-risk assessments of decisions, calls back to petitioners (回访) and leaders'
    instructions (批示)."""
    return await service.summary(session, query, principal)
