"""`/v1/stats/veto` and `/v1/stats/scores`: the one-vote veto and the scores (考核)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.assessment import service
from api.assessment.schemas import AssessmentQuery, ScoreQuery, ScoreReport, VetoReport
from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.kit.boundary import DbSession

router = APIRouter(prefix="/v1/stats", tags=["stats"])


@router.get(
    "/veto",
    response_model=VetoReport,
    **needs(Permission.read_cases),
)
async def get_veto(
    session: DbSession,
    principal: CurrentPrincipal,
    query: Annotated[AssessmentQuery, Query()],
) -> VetoReport:
    """One-vote veto (一票否决, seed 000 rule 8) of every area, village and department in your
    territory (or in the subtree of `unit_id`) for a year: collective visits (群体上访)
    counted by where they were lodged, each rule of the policy's `veto` against its
    threshold, with the cases that count. An area or village answers for the visits from its
    territory (属地), a department for the visits whose case is assigned to it. Answers an
    `ETag`; a poll with `If-None-Match` that finds nothing new gets 304."""
    report = await service.veto(session, query, principal)
    return report


@router.get(
    "/scores",
    response_model=ScoreReport,
    **needs(Permission.read_cases),
)
async def get_scores(
    session: DbSession,
    principal: CurrentPrincipal,
    query: Annotated[ScoreQuery, Query()],
) -> ScoreReport:
    """Scores (考评得分) of the units in your territory (or in the subtree of `unit_id`) for a
    year under one of the policy's scoring rule tables (考评细则, seed 001; `table`, default
    the first, each on its own scale): each section's maximum less its deductions, floored at
    zero (扣完为止), best first. The rules read what the system records of how the officials
    served (deadlines missed or met late, answers sent back, the screening register, the duty
    roster …); each deduction names its rule and the facts behind it (cases, deadlines,
    timeline events, register entries), each charged to the unit that owed it. Answers an
    `ETag`; a poll with `If-None-Match` that finds nothing new gets 304."""
    report = await service.scores(session, query, principal)
    return report
