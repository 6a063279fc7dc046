"""How a case is shown to a caller: its columns, the petitioners' numbers clear or masked, its
deadlines and handling units, and the actions its state allows now (from the action table)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.cases.actions import allowed_actions
from api.cases.repository import CaseRepository, CaseUnitRepository
from api.cases.schemas import CaseCreate, CaseQuery, CaseRead, CaseRegistered, CaseUnitRead
from api.cases.service import register_case
from api.deadlines import service as deadlines
from api.deadlines.repository import DeadlineRepository
from api.kit.errors import NotFound
from api.kit.i18n import Message
from api.kit.pagination import Page
from api.models.case import CONFIDENTIAL_TITLE, Case, CaseUnit
from api.models.deadline import Deadline
from api.privacy.service import Disclosure, disclosure, search_pattern, vault_of
from api.units.schemas import Location


def _location(lat: float | None, lon: float | None) -> Location | None:
    return Location(lat=lat, lon=lon) if lat is not None and lon is not None else None


# What a restricted view of a confidential case (保密) shows instead of its content: it exists,
# with its status, units and deadlines; nothing the petitioners said, nor who is named on it.
WITHHELD: dict[str, object] = {
    "title": CONFIDENTIAL_TITLE,
    "content": "",
    "reasons": None,
    "demands": None,
    "category_text": None,
    "notice_text": None,
    "plan": None,
    "reply_text": None,
    "feedback_comment": None,
    "instruction": None,
    "complained_official_ids": [],
    "complained_unit_ids": [],
    "confidential_readers": [],
}


def to_read(
    case: Case,
    disclosed: Disclosure,
    deadline_rows: list[Deadline] | None = None,
    departments: list[CaseUnit] | None = None,
) -> CaseRead:
    """The API view of a case, petitioners' numbers clear or masked as `disclosed` says, a
    confidential case's content only for those who may read it (else `restricted`); deadlines
    and departments when given (single-case reads)."""
    columns = {name: getattr(case, name) for name in CaseRead.model_fields if hasattr(case, name)}
    readable = disclosed.reads_content(case)
    if not readable:
        columns.update(WITHHELD)
    return CaseRead.model_validate(
        {
            **columns,
            "restricted": not readable,
            "petitioners": disclosed.petitioners(case.petitioners) if readable else [],
            "location": _location(case.lat, case.lon) if readable else None,
            "is_repeat": case.repeat_of_id is not None,
            "allowed_actions": allowed_actions(case.status),
            "departments": [
                CaseUnitRead(unit_id=u.unit_id, role=u.role) for u in departments or []
            ],
            "deadlines": [deadlines.to_read(d) for d in deadline_rows or []],
        }
    )


async def register(
    session: AsyncSession, data: CaseCreate, principal: Principal, *, kept: bool
) -> CaseRegistered:
    """Register a petition (`register_case`) and answer the new case with the deadlines it
    opened and the petitioner's lookup secret; `kept`: the answer is stored for
    Idempotency-Key replays (numbers masked)."""
    case, opened, secret = await register_case(session, data, principal, lookup_secret=True)
    assert secret is not None
    view = to_read(case, disclosure(session, principal, kept=kept), opened)
    return CaseRegistered(**view.model_dump(), lookup_secret=secret)


async def get_case(session: AsyncSession, case_id: uuid.UUID, principal: Principal) -> CaseRead:
    """The case with its deadlines and handling units, or 404 (also outside the territory)."""
    case = await CaseRepository(session).get_in_reach(case_id, principal)
    if case is None:
        raise NotFound(Message("Case {case_id} does not exist.", case_id=case_id))
    return await view(session, case, principal)


async def view(
    session: AsyncSession, case: Case, principal: Principal, *, kept: bool = False
) -> CaseRead:
    """The case with its deadlines and handling units (the caller already may see it: an
    action may have just moved it out of the actor's territory, e.g. an objection); `kept`:
    the answer is stored for Idempotency-Key replays (numbers masked)."""
    return to_read(
        case,
        disclosure(session, principal, kept=kept),
        list(await DeadlineRepository(session).for_case(case.id)),
        list(await CaseUnitRepository(session).for_case(case.id)),
    )


async def list_cases(
    session: AsyncSession, query: CaseQuery, principal: Principal
) -> Page[CaseRead]:
    """A page of the cases in the caller's territory; `id_number` / `phone` find a petitioner
    by exact number through the keyed hash."""
    vault = vault_of(session)
    petitioner = search_pattern(vault, id_number=query.id_number, phone=query.phone)
    rows, next_cursor = await CaseRepository(session).list(query, principal, petitioner)
    disclosed = disclosure(session, principal)
    return Page(items=[to_read(c, disclosed) for c in rows], next_cursor=next_cursor)
