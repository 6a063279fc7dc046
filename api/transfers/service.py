"""Cases handed down over HTTP by a higher office's system (上级转送、交办): registered once per
reference number, then completed by the desk like any other registration."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.cases.actions import action_of
from api.cases.repository import CaseRepository
from api.cases.schemas import CaseCreate, RehandleBody, SuperviseBody
from api.cases.service import register_case
from api.categories.service import filed_under
from api.higher_offices.service import named_office
from api.kit.errors import Forbidden, NotFound
from api.kit.i18n import Message
from api.models.case import Case, CaseSource, LodgedLevel
from api.transfers.schemas import TransferCreate, TransferKind, TransferRead

RETURN = action_of("return_for_rehandling", RehandleBody)
SUPERVISE = action_of("supervise", SuperviseBody)


def _office_of(principal: Principal) -> tuple[uuid.UUID, uuid.UUID]:
    """The office the token speaks for, and the unit its cases come down to."""
    if principal.higher_office_id is None or principal.unit_id is None:
        raise Forbidden(Message("Only a higher office's token hands cases down."))
    return principal.higher_office_id, principal.unit_id


def _read(case: Case) -> TransferRead:
    return TransferRead(
        case_id=case.id,
        number=case.number,
        reference=case.higher_reference or "",
        kind=TransferKind(case.source.value),
        status=case.status,
        outcome=case.outcome,
        received_at=case.received_at,
        accepted_at=case.accepted_at,
        replied_at=case.replied_at,
        closed_at=case.closed_at,
        due_at=case.higher_due_at,
        wants_result=case.wants_result,
    )


async def hand_down(
    session: AsyncSession, body: TransferCreate, principal: Principal
) -> tuple[TransferRead, bool]:
    """Register the case the calling office hands down, lodged at the office's level, its
    clocks starting now; the same reference again answers the case it made (and `False`)."""
    office_id, home = _office_of(principal)
    office = await named_office(session, office_id, "/reference")
    repo = CaseRepository(session)
    await repo.lock_reference(office.id, body.reference)
    existing = await repo.by_reference(office.id, body.reference)
    if existing is not None:
        case = await repo.get(existing)
        if case is None:  # pragma: no cover - the lock holds the row's reference
            raise NotFound(
                Message("Transfer {reference!r} does not exist.", reference=body.reference)
            )
        return _read(case), False
    category, category_text = await filed_under(session, body.category)
    data = CaseCreate(
        channel=body.channel,
        origin_unit_id=body.origin_unit_id or home,
        lodged_level=LodgedLevel(office.level.value),
        petitioners=body.petitioners,
        headcount=body.headcount,
        category=category,
        category_text=category_text,
        title=body.title,
        content=body.content,
        reasons=body.reasons,
        demands=body.demands,
        source=CaseSource(body.kind.value),
        higher_office_id=office.id,
        higher_reference=body.reference,
        higher_due_at=body.due_at,
        wants_result=body.wants_result,
    )
    case, _, _ = await register_case(session, data, principal)
    return _read(case), True


async def get_transfer(
    session: AsyncSession, case_id: uuid.UUID, principal: Principal
) -> TransferRead:
    """A case the calling office handed down; any other is 404 to it."""
    office_id, _ = _office_of(principal)
    case = await CaseRepository(session).get(case_id)
    if case is None or case.higher_office_id != office_id:
        raise NotFound(Message("Transfer {case_id} does not exist.", case_id=case_id))
    return _read(case)


async def send_back(
    session: AsyncSession, case_id: uuid.UUID, body: RehandleBody, principal: Principal
) -> TransferRead:
    """退回重办 by the office's own system, on a case it handed down (the lifecycle's
    `return_for_rehandling`, recorded as the office's)."""
    await _handed_down(session, case_id, principal)
    return _read(await RETURN.perform(session, case_id, body, principal))


async def supervise(
    session: AsyncSession, case_id: uuid.UUID, body: SuperviseBody, principal: Principal
) -> TransferRead:
    """督办 by the office's own system, on a case it handed down (the lifecycle's
    `supervise`: a deadline of its own, met by the answer)."""
    await _handed_down(session, case_id, principal)
    return _read(await SUPERVISE.perform(session, case_id, body, principal))


async def _handed_down(session: AsyncSession, case_id: uuid.UUID, principal: Principal) -> None:
    office_id, _ = _office_of(principal)
    case = await CaseRepository(session).get(case_id)
    if case is None or case.higher_office_id != office_id:
        raise NotFound(Message("Transfer {case_id} does not exist.", case_id=case_id))
