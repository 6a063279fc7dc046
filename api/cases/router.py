"""`/v1/cases`: registering petitions, reading them, arrivals at the scene, and the lifecycle
actions (`POST /v1/cases/{case_id}/{action}`), one operation per entry of the action table."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.cases import confidentiality, corrections, service, views
from api.cases.actions import ACTIONS, CaseAction
from api.cases.schemas import (
    ArrivalCreate,
    ArrivalRead,
    CaseCorrection,
    CaseCreate,
    CaseEventRead,
    CaseQuery,
    CaseRead,
    CaseRegistered,
    ConfidentialityWrite,
    FollowUpRead,
)
from api.idempotency.dependencies import Once
from api.kit.boundary import DbSession
from api.kit.pagination import Page

router = APIRouter(prefix="/v1/cases", tags=["cases"])


ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed in the case's state; lists the allowed actions."},
    422: {"description": "Invalid input, with a JSON pointer to each bad field."},
}


@router.post(
    "",
    status_code=201,
    response_model=CaseRegistered,
    responses=ACTION_ERRORS,
    **needs(Permission.register_cases),
)
async def register_case(
    body: CaseCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """Register a petition (登记). A visit lodged above its origin summons the chiefs at once.

    Offline clients retry with the same `Idempotency-Key`: one case is created. An answer kept
    for such retries shows the petitioners' ID and phone numbers masked, whatever the role
    (`GET` the case for them).
    """

    async def produce() -> CaseRegistered:
        return await views.register(session, body, principal, kept=once.kept)

    return await once(body, 201, produce)


@router.get("", **needs(Permission.read_cases))
async def list_cases(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[CaseQuery, Query()]
) -> Page[CaseRead]:
    """List the cases of the caller's territory (their unit's subtree), newest first, with
    filters and a cursor. `id_number` and `phone` find a petitioner by exact number."""
    return await views.list_cases(session, query, principal)


@router.get("/{case_id}", **needs(Permission.read_cases))
async def get_case(case_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal) -> CaseRead:
    """Read a case with its deadlines, handling units and the actions allowed now (404 for a
    case outside the caller's territory, as for one that does not exist)."""
    return await views.get_case(session, case_id, principal)


@router.get("/{case_id}/timeline", **needs(Permission.read_cases))
async def case_timeline(
    case_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> list[CaseEventRead]:
    """The case's events, oldest first: who did what, when, from which client."""
    return await service.timeline(session, case_id, principal)


@router.post(
    "/{case_id}/arrivals",
    status_code=201,
    response_model=ArrivalRead,
    responses=ACTION_ERRORS,
    **needs(Permission.record_arrival),
)
async def record_arrival(
    case_id: uuid.UUID,
    body: ArrivalCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """Check in at the scene (到位签到); meets the official's arrival deadline if in time."""

    async def produce() -> ArrivalRead:
        return await service.record_arrival(session, case_id, body, principal)

    return await once(body, 201, produce)


@router.patch(
    "/{case_id}",
    responses={409: {"description": "The case is closed: not corrected."}},
    **needs(Permission.desk_cases),
)
async def correct_case(
    case_id: uuid.UUID, body: CaseCorrection, session: DbSession, principal: CurrentPrincipal
) -> CaseRead:
    """Correct the registration of an open case (不错登): its title, content, reasons, demands,
    category, location, origin, received time, petitioners or headcount, with the reason;
    every change is on the timeline with its value before and after (petitioners' numbers
    masked). A corrected receipt or origin moves the open deadlines counted from receipt;
    a visit's corrected origin, headcount or receipt summons the officials now required
    and withdraws the summonses no longer required; the figures follow the case to its
    corrected origin and day."""
    case = await corrections.correct(session, case_id, body, principal)
    return await views.view(session, case, principal)


@router.put(
    "/{case_id}/confidentiality",
    responses={
        422: {
            "description": "An official or unit that does not exist, or one already "
            "leading, handling or owning the case."
        }
    },
    **needs(Permission.desk_cases),
)
async def set_case_confidentiality(
    case_id: uuid.UUID, body: ConfidentialityWrite, session: DbSession, principal: CurrentPrincipal
) -> CaseRead:
    """Name whom the petition complains about (被反映人: they never see, handle or hear of it)
    and mark it confidential (保密) or not: the petition desk's correction."""
    case = await confidentiality.set_confidentiality(session, case_id, body, principal)
    return await views.view(session, case, principal)


@router.get("/{case_id}/follow_ups", **needs(Permission.read_cases))
async def case_follow_ups(
    case_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> list[FollowUpRead]:
    """The calls back to the petitioner (回访记录), oldest first."""
    return await service.follow_ups(session, case_id, principal)


def _endpoint(action: CaseAction[Any]) -> Callable[..., Awaitable[JSONResponse]]:
    """The endpoint of one action, with its body typed in the signature as the table says (the
    operation's request body is read from it)."""

    async def take_action(
        case_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, once: Once, body: Any
    ) -> JSONResponse:
        data = body if body is not None else action.body()

        async def produce() -> CaseRead:
            case = await action.perform(session, case_id, data, principal)
            return await views.view(session, case, principal, kept=once.kept)

        return await once(data, 200, produce)

    signature = inspect.signature(take_action, eval_str=True)
    *context, body = signature.parameters.values()
    if action.body_optional:
        body = body.replace(annotation=action.body | None, default=None)
    else:
        body = body.replace(annotation=action.body)
    cast(Any, take_action).__signature__ = signature.replace(parameters=[*context, body])
    return take_action


for action in ACTIONS:
    router.add_api_route(
        f"/{{case_id}}/{action.name}",
        _endpoint(action),
        methods=["POST"],
        name=f"{action.name}_case",
        description=action.description,
        response_model=CaseRead,
        responses=ACTION_ERRORS,
        **needs(action.transition.permission),
    )
