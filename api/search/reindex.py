"""Recomputing the cases' search tokens in batches (`python -m api.search reindex`)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from api.cases.search_tokens import tokens_of
from api.privacy.crypto import Vault
from api.search.repository import SearchRepository


async def reindex_batch(
    session: AsyncSession, vault: Vault, *, after: uuid.UUID | None, size: int
) -> tuple[uuid.UUID | None, int, int]:
    """Fresh tokens for the next `size` cases by id after `after`, locked until the caller
    commits; (the last case's id, cases seen, cases changed). Already-current cases are left
    alone (no write)."""
    cases = await SearchRepository(session).reindex_batch(after, size)
    changed = 0
    for case in cases:
        fresh = tokens_of(vault, case)
        if list(case.search_tokens) != fresh:
            case.search_tokens = fresh
            changed += 1
    await session.flush()
    return (cases[-1].id if cases else None), len(cases), changed
