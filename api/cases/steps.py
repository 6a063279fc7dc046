"""What a case action works with (`Step`: the case, its caller, the policy, the time) and the
officials an action names or answers to; shared by the lifecycle actions and registration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.calendar.service import due_after_days, due_after_working_days
from api.cases.repository import OnsiteDutyRepository
from api.deadlines import service as deadlines
from api.escalations import misses
from api.kit.errors import InvalidInput
from api.kit.i18n import Message
from api.models.case import Case
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.official import Official, Role
from api.officials.repository import OfficialRepository
from api.policies.schemas import Policy
from api.units.service import known_units

K = DeadlineKind
# Deadlines about the processing of a case, which closing it ends. Arrivals are about the
# visit and run on their own; the call back (回访) comes after the answer, also after closing;
# an appointment (约访) is the leader's, whatever becomes of the case.
PROCESSING = frozenset(
    {
        K.transfer,
        K.disposition,
        K.acceptance_notice,
        K.objection,
        K.first_resolution,
        K.handling,
        K.review,
        K.re_review,
        K.national_report,
        K.owner_leader,
        K.supervision,
        K.onsite_settlement,
        K.notice_approval,
    }
)


@dataclass
class Step:
    """What an action handler works with."""

    session: AsyncSession
    case: Case
    principal: Principal
    policy: Policy
    now: datetime

    async def open(
        self,
        kind: DeadlineKind,
        official: Official | None,
        unit_id: uuid.UUID,
        due_at: datetime,
        flags: list[str] | None = None,
        starts_at: datetime | None = None,
    ) -> Deadline:
        """Open a deadline of this case, flagged missed at once if already past (backdating).
        An official the case complains about is never made responsible for it: the deadline
        is the unit's, and its escalation reaches the people above."""
        if official is not None and self.case.complains_about(official.id, official.unit_id):
            official, flags = None, [*(flags or []), "complained_about"]
        deadline = deadlines.open_deadline(
            self.session,
            case_id=self.case.id,
            kind=kind,
            role=official.role.value if official else "unit",
            official_id=official.id if official else None,
            unit_id=unit_id,
            starts_at=starts_at or self.now,
            due_at=due_at,
            flags=flags,
            reminders=self.policy.reminders,
        )
        if due_at <= self.now:
            # Only a backdated deadline needs its row now; the others go out with the next
            # flush, one INSERT for all of this request's deadlines.
            await self.session.flush()
            await misses.flag_missed(self.session, deadline, self.now)
        return deadline

    async def working_days(self, start: datetime, n: int) -> tuple[datetime, list[str]]:
        """Due time `n` working days after `start`, with the calendar's flags."""
        return await due_after_working_days(self.session, start, n)

    async def meet(self, *kinds: DeadlineKind) -> None:
        """Close the case's open deadlines of these kinds as met."""
        await deadlines.close_open(
            self.session, self.case.id, kinds, DeadlineStatus.met, self.now, self.principal.id
        )

    async def follow_up_due(self) -> None:
        """After an answer, the petitioner is called back (回访) within the policy's days by
        the desk that took the case in, unless a call back is already owed."""
        if await deadlines.open_of_case(self.session, self.case.id, (K.follow_up,)):
            return
        desk = await staff_of(self.session, self.case.intake_unit_id)
        due = due_after_days(self.now, self.policy.follow_up.days)
        await self.open(K.follow_up, desk, self.case.intake_unit_id, due)

    async def owe_owner_leader(self, start: datetime | None = None) -> Deadline | None:
        """A case that must have an owner leader (包案) and has none owes one: the desk that
        took it in names one within the policy's working days, unless that is owed already."""
        if self.case.owner_leader_id is not None or await deadlines.open_of_case(
            self.session, self.case.id, (K.owner_leader,)
        ):
            return None
        start = start or self.now
        desk = await staff_of(self.session, self.case.intake_unit_id)
        due, flags = await self.working_days(start, self.policy.deadlines.owner_leader_working_days)
        return await self.open(
            K.owner_leader, desk, self.case.intake_unit_id, due, flags=flags, starts_at=start
        )

    async def settle_onsite(self) -> None:
        """事要解决: a case whose petitioners were received on site (赴现场接待), once assigned
        at home with an owner leader, has its duty settled."""
        case = self.case
        if (
            case.owner_leader_id is None
            or case.assigned_at is None
            or case.lodged_level not in self.policy.deadlines.onsite_levels
        ):
            return
        duty = await OnsiteDutyRepository(self.session).for_case(case.id)
        if duty is None or duty.settled_at is not None:
            return
        duty.settled_at = self.now
        await self.meet(K.onsite_settlement)

    async def cancel(self, kinds: frozenset[DeadlineKind] = PROCESSING) -> None:
        """Close the case's open deadlines of these kinds as cancelled."""
        await deadlines.close_open(
            self.session,
            self.case.id,
            kinds,
            DeadlineStatus.cancelled,
            self.now,
            self.principal.id,
        )


async def named_official(
    session: AsyncSession, official_id: uuid.UUID, pointer: str, principal: Principal
) -> Official:
    """An active official named in a request body whom the caller may look up (their
    territory and the units above it); otherwise 422, as if there were no such official."""
    official = await OfficialRepository(session).get(official_id)
    if official is not None and official.id != principal.id:
        units = await known_units(session, principal)
        if units is not None and official.unit_id not in units:
            official = None
    if official is None or not official.active:
        raise InvalidInput(
            Message("Official {official_id} does not exist.", official_id=official_id),
            pointer=pointer,
        )
    return official


async def staff_of(session: AsyncSession, unit_id: uuid.UUID) -> Official | None:
    """Who answers for a unit's petition desk: its petition staff, else its chief."""
    officials = OfficialRepository(session)
    return await officials.holder_of(unit_id, Role.petition_staff) or await officials.holder_of(
        unit_id, Role.chief
    )
