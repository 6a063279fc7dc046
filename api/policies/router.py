"""`/v1/policies`: the deadline, threshold and escalation values, and each unit's own."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.kit.boundary import DbSession
from api.kit.pagination import ListQuery, Page
from api.policies import service
from api.policies.schemas import Policy, PolicyChangeRead, PolicyRead, UnitPolicyRead

router = APIRouter(prefix="/v1/policies", tags=["policies"])

OverrideDocument = Annotated[
    dict[str, Any],
    Body(
        description="Only the values the unit changes for its subtree, shaped like the policy "
        'document (e.g. `{"arrival": {"chief": "PT30M"}}`); objects merge key by key '
        "into the values above, a list replaces the list above whole.",
        examples=[{"arrival": {"chief": "PT30M"}, "reception": {"days": []}}],
    ),
]


@router.get("", **needs(Permission.read_directory))
async def get_policies(session: DbSession, _: CurrentPrincipal) -> PolicyRead:
    """The deployment's policy document (durations as ISO 8601, e.g. `PT20M`): the values of
    every unit that does not override them (`/v1/policies/units/{unit_id}`)."""
    return await service.current_policy(session)


@router.put("", **needs(Permission.manage_policy))
async def put_policies(body: Policy, session: DbSession, principal: CurrentPrincipal) -> PolicyRead:
    """Replace the deployment's document (its admin only; 403 for a unit's admin); sections
    left out take their defaults. Every unit's overrides must still make a valid policy (422
    naming the unit). Deadlines opened before the change keep their due times."""
    return await service.replace_policy(session, body, principal)


@router.get("/changes", **needs(Permission.read_directory))
async def list_policy_changes(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[ListQuery, Query()]
) -> Page[PolicyChangeRead]:
    """The policy's history, newest first: who changed what and when, for the deployment's
    document and the units the caller may look up."""
    rows, next_cursor = await service.policy_changes(session, query, principal)
    return Page(items=[PolicyChangeRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/units/{unit_id}", **needs(Permission.read_directory))
async def get_unit_policy(
    unit_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> UnitPolicyRead:
    """The policy in force for a unit (the nearest override up the tree wins, value by value)
    and which unit set each value that is not the deployment's (404 for a unit the caller may
    not look up)."""
    return await service.unit_policy(session, unit_id, principal)


@router.put("/units/{unit_id}", **needs(Permission.manage_policy))
async def put_unit_policy(
    unit_id: uuid.UUID, body: OverrideDocument, session: DbSession, principal: CurrentPrincipal
) -> UnitPolicyRead:
    """Set what a unit of the caller's territory overrides for its subtree (a city's or a
    county's own arrival time, veto thresholds, reception days …), replacing what it set
    before; 404 outside the territory. The result and every policy below must be valid (422
    at the value's pointer). Applies to deadlines opened after the change; audited and kept in
    the history (`/v1/policies/changes`)."""
    return await service.set_override(session, unit_id, body, principal)


@router.delete("/units/{unit_id}", **needs(Permission.manage_policy))
async def delete_unit_policy(
    unit_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> UnitPolicyRead:
    """Drop a unit's override: its subtree follows the units above it again (404 when it set
    nothing or lies outside the caller's territory)."""
    return await service.drop_override(session, unit_id, principal)
