"""Reading and changing the policy document."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.uow import Slot, unit_of
from api.policies.repository import PolicyRepository
from api.policies.schemas import Policy, PolicyRead

POLICY_READ: Slot[PolicyRead | None] = Slot("policy in force", lambda: None)


async def current_policy(session: AsyncSession) -> PolicyRead:
    """The policy in force: the stored document, or the defaults when none was saved.

    Read once per transaction: a sweep flagging hundreds of deadlines asks for it each time.
    """
    cached = unit_of(session).get(POLICY_READ)
    if cached is not None:
        return cached
    row = await PolicyRepository(session).get()
    if row is None:
        read = PolicyRead(version=0, policy=Policy())
    else:
        read = PolicyRead(version=row.version, policy=Policy.model_validate(row.document))
    unit_of(session).put(POLICY_READ, read)
    return read


async def replace_policy(
    session: AsyncSession, policy: Policy, actor_id: uuid.UUID | None
) -> PolicyRead:
    """Store a new policy document; missing sections take their defaults."""
    row = await PolicyRepository(session).save(policy.model_dump(mode="json"), actor_id)
    read = PolicyRead(version=row.version, policy=policy)
    unit_of(session).put(POLICY_READ, read)
    return read
