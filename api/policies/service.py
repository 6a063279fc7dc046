"""Reading and changing the policy document."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from api.policies.repository import PolicyRepository
from api.policies.schemas import Policy, PolicyRead


async def current_policy(session: AsyncSession) -> PolicyRead:
    """The policy in force: the stored document, or the defaults when none was saved."""
    row = await PolicyRepository(session).get()
    if row is None:
        return PolicyRead(version=0, policy=Policy())
    return PolicyRead(version=row.version, policy=Policy.model_validate(row.document))


async def replace_policy(
    session: AsyncSession, policy: Policy, actor_id: uuid.UUID | None
) -> PolicyRead:
    """Store a new policy document; missing sections take their defaults."""
    row = await PolicyRepository(session).save(policy.model_dump(mode="json"), actor_id)
    return PolicyRead(version=row.version, policy=policy)
