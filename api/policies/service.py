"""Reading and changing the policy document."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.uow import Resource, Slot, unit_of
from api.policies.repository import PolicyRepository
from api.policies.schemas import Policy, PolicyRead

POLICY_READ: Slot[PolicyRead | None] = Slot("policy in force", lambda: None)


class ParsedPolicy:
    """The last policy document a process parsed, by its version: the document changes a few
    times a year and validating it was half a registration's CPU (issue 22). Shared by every
    request of the process, so never changed in place (a change is a new version)."""

    def __init__(self) -> None:
        self._read: PolicyRead | None = None

    def of_version(self, version: int) -> PolicyRead | None:
        """The parsed document of this version, if it is the one kept."""
        read = self._read
        return read if read is not None and read.version == version else None

    def keep(self, read: PolicyRead) -> None:
        """Keep `read` as the latest parsed."""
        self._read = read


PARSED_POLICY: Resource[ParsedPolicy] = Resource("parsed policy")


def _parse(version: int, document: dict[str, Any] | None) -> PolicyRead:
    if document is None:
        return PolicyRead(version=0, policy=Policy())
    return PolicyRead(version=version, policy=Policy.model_validate(document))


async def current_policy(session: AsyncSession) -> PolicyRead:
    """The policy in force: the stored document, or the defaults when none was saved.

    Read once per transaction: a sweep flagging hundreds of deadlines asks for it each time.
    Where the app keeps a parsed copy (`PARSED_POLICY`), only the version is read, and the
    document again when it changed.
    """
    unit = unit_of(session)
    cached = unit.get(POLICY_READ)
    if cached is not None:
        return cached
    repo = PolicyRepository(session)
    parsed: ParsedPolicy | None = unit.resources.get(PARSED_POLICY)
    if parsed is None:
        row = await repo.get()
        read = _parse(row.version, row.document) if row is not None else _parse(0, None)
    else:
        version = await repo.version()
        kept = parsed.of_version(version or 0)
        if kept is not None:
            read = kept
        else:
            row = await repo.get()
            read = _parse(row.version, row.document) if row is not None else _parse(0, None)
            parsed.keep(read)
    unit.put(POLICY_READ, read)
    return read


async def replace_policy(
    session: AsyncSession, policy: Policy, actor_id: uuid.UUID | None
) -> PolicyRead:
    """Store a new policy document; missing sections take their defaults."""
    row = await PolicyRepository(session).save(policy.model_dump(mode="json"), actor_id)
    read = PolicyRead(version=row.version, policy=policy)
    unit_of(session).put(POLICY_READ, read)
    return read
