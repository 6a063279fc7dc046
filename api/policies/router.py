"""`/v1/policies`: the deadline, threshold and escalation values."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.kit.boundary import DbSession
from api.policies import service
from api.policies.schemas import Policy, PolicyRead

router = APIRouter(prefix="/v1/policies", tags=["policies"])


@router.get("", **needs(Permission.read_directory))
async def get_policies(session: DbSession, _: CurrentPrincipal) -> PolicyRead:
    """The policy document in force (durations as ISO 8601, e.g. `PT20M`)."""
    return await service.current_policy(session)


@router.put("", **needs(Permission.manage_policy))
async def put_policies(body: Policy, session: DbSession, principal: CurrentPrincipal) -> PolicyRead:
    """Replace the policy document; sections left out take their defaults."""
    return await service.replace_policy(session, body, principal.id)
