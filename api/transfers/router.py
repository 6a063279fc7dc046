"""`/v1/transfers`: a higher office's system hands cases down (上级转送、交办) and reads back
what became of them."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.cases.schemas import RehandleBody, SuperviseBody
from api.kit.boundary import DbSession
from api.transfers import service
from api.transfers.schemas import TransferCreate, TransferRead

router = APIRouter(prefix="/v1/transfers", tags=["transfers"])

ERRORS: dict[int | str, dict[str, Any]] = {
    200: {"model": TransferRead, "description": "The reference was handed down already: its case."},
    422: {"description": "Invalid input, with a JSON pointer to each bad field."},
}


@router.post(
    "",
    status_code=201,
    response_model=TransferRead,
    responses=ERRORS,
    **needs(Permission.hand_down_cases),
)
async def hand_down(
    body: TransferCreate, session: DbSession, principal: CurrentPrincipal
) -> JSONResponse:
    """Hand a case down to the county (上级转送、交办), as the office the token is bound to.

    The office's reference number is the idempotency: the first transfer registers the case
    (201), the same reference again answers that case (200) whatever the body. The case is
    lodged at the office's level and its statutory clocks start now; the desk completes the
    registration (origin, category). The office hears of it through the webhook subscriptions
    bound to it (`transfer.*` events) or by `GET /v1/transfers/{case_id}`.
    """
    read, created = await service.hand_down(session, body, principal)
    return JSONResponse(
        read.model_dump(mode="json"),
        status_code=201 if created else 200,
        headers={"Location": f"/v1/transfers/{read.case_id}"},
    )


@router.get("/{case_id}", **needs(Permission.hand_down_cases))
async def get_transfer(
    case_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> TransferRead:
    """What became of a case the calling office handed down: status, outcome and its times."""
    return await service.get_transfer(session, case_id, principal)


@router.post(
    "/{case_id}/return",
    response_model=TransferRead,
    responses={409: {"description": "Only an answered or closed case is sent back."}},
    **needs(Permission.hand_down_cases),
)
async def send_back(
    case_id: uuid.UUID, body: RehandleBody, session: DbSession, principal: CurrentPrincipal
) -> TransferRead:
    """退回重办: the office sends back the answer of a case it handed down (facts unclear,
    policy misapplied, evidence missing …); the case is handled again with a new time limit,
    and the return counts in the county's scores."""
    return await service.send_back(session, case_id, body, principal)


@router.post(
    "/{case_id}/supervise",
    response_model=TransferRead,
    responses={409: {"description": "The case is closed."}},
    **needs(Permission.hand_down_cases),
)
async def supervise(
    case_id: uuid.UUID, body: SuperviseBody, session: DbSession, principal: CurrentPrincipal
) -> TransferRead:
    """督办: the office supervises an open case it handed down; a deadline of its own opens,
    met by the answer, escalating like any other when missed."""
    return await service.supervise(session, case_id, body, principal)
