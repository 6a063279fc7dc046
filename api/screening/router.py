"""`/v1/screening`: the dispute screening register (矛盾纠纷排查台账)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.idempotency.dependencies import Once
from api.kit.boundary import DbSession
from api.kit.pagination import Page
from api.models.screening import ScreeningItem
from api.policies.service import current_policy
from api.screening import service
from api.screening.schemas import (
    ScreeningCloseBody,
    ScreeningConvertBody,
    ScreeningItemCreate,
    ScreeningItemQuery,
    ScreeningItemRead,
    ScreeningItemUpdate,
    ScreeningResolveBody,
    ScreeningRollup,
    ScreeningRollupQuery,
    ScreeningRoundCreate,
    ScreeningRoundQuery,
    ScreeningRoundRead,
)

router = APIRouter(prefix="/v1/screening", tags=["screening"])

INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid input, with a JSON pointer to each bad field."}
}
ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "The item is no longer open (`item_status`)."},
    **INVALID,
}


def _read(item: ScreeningItem) -> ScreeningItemRead:
    return ScreeningItemRead.model_validate(item, from_attributes=True)


@router.post(
    "/items",
    status_code=201,
    response_model=ScreeningItemRead,
    responses=INVALID,
    **needs(Permission.screen_disputes),
)
async def create_screening_item(
    body: ScreeningItemCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """Enter a screened dispute or instability factor in the register (登记台账) with its
    owning leader (包案领导), plan (化解方案), measures (稳控措施) and time limit (化解时限,
    default per risk level: 7, 15 or 30 days). The leader gets a `screening` deadline due at
    the time limit; a high risk (高风险) alerts them at once. Offline clients retry with the
    same `Idempotency-Key`: one entry is made."""

    async def produce() -> ScreeningItemRead:
        policy = (await current_policy(session)).policy
        return _read(await service.create_item(session, body, principal, policy))

    return await once(body, 201, produce)


@router.get("/items", **needs(Permission.read_cases))
async def list_screening_items(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[ScreeningItemQuery, Query()]
) -> Page[ScreeningItemRead]:
    """List the register of the caller's territory by unit, status, risk level or owning
    leader, newest first."""
    rows, next_cursor = await service.list_items(session, query, principal)
    return Page(items=[_read(r) for r in rows], next_cursor=next_cursor)


@router.get("/items/{item_id}", **needs(Permission.read_cases))
async def get_screening_item(
    item_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> ScreeningItemRead:
    """Read a register entry (404 outside the caller's territory, as for one that does not
    exist)."""
    return _read(await service.get_item(session, item_id, principal))


@router.patch(
    "/items/{item_id}",
    response_model=ScreeningItemRead,
    responses=ACTION_ERRORS,
    **needs(Permission.screen_disputes),
)
async def update_screening_item(
    item_id: uuid.UUID, body: ScreeningItemUpdate, session: DbSession, principal: CurrentPrincipal
) -> ScreeningItemRead:
    """Change an open entry's plan, measures, risk level, owning leader or time limit. A new
    owner or time limit replaces the leader's deadline; raising the risk shortens the time
    limit to the new level's default unless one is given; a change to high risk alerts the
    owning leader at once."""
    policy = (await current_policy(session)).policy
    return _read(await service.update_item(session, item_id, body, principal, policy))


@router.post(
    "/items/{item_id}/resolve",
    response_model=ScreeningItemRead,
    responses=ACTION_ERRORS,
    **needs(Permission.screen_disputes),
)
async def resolve_screening_item(
    item_id: uuid.UUID, body: ScreeningResolveBody, session: DbSession, principal: CurrentPrincipal
) -> ScreeningItemRead:
    """化解: record how the dispute was resolved; the leader's deadline is met (past due, it
    stays a miss)."""
    return _read(await service.resolve_item(session, item_id, body, principal))


@router.post(
    "/items/{item_id}/convert",
    response_model=ScreeningItemRead,
    responses=ACTION_ERRORS,
    **needs(Permission.screen_disputes),
)
async def convert_screening_item(
    item_id: uuid.UUID, body: ScreeningConvertBody, session: DbSession, principal: CurrentPrincipal
) -> ScreeningItemRead:
    """转为信访事项: link the registered case the dispute became; the case's own deadlines
    take over (the leader's is cancelled) and its timeline records `screening_converted`."""
    return _read(await service.convert_item(session, item_id, body, principal))


@router.post(
    "/items/{item_id}/close",
    response_model=ScreeningItemRead,
    responses=ACTION_ERRORS,
    **needs(Permission.screen_disputes),
)
async def close_screening_item(
    item_id: uuid.UUID, body: ScreeningCloseBody, session: DbSession, principal: CurrentPrincipal
) -> ScreeningItemRead:
    """销号: the entry needs no resolving after all (not true, or gone by itself), with the
    reason; the leader's deadline is cancelled and the entry leaves the resolution rate."""
    return _read(await service.close_item(session, item_id, body, principal))


@router.post(
    "/rounds",
    status_code=201,
    response_model=ScreeningRoundRead,
    responses={409: {"description": "The week's round was already filed."}, **INVALID},
    **needs(Permission.screen_disputes),
)
async def submit_screening_round(
    body: ScreeningRoundCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """File the caller's weekly screening round (每周一排查) for their unit; a zero round
    (零报告) counts as filed. Only officials who owe rounds (`screening.round_roles` in units
    of `screening.round_levels`) file them; filed after the week's due time it is late and
    its deadline missed."""

    async def produce() -> ScreeningRoundRead:
        policy = (await current_policy(session)).policy
        screening_round = await service.submit_round(session, body, principal, policy)
        return ScreeningRoundRead.model_validate(screening_round, from_attributes=True)

    return await once(body, 201, produce)


@router.get("/rounds", **needs(Permission.read_reports))
async def list_screening_rounds(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[ScreeningRoundQuery, Query()]
) -> Page[ScreeningRoundRead]:
    """List the weekly rounds filed in the caller's territory by official, unit, week or
    zero/non-zero, newest first."""
    rows, next_cursor = await service.list_rounds(session, query, principal)
    return Page(
        items=[ScreeningRoundRead.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/rollup", **needs(Permission.read_cases))
async def screening_rollup(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[ScreeningRollupQuery, Query()]
) -> ScreeningRollup:
    """每月一汇总: the items screened in a month in a unit's subtree and in each unit directly
    below it, as they stand now, by risk level and outcome, with the resolution rate (化解率 =
    resolved / (resolved + converted + open past due)) against the policy's target (seed
    001: 80%), and the month's weekly rounds owed, filed and missed. 404 for a unit outside
    the caller's territory."""
    policy = (await current_policy(session)).policy
    return await service.rollup(session, query, principal, policy)
