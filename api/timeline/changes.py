"""Which cases the current transaction changed: every timeline event marks its case, and the
rooms that keep figures read the marks just before the commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.uow import Slot, unit_of
from api.models.case import Case
from api.models.deadline import Deadline

CHANGED_CASES: Slot[set[uuid.UUID]] = Slot("cases changed in this transaction", set)
NEW_CASES: Slot[set[uuid.UUID]] = Slot("cases registered in this transaction", set)
# The rows a case registered in this transaction has, as this session wrote them: the figures
# count it from them instead of reading back what was just written (issue 22).
NEW_CASE_ROWS: Slot[dict[uuid.UUID, Case]] = Slot("cases registered here, as written", dict)
OPENED_DEADLINES: Slot[list[Deadline]] = Slot("deadlines opened in this transaction", list)


def mark_changed(session: AsyncSession, case_ids: Iterable[uuid.UUID]) -> None:
    """Mark cases changed in this transaction."""
    unit_of(session).get(CHANGED_CASES).update(case_ids)


def mark_new(session: AsyncSession, case: Case) -> None:
    """Mark a case registered in this transaction: nobody else has seen it, so nothing has
    counted it yet."""
    unit = unit_of(session)
    unit.get(NEW_CASES).add(case.id)
    unit.get(NEW_CASE_ROWS)[case.id] = case
    unit.get(CHANGED_CASES).add(case.id)


def mark_opened(session: AsyncSession, deadline: Deadline) -> None:
    """Keep a deadline opened in this transaction (the figures of a new case read it)."""
    unit_of(session).get(OPENED_DEADLINES).append(deadline)
