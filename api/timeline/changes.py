"""Which cases the current transaction changed: every timeline event marks its case, and the
rooms that keep figures read the marks just before the commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.uow import Slot, unit_of

CHANGED_CASES: Slot[set[uuid.UUID]] = Slot("cases changed in this transaction", set)
NEW_CASES: Slot[set[uuid.UUID]] = Slot("cases registered in this transaction", set)


def mark_changed(session: AsyncSession, case_ids: Iterable[uuid.UUID]) -> None:
    """Mark cases changed in this transaction."""
    unit_of(session).get(CHANGED_CASES).update(case_ids)


def mark_new(session: AsyncSession, case_id: uuid.UUID) -> None:
    """Mark a case registered in this transaction: nobody else has seen it, so nothing has
    counted it yet."""
    unit = unit_of(session)
    unit.get(NEW_CASES).add(case_id)
    unit.get(CHANGED_CASES).add(case_id)
