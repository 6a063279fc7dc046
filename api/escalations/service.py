"""Escalation (升级督办): who hears about a missed deadline, and stopping the chain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.service import alert_official
from api.alerts.templates import DEADLINE_NAMES, LEVEL_NAMES, ROLE_NAMES, render
from api.cases.repository import CaseEventRepository, CaseRepository
from api.db import utcnow
from api.deadlines.models import Deadline
from api.errors import Conflict, NotFound
from api.escalations.models import Escalation, EscalationStatus
from api.escalations.repository import EscalationRepository
from api.escalations.schemas import EscalationQuery
from api.officials.models import Official, Role
from api.officials.repository import OfficialRepository
from api.policies.schemas import Policy, Recipient
from api.timeutil import local_clock
from api.units.repository import UnitRepository


async def _recipients(
    session: AsyncSession, deadline: Deadline, wanted: Sequence[Recipient]
) -> list[Official]:
    officials = OfficialRepository(session)
    found: dict[uuid.UUID, Official] = {}

    async def holder(unit_id: uuid.UUID, role: Role) -> None:
        person = await officials.holder_of(unit_id, role)
        if person is not None:
            found.setdefault(person.id, person)

    for who in wanted:
        if who is Recipient.responsible and deadline.official_id is not None:
            person = await officials.get(deadline.official_id)
            if person is not None:
                found.setdefault(person.id, person)
        elif who is Recipient.unit_chief:
            await holder(deadline.unit_id, Role.chief)
        elif who is Recipient.unit_deputy:
            await holder(deadline.unit_id, Role.deputy)
        elif who is Recipient.next_unit_chief:
            # The nearest unit above with a chief: a vacancy must not silence the chain.
            for unit in (await UnitRepository(session).ancestry(deadline.unit_id))[1:]:
                person = await officials.holder_of(unit.id, Role.chief)
                if person is not None:
                    found.setdefault(person.id, person)
                    break
    return list(found.values())


async def _message_fields(session: AsyncSession, deadline: Deadline) -> dict[str, object]:
    """Everything a template about this deadline may name (each template uses some)."""
    case = await CaseRepository(session).get(deadline.case_id) if deadline.case_id else None
    responsible = (
        await OfficialRepository(session).get(deadline.official_id)
        if deadline.official_id
        else None
    )
    units = UnitRepository(session)
    unit = await units.get(deadline.unit_id)
    lodged_unit = await units.get(case.lodged_unit_id) if case and case.lodged_unit_id else None
    if lodged_unit is not None:
        lodged = lodged_unit.name
    else:
        lodged = LEVEL_NAMES.get(case.lodged_level.value, "") if case else ""
    return {
        "case_number": case.number if case else "",
        "headcount": case.headcount if case else "",
        "lodged": lodged,
        "title": case.title if case else "",
        "due_local": local_clock(deadline.due_at),
        "official_name": responsible.name if responsible else "(空缺)",
        "unit_name": unit.name if unit else "",
        "role_name": ROLE_NAMES.get(deadline.role, deadline.role),
        "deadline_name": DEADLINE_NAMES.get(deadline.kind.value, deadline.kind.value),
    }


async def send_reminder(session: AsyncSession, deadline: Deadline, policy: Policy) -> None:
    """Remind the responsible official that the deadline is approaching (时限提醒)."""
    if deadline.official_id is None:
        return
    official = await OfficialRepository(session).get(deadline.official_id)
    if official is None:
        return
    text = render(policy.templates.reminder, await _message_fields(session, deadline))
    await alert_official(
        session,
        official,
        purpose="reminder",
        text=text,
        case_id=deadline.case_id,
        deadline_id=deadline.id,
    )


async def escalate_missed(session: AsyncSession, deadline: Deadline, policy: Policy) -> Escalation:
    """Start the escalation chain of a deadline just flagged missed: its first step, now."""
    steps = policy.escalation.chain(deadline.kind.value)
    recipients = await _recipients(session, deadline, steps[0].notify)
    escalation = Escalation(
        id=uuid.uuid4(),
        deadline_id=deadline.id,
        case_id=deadline.case_id,
        step=0,
        reason="deadline_missed",
        recipients=[str(r.id) for r in recipients],
    )
    EscalationRepository(session).add(escalation)
    await session.flush()

    template = {
        "arrival": policy.templates.arrival_missed,
        "report": policy.templates.report_missed,
    }.get(deadline.kind.value, policy.templates.deadline_missed)
    text = render(template, await _message_fields(session, deadline))
    for person in recipients:
        await alert_official(
            session,
            person,
            purpose="escalation",
            text=text,
            case_id=deadline.case_id,
            deadline_id=deadline.id,
            escalation_id=escalation.id,
        )
    if deadline.case_id is not None:
        CaseEventRepository(session).record(
            deadline.case_id,
            "escalated",
            data={
                "escalation_id": str(escalation.id),
                "deadline_id": str(deadline.id),
                "step": 0,
                "recipients": escalation.recipients,
            },
        )
    return escalation


async def acknowledge(
    session: AsyncSession, escalation_id: uuid.UUID, official_id: uuid.UUID, client: str | None
) -> Escalation:
    """Acknowledge an escalation (收到), which stops its chain."""
    escalation = await EscalationRepository(session).get(escalation_id, for_update=True)
    if escalation is None:
        raise NotFound(f"Escalation {escalation_id} does not exist.")
    if escalation.status is EscalationStatus.acknowledged:
        raise Conflict(
            "The escalation is already acknowledged.",
            current_status=escalation.status.value,
            acknowledged_by=str(escalation.acknowledged_by),
        )
    _close(escalation, official_id)
    if escalation.case_id is not None:
        CaseEventRepository(session).record(
            escalation.case_id,
            "escalation_acknowledged",
            actor_id=official_id,
            client=client,
            data={"escalation_id": str(escalation.id)},
        )
    await session.flush()
    return escalation


def _close(escalation: Escalation, official_id: uuid.UUID | None) -> None:
    escalation.status = EscalationStatus.acknowledged
    escalation.acknowledged_at = utcnow()
    escalation.acknowledged_by = official_id


async def stop_for_deadline(
    session: AsyncSession, deadline_id: uuid.UUID, official_id: uuid.UUID
) -> list[Escalation]:
    """Close the open escalations of a deadline (the late arrival stops an arrival chain)."""
    escalations = list(await EscalationRepository(session).open_for_deadline(deadline_id))
    for escalation in escalations:
        _close(escalation, official_id)
    return escalations


async def list_escalations(
    session: AsyncSession, query: EscalationQuery
) -> tuple[list[Escalation], str | None]:
    """A page of escalations."""
    return await EscalationRepository(session).list(query)
