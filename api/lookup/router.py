"""The petitioner's lookup of their own case (`/v1/public/case-lookup`), and the desk's
re-issue of a lost lookup secret."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.auth.throttle import LoginThrottle
from api.kit.boundary import AppState, DbSession, get_state
from api.lookup import service
from api.lookup.schemas import CaseProgress, LookupRequest, LookupSecret

router = APIRouter(tags=["lookup"])


@router.post(
    "/v1/public/case-lookup",
    responses={
        404: {"description": "No case has this number and secret (either may be wrong)."},
        429: {
            "description": "Too many misses for this number, or at all, from this address; "
            "`Retry-After`."
        },
    },
)
async def case_lookup(
    body: LookupRequest,
    request: Request,
    session: DbSession,
    state: Annotated[AppState, Depends(get_state)],
) -> CaseProgress:
    """查询办理情况 (条例 art. 21): a petitioner looks up their case with its number and the
    lookup secret (查询码) handed out at registration, without an account. Answers the state,
    the milestones with the notices and answers owed to them, and what comes next; never the
    officials, internal notes or escalations. Repeated misses lock the number for that address,
    and the address, for a while, as failed logins do (numbers restart in every county: one
    caller's guesses never lock another petitioner out)."""
    throttle = LoginThrottle.from_settings(state.arq, state.settings, "lookup")
    address = request.client.host if request.client else "unknown"
    return await service.lookup(session, body, address, throttle)


@router.post(
    "/v1/cases/{case_id}/lookup_secret",
    status_code=201,
    **needs(Permission.desk_cases),
)
async def reissue_lookup_secret(
    case_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> LookupSecret:
    """A new lookup secret (查询码) for a petitioner who lost theirs; the old one stops
    working. The secret is shown once, here."""
    return await service.reissue(session, case_id, principal)
