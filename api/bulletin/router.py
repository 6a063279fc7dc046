"""`/v1/reports/monthly`: the monthly bulletin (每月通报, seed 000 rule 9)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.bulletin import render, service
from api.bulletin.schemas import BulletinQuery, MonthlyBulletin
from api.kit.boundary import DbSession
from api.kit.errors import PROBLEM_JSON

router = APIRouter(prefix="/v1/reports", tags=["reports"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The bulletin as JSON, CSV or an XLSX workbook, as `Accept` asks.",
        "content": {
            render.CSV: {"schema": {"type": "string"}},
            render.XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
    },
    406: {
        "description": "`Accept` names none of the three media types.",
        "content": {PROBLEM_JSON: {"schema": {"type": "object"}}},
    },
}


@router.get(
    "/monthly",
    response_model=MonthlyBulletin,
    responses=RESPONSES,
    **needs(Permission.read_reports),
)
async def monthly_bulletin(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    response: Response,
    query: Annotated[BulletinQuery, Query()],
) -> MonthlyBulletin | Response:
    """The monthly bulletin (每月通报, seed 000 rule 9) of a unit (default: yours; an admin
    names one) for a month (default: the previous one): each child unit's figures for the
    cases received in the month, ranked as on the dashboard, and the unit's total; the
    praise list (通报表扬) under the policy's `bulletin` rule; the criticism list (通报批评):
    every arrival missed (who, which case), every case overdue in the month (how many days)
    and every unit under the one-vote veto in the year up to the month's end.

    `Accept: application/json` (the default) answers JSON; `text/csv` a CSV for Excel (UTF-8
    with BOM; blocks 各单位指标, 表扬, 批评); the XLSX media type a workbook to print, one
    sheet per block. Anything else gets 406. Answers an `ETag` (one per media type); a poll
    with `If-None-Match` that finds nothing new gets 304 (as every read does)."""
    media = render.negotiate(request.headers.get("accept"))
    bulletin = await service.monthly(session, query, principal)
    if media == render.JSON:
        response.headers["Vary"] = "Accept"
        return bulletin
    body, disposition = render.spreadsheet(bulletin, media)
    media_type = f"{media}; charset=utf-8" if media == render.CSV else media
    return Response(body, media_type=media_type, headers={"Vary": "Accept", **disposition})
