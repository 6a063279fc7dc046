"""The desk's corrections to a registration (不错登, seed 002 第五篇): what the petitioners
said, written down again, with the reason and every change on the timeline."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.cases.repository import CaseRepository
from api.cases.schemas import CaseCorrection
from api.kit.db import utcnow
from api.kit.errors import Conflict, InvalidInput, NotFound
from api.models.case import DONE_STATUSES, Case
from api.timeline.repository import CaseEventRepository

# The registration's own words, corrected as they are; where the matter arose, when it was
# received and who came change deadlines and summonses, and are not corrected here yet.
TEXT_FIELDS = ("title", "content", "reasons", "demands", "category")


async def correct(
    session: AsyncSession, case_id: uuid.UUID, body: CaseCorrection, principal: Principal
) -> Case:
    """Correct the registration of an open case: each changed field on the timeline with its
    value before and after, and the reason. A closed, terminated or archived case is as it
    was closed (409)."""
    case = await CaseRepository(session).get_in_reach(case_id, principal, for_update=True)
    if case is None:
        raise NotFound(f"Case {case_id} does not exist.")
    if case.status in DONE_STATUSES:
        raise Conflict("A closed case is not corrected.", current_status=case.status.value)
    given = body.model_dump(exclude_unset=True, exclude={"reason"})
    if not given:
        raise InvalidInput("Give at least one field to correct.", pointer="/reason")
    changes: dict[str, dict[str, Any]] = {}
    for name in TEXT_FIELDS:
        if name in given and given[name] != getattr(case, name):
            if name in ("title", "content", "category") and given[name] is None:
                raise InvalidInput(f"{name} cannot be emptied.", pointer=f"/{name}")
            changes[name] = {"before": getattr(case, name), "after": given[name]}
            setattr(case, name, given[name])
    if "location" in given:
        location = body.location
        before = {"lat": case.lat, "lon": case.lon} if case.lat is not None else None
        after = {"lat": location.lat, "lon": location.lon} if location else None
        if before != after:
            changes["location"] = {"before": before, "after": after}
            case.lat, case.lon = (location.lat, location.lon) if location else (None, None)
    if not changes:
        return case  # the same values: nothing to record
    case.updated_at = utcnow()
    CaseEventRepository(session).record(
        case.id,
        "corrected",
        actor_id=principal.id,
        client=principal.client,
        data={"reason": body.reason, "changes": changes},
    )
    await session.flush()
    return case
