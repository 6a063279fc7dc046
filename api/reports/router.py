"""`/v1/reports`: situation reports of information officers (信访形势报送, 零隐报)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.idempotency.dependencies import Once
from api.kit.boundary import DbSession
from api.kit.pagination import Page
from api.policies.service import current_policy
from api.reports import service
from api.reports.schemas import ReportCreate, ReportQuery, ReportRead

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.post(
    "",
    status_code=201,
    response_model=ReportRead,
    responses={409: {"description": "A report for the period was already filed."}},
    **needs(Permission.file_reports),
)
async def submit_report(
    body: ReportCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """File a situation report for a report day; a zero report (零报告) counts as filed."""

    async def produce() -> ReportRead:
        policy = (await current_policy(session, principal.unit_id)).policy
        report = await service.submit(session, body, principal, policy)
        return ReportRead.model_validate(report, from_attributes=True)

    return await once(body, 201, produce)


@router.get("", **needs(Permission.read_reports))
async def list_reports(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[ReportQuery, Query()]
) -> Page[ReportRead]:
    """List the situation reports of the caller's territory by officer, unit, period or
    zero/non-zero."""
    rows, next_cursor = await service.list_reports(session, query, principal)
    return Page(
        items=[ReportRead.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
    )
