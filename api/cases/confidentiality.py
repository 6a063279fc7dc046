"""Who may not see a case, and who alone reads it (信访工作条例 art. 45; seed 003 五.三).

A petition that complains about or reports officials (检举、揭发; 被反映人) is never passed to
them: they and the officials of a unit complained about never read the case, handle it, own it
or hear of it (`api.models.case.readable_by` keeps it out of every read; `refuse_complained`
keeps them from being named on it; the summons and escalation chains pass over them to the next
person up). A confidential case (保密) is read in full only by petition staff and the leaders
named on it (`api.privacy.service.Disclosure.reads_content`); the rest of the territory sees that
it exists and its deadlines.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.cases.repository import CaseRepository
from api.cases.schemas import ConfidentialityWrite
from api.deadlines.service import open_of_case as open_deadlines
from api.kit.db import utcnow
from api.kit.errors import InvalidInput, NotFound
from api.kit.i18n import Message
from api.models.case import Case
from api.models.deadline import DeadlineKind
from api.models.official import Official, Role
from api.models.unit import Unit
from api.officials.repository import OfficialRepository
from api.timeline.repository import CaseEventRepository
from api.units.repository import UnitRepository
from api.units.service import known_units


def refuse_complained(case: Case, official: Official, pointer: str) -> None:
    """422 when the official (or their unit) is one the case complains about: they may not
    handle, own or lead it."""
    if case.complains_about(official.id, official.unit_id):
        raise InvalidInput(
            Message(
                "Official {official_id} is complained about in this petition (被反映人): "
                "they may not handle, own or lead it, nor learn of it.",
                official_id=official.id,
            ),
            pointer=pointer,
        )


def refuse_complained_unit(case: Case, unit: Unit, pointer: str) -> None:
    """422 when the unit is one the case complains about: it may not handle the case."""
    if unit.id in case.complained_unit_ids:
        raise InvalidInput(
            Message(
                "Unit {unit_id} is complained about in this petition: it may not handle it.",
                unit_id=unit.id,
            ),
            pointer=pointer,
        )


async def check_named(
    session: AsyncSession,
    principal: Principal,
    complained_officials: Sequence[uuid.UUID],
    complained_units: Sequence[uuid.UUID],
    readers: Sequence[uuid.UUID],
) -> None:
    """Every official and unit named is one the caller may look up (their territory and the
    units above it; 422 pointing at the first that is not, as if it did not exist), and no
    reader of a confidential case is one complained about. No query when none are named."""
    if not (complained_officials or complained_units or readers):
        return
    known = await known_units(session, principal)

    def visible(unit_id: uuid.UUID | None) -> bool:
        return known is None or unit_id in known

    officials = await OfficialRepository(session).get_many({*complained_officials, *readers})
    named = (("complained_official_ids", complained_officials), ("confidential_readers", readers))
    for field, ids in named:
        for i, official_id in enumerate(ids):
            official = officials.get(official_id)
            if official is None or not visible(official.unit_id):
                raise InvalidInput(
                    Message("Official {official_id} does not exist.", official_id=official_id),
                    pointer=f"/{field}/{i}",
                )
    units = await UnitRepository(session).get_many(set(complained_units))
    for i, unit_id in enumerate(complained_units):
        if unit_id not in units or not visible(unit_id):
            raise InvalidInput(
                Message("Unit {unit_id} does not exist.", unit_id=unit_id),
                pointer=f"/complained_unit_ids/{i}",
            )
    for i, reader_id in enumerate(readers):
        reader = officials[reader_id]
        if reader_id in complained_officials or reader.unit_id in complained_units:
            raise InvalidInput(
                Message(
                    "Official {reader_id} is complained about in this petition and may not "
                    "read it.",
                    reader_id=reader_id,
                ),
                pointer=f"/confidential_readers/{i}",
            )


async def stand_in(
    session: AsyncSession, case: Case, chain: Sequence[Unit], role: Role
) -> Official | None:
    """The holder of `role` in the first unit of `chain`, or, when the case complains about
    them, the nearest chief above who is not complained about (the next person up)."""
    officials = OfficialRepository(session)
    first = await officials.holder_of(chain[0].id, role) if chain else None
    if first is None or not case.complains_about(first.id, first.unit_id):
        return first
    for unit in chain[1:]:
        above = await officials.holder_of(unit.id, Role.chief)
        if above is not None and not case.complains_about(above.id, above.unit_id):
            return above
    return None


async def set_confidentiality(
    session: AsyncSession, case_id: uuid.UUID, body: ConfidentialityWrite, principal: Principal
) -> Case:
    """The desk names whom the case complains about and marks it confidential (or not).
    Someone already named on the case (its leader, handler or owning leader) who is now
    complained about is refused: reassign the case first."""
    case = await CaseRepository(session).get_in_reach(case_id, principal, for_update=True)
    if case is None:
        raise NotFound(Message("Case {case_id} does not exist.", case_id=case_id))
    await check_named(
        session,
        principal,
        body.complained_official_ids,
        body.complained_unit_ids,
        body.confidential_readers,
    )
    named = await OfficialRepository(session).get_many(
        {i for i in (case.leader_id, case.handler_id, case.owner_leader_id) if i is not None}
    )
    complained = set(body.complained_official_ids)
    for official in named.values():
        if official.id in complained or official.unit_id in body.complained_unit_ids:
            raise InvalidInput(
                Message(
                    "Official {official_id} leads, handles or owns the case: assign it to "
                    "someone else before naming them as complained about.",
                    official_id=official.id,
                ),
                pointer="/complained_official_ids",
            )
    if case.assigned_unit_id in body.complained_unit_ids:
        raise InvalidInput(
            Message(
                "The unit handling the case cannot be complained about: assign it elsewhere first."
            ),
            pointer="/complained_unit_ids",
        )
    case.complained_official_ids = list(body.complained_official_ids)
    case.complained_unit_ids = list(body.complained_unit_ids)
    case.confidential = body.confidential
    case.confidential_readers = list(body.confidential_readers)
    # an open deadline of someone now complained about is no longer theirs: the unit's (its
    # escalation reaches the people above), as when it is opened (`Step.open`)
    still_open = await open_deadlines(session, case.id, list(DeadlineKind))
    holders = await OfficialRepository(session).get_many(
        {d.official_id for d in still_open if d.official_id is not None}
    )
    for deadline in still_open:
        holder = holders.get(deadline.official_id) if deadline.official_id else None
        if holder is not None and case.complains_about(holder.id, holder.unit_id):
            deadline.official_id = None
            deadline.flags = [*deadline.flags, "complained_about"]
    CaseEventRepository(session).record(
        case.id,
        "confidentiality_set",
        actor_id=principal.id,
        client=principal.client,
        # who is complained about is itself confidential: the timeline says only how many
        data={
            "confidential": case.confidential,
            "complained_officials": len(case.complained_official_ids),
            "complained_units": len(case.complained_unit_ids),
            "readers": len(case.confidential_readers),
        },
    )
    case.updated_at = utcnow()
    await session.flush()
    return case
