"""Leader reception (领导接访): the duty roster (接访日程表), appointments (约访) and field
visits carrying cases (带案下访), with the deadlines that hold leaders to them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.calendar.service import UnknownYear, WorkCalendar, load_calendar
from api.cases.confidentiality import refuse_complained
from api.cases.repository import CaseRepository
from api.deadlines import service as deadlines
from api.kit.db import utcnow
from api.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.timeutil import (
    end_of_local_day,
    local,
    local_clock,
    local_today,
    month_days,
    month_span,
    start_of_local_day,
)
from api.models.case import Case, CaseStatus
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.official import LEADER_ROLES, Official, Role
from api.models.reception import (
    Appointment,
    AppointmentStatus,
    FieldVisit,
    FieldVisitDuty,
    RosterEntry,
)
from api.models.unit import Unit
from api.officials.repository import OfficialRepository
from api.policies.reception import ReceptionDays
from api.policies.schemas import Policy
from api.reception.repository import ReceptionRepository
from api.reception.schemas import (
    AppointmentCounts,
    AppointmentCreate,
    AppointmentQuery,
    AppointmentRead,
    CancelBody,
    DutyToday,
    FieldVisitCreate,
    FieldVisitProgress,
    FieldVisitQuery,
    FieldVisitRead,
    HoldBody,
    LeaderProgress,
    OnsiteDutyQuery,
    OnsiteDutyRead,
    OnsiteGoer,
    ProgressQuery,
    ReceptionFigures,
    Roster,
    RosterEntryCreate,
    RosterEntryRead,
    RosterGenerate,
    RosterGenerated,
    RosterQuery,
)
from api.timeline.repository import CaseEventRepository
from api.units.repository import UnitRepository
from api.units.service import named_unit

ROSTER_DEFAULT_DAYS = 30


# --- helpers ----------------------------------------------------------------------------


def reception_days(
    rule: ReceptionDays, work: WorkCalendar, first: date, last: date, policy: Policy
) -> list[date]:
    """The days from `first` to `last` that owe a duty leader under `rule` (接访日), and every
    day of a sensitive period with all-day reception (全天接访); a day whose working status
    nothing decides is left out, never guessed."""
    return sorted(
        {
            day
            for day in _span(first, last)
            if day.isoweekday() in rule.weekdays
            and (not rule.working_days_only or (work.covers(day) and work.is_workday(day)))
        }
        | policy.sensitive_periods.reception_days(first, last)
    )


def _span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def _leader_of(
    session: AsyncSession, official_id: uuid.UUID, unit: Unit, pointer: str
) -> Official:
    """An active chief or deputy of exactly `unit`; else 422."""
    official = await OfficialRepository(session).get(official_id)
    if (
        official is None
        or not official.active
        or official.unit_id != unit.id
        or official.role not in LEADER_ROLES
    ):
        raise InvalidInput(
            Message(
                "Official {official_id} is not a chief or deputy of {unit_name}.",
                official_id=official_id,
                unit_name=unit.name,
            ),
            pointer=pointer,
        )
    return official


async def _case_in_reach(
    session: AsyncSession, case_id: uuid.UUID, pointer: str, principal: Principal
) -> Case:
    """A case named in a body, in the caller's territory and not archived; else 422."""
    case = await CaseRepository(session).get_in_reach(case_id, principal)
    if case is None:
        raise InvalidInput(
            Message("Case {case_id} does not exist.", case_id=case_id), pointer=pointer
        )
    if case.status is CaseStatus.archived:
        raise InvalidInput(
            Message("Case {case_id} is archived and read-only.", case_id=case_id), pointer=pointer
        )
    return case


async def _roster_views(
    session: AsyncSession, entries: Sequence[RosterEntry]
) -> list[RosterEntryRead]:
    officials = await OfficialRepository(session).get_many({e.official_id for e in entries})
    units = await UnitRepository(session).get_many({e.unit_id for e in entries})
    return [
        RosterEntryRead(
            id=e.id,
            unit_id=e.unit_id,
            unit_name=units[e.unit_id].name,
            day=e.day,
            official_id=e.official_id,
            official_name=officials[e.official_id].name,
            official_role=officials[e.official_id].role,
            place=e.place,
            note=e.note,
            created_at=e.created_at,
            updated_at=e.updated_at,
        )
        for e in entries
    ]


# --- the duty roster (接访日程表) -------------------------------------------------------


async def add_roster_entry(
    session: AsyncSession, body: RosterEntryCreate, principal: Principal
) -> RosterEntryRead:
    """Put a leader on reception duty in a unit for a day (接访日程); one leader per unit and
    day."""
    unit = await named_unit(session, body.unit_id, principal)
    if body.day < local_today():
        raise InvalidInput(Message("The roster is set for today or later."), pointer="/day")
    await _leader_of(session, body.official_id, unit, "/official_id")
    entry = await ReceptionRepository(session).insert_roster_entry(
        {
            "unit_id": unit.id,
            "day": body.day,
            "official_id": body.official_id,
            "place": body.place,
            "note": body.note,
            "created_by": principal.id,
        }
    )
    if entry is None:
        raise Conflict(
            Message(
                "{unit_name} has a leader on duty on {day} already.",
                unit_name=unit.name,
                day=body.day,
            )
        )
    return (await _roster_views(session, [entry]))[0]


async def remove_roster_entry(
    session: AsyncSession, entry_id: uuid.UUID, principal: Principal
) -> None:
    """Take a future day off the roster; today's and past days stay on the record."""
    repo = ReceptionRepository(session)
    entry = await repo.roster_entry(entry_id)
    if entry is None or not principal.reaches(entry.unit_id):
        raise NotFound(Message("Roster entry {entry_id} does not exist.", entry_id=entry_id))
    if entry.day <= local_today():
        raise Conflict(Message("Only a future day of the roster can be removed."))
    await repo.delete_roster_entry(entry)


async def roster(session: AsyncSession, query: RosterQuery, principal: Principal) -> Roster:
    """The published roster (接访日程表公示) of the units in the caller's territory."""
    first = query.from_ or local_today()
    last = query.to or first + timedelta(days=ROSTER_DEFAULT_DAYS)
    if first > last:
        raise InvalidInput(
            Message("`to` must not be before `from`."),
            errors=[
                {"in": "query", "name": "to", "detail": Message("`to` must not be before `from`.")}
            ],
        )
    if (last - first).days + 1 > RosterQuery.max_days:
        detail = Message("At most {days} days per request.", days=RosterQuery.max_days)
        raise InvalidInput(detail, errors=[{"in": "query", "name": "to", "detail": detail}])
    units = principal.reach
    if query.unit_id is not None:
        units = frozenset({query.unit_id} if principal.reaches(query.unit_id) else ())
    entries = await ReceptionRepository(session).roster(units, first, last)
    return Roster(from_=first, to=last, items=await _roster_views(session, entries))


async def generate_roster(
    session: AsyncSession, body: RosterGenerate, principal: Principal, policy: Policy
) -> RosterGenerated:
    """Fill a unit's month from today on: its leaders take turns (轮流接访) over the reception
    days of its level, going on from the last leader on duty before; days already set are
    kept."""
    unit = await named_unit(session, body.unit_id, principal)
    rule = policy.reception.days_for(unit.level)
    if rule is None:
        raise InvalidInput(
            Message(
                "Units of level {unit_level} owe no reception days (policy).",
                unit_level=unit.level.value,
            ),
            pointer="/unit_id",
        )
    first, last = month_span(body.month)
    today = local_today()
    if last < today:
        raise InvalidInput(Message("The month is over."), pointer="/month")
    first = max(first, today)
    repo = ReceptionRepository(session)
    leaders = list(await repo.leaders_of(unit.id))
    if not leaders:
        raise InvalidInput(
            Message("{unit_name} has no chief or deputy to put on duty.", unit_name=unit.name),
            pointer="/unit_id",
        )
    work = await load_calendar(session, first, last)
    if rule.working_days_only:
        unknown = [d for d in _span(first, last) if not work.covers(d)]
        if unknown:
            raise UnknownYear(unknown[0])  # 422: the roster is never built on a guess
    days = reception_days(rule, work, first, last, policy)
    taken = {e.day for e in await repo.roster([unit.id], first, last)}
    previous = await repo.last_duty_before(unit.id, first)
    ids = [leader.id for leader in leaders]
    turn = ids.index(previous.official_id) + 1 if previous and previous.official_id in ids else 0
    created: list[RosterEntry] = []
    already: list[date] = []
    for day in days:
        entry = None
        if day not in taken:
            entry = await repo.insert_roster_entry(
                {
                    "unit_id": unit.id,
                    "day": day,
                    "official_id": ids[turn % len(ids)],
                    "place": body.place,
                    "note": None,
                    "created_by": principal.id,
                }
            )
        if entry is None:
            already.append(day)
            continue
        created.append(entry)
        turn += 1
    return RosterGenerated(
        unit_id=unit.id,
        month=body.month,
        created=await _roster_views(session, created),
        already_set=already,
    )


# --- appointments (约访) ----------------------------------------------------------------


def _status(appointment: Appointment, deadline: Deadline) -> AppointmentStatus:
    if appointment.status == AppointmentStatus.scheduled and (
        deadline.status is DeadlineStatus.missed
    ):
        return AppointmentStatus.missed
    return AppointmentStatus(appointment.status)


def _appointment_view(appointment: Appointment, deadline: Deadline) -> AppointmentRead:
    return AppointmentRead(
        id=appointment.id,
        unit_id=appointment.unit_id,
        leader_id=appointment.leader_id,
        case_id=appointment.case_id,
        petitioner_name=appointment.petitioner_name,
        at=appointment.at,
        place=appointment.place,
        note=appointment.note,
        status=_status(appointment, deadline),
        deadline_id=deadline.id,
        due_at=deadline.due_at,
        outcome=appointment.outcome,
        held_at=appointment.held_at,
        held_by=appointment.held_by,
        cancel_reason=appointment.cancel_reason,
        cancelled_at=appointment.cancelled_at,
        cancelled_by=appointment.cancelled_by,
        created_by=appointment.created_by,
        created_at=appointment.created_at,
        updated_at=appointment.updated_at,
    )


async def schedule_appointment(
    session: AsyncSession, body: AppointmentCreate, principal: Principal, policy: Policy
) -> AppointmentRead:
    """Make an appointment of a leader with a petitioner (约访); the leader's `appointment`
    deadline falls due the policy's grace after its time."""
    unit = await named_unit(session, body.unit_id, principal)
    leader = await _leader_of(session, body.leader_id, unit, "/leader_id")
    case = None
    if body.case_id is not None:
        case = await _case_in_reach(session, body.case_id, "/case_id", principal)
        refuse_complained(case, leader, "/leader_id")
    now = utcnow()
    if body.at <= now:
        raise InvalidInput(Message("An appointment is made for a time to come."), pointer="/at")
    subject = f"约访{body.petitioner_name}({local_clock(body.at)},{body.place})"
    if case is not None:
        subject += f",{case.number}"
    deadline = deadlines.open_duty(
        session,
        leader,
        DeadlineKind.appointment,
        unit_id=unit.id,
        starts_at=now,
        due_at=body.at + policy.reception.appointment_grace,
        reminders=policy.reminders,
        subject=subject,
    )
    appointment = Appointment(
        id=uuid.uuid4(),
        unit_id=unit.id,
        leader_id=leader.id,
        case_id=body.case_id,
        petitioner_name=body.petitioner_name,
        at=body.at,
        place=body.place,
        note=body.note,
        status=AppointmentStatus.scheduled.value,
        deadline_id=deadline.id,
        created_by=principal.id,
    )
    ReceptionRepository(session).add(appointment)
    if case is not None:
        CaseEventRepository(session).record(
            case.id,
            "appointment_scheduled",
            actor_id=principal.id,
            client=principal.client,
            data={
                "appointment_id": str(appointment.id),
                "leader_id": str(leader.id),
                "at": body.at.isoformat(),
                "place": body.place,
            },
            at=now,
        )
    await session.flush()
    return _appointment_view(appointment, deadline)


async def get_appointment(
    session: AsyncSession, appointment_id: uuid.UUID, principal: Principal
) -> AppointmentRead:
    """An appointment of the caller's territory; 404 otherwise."""
    repo = ReceptionRepository(session)
    appointment = await repo.appointment(appointment_id, principal.reach)
    if appointment is None:
        raise NotFound(
            Message("Appointment {appointment_id} does not exist.", appointment_id=appointment_id)
        )
    return _appointment_view(appointment, await repo.deadline(appointment.deadline_id))


async def list_appointments(
    session: AsyncSession, query: AppointmentQuery, principal: Principal
) -> tuple[list[AppointmentRead], str | None]:
    """A page of the appointments of the caller's territory."""
    repo = ReceptionRepository(session)
    rows, cursor = await repo.appointments(query, principal.reach)
    found = await repo.deadlines({a.deadline_id for a in rows})
    return [_appointment_view(a, found[a.deadline_id]) for a in rows], cursor


async def _open_appointment(
    session: AsyncSession, appointment_id: uuid.UUID, principal: Principal
) -> tuple[Appointment, Deadline]:
    """The locked appointment and deadline, 404 outside the caller's territory."""
    repo = ReceptionRepository(session)
    appointment = await repo.appointment(appointment_id, principal.reach, for_update=True)
    if appointment is None:
        raise NotFound(
            Message("Appointment {appointment_id} does not exist.", appointment_id=appointment_id)
        )
    return appointment, await repo.deadline(appointment.deadline_id, for_update=True)


def _still_scheduled(appointment: Appointment, deadline: Deadline, now: datetime) -> None:
    status = _status(appointment, deadline)
    if status is AppointmentStatus.scheduled and now > deadline.due_at:
        status = AppointmentStatus.missed  # the worker flags it within a second
    if status is not AppointmentStatus.scheduled:
        raise Conflict(
            Message("The appointment is {status}.", status=status.value),
            current_status=status.value,
        )


async def _may_hold(session: AsyncSession, appointment: Appointment, principal: Principal) -> None:
    """The appointed leader records the meeting, or a leader above them (谁接访谁负责)."""
    if principal.id == appointment.leader_id or principal.reach is None:
        return
    if principal.unit_id != appointment.unit_id:
        return  # the unit lies in the caller's subtree: theirs is a unit above
    leader = await OfficialRepository(session).get(appointment.leader_id)
    if principal.role is Role.chief and leader is not None and leader.role is Role.deputy:
        return
    raise Forbidden(
        Message("Only the appointed leader or a leader above them records the meeting.")
    )


async def hold_appointment(
    session: AsyncSession, appointment_id: uuid.UUID, body: HoldBody, principal: Principal
) -> AppointmentRead:
    """The leader records the appointment held (接访记录); its deadline is met."""
    appointment, deadline = await _open_appointment(session, appointment_id, principal)
    await _may_hold(session, appointment, principal)
    now = utcnow()
    _still_scheduled(appointment, deadline, now)
    appointment.status = AppointmentStatus.held.value
    appointment.outcome = body.outcome
    appointment.held_at = now
    appointment.held_by = principal.id
    deadlines.meet(session, deadline, now, principal.id)
    if appointment.case_id is not None:
        CaseEventRepository(session).record(
            appointment.case_id,
            "appointment_held",
            actor_id=principal.id,
            client=principal.client,
            data={"appointment_id": str(appointment.id), "outcome": body.outcome},
            at=now,
        )
    await session.flush()
    return _appointment_view(appointment, deadline)


async def cancel_appointment(
    session: AsyncSession, appointment_id: uuid.UUID, body: CancelBody, principal: Principal
) -> AppointmentRead:
    """Call an appointment off before it is missed; its deadline is cancelled."""
    appointment, deadline = await _open_appointment(session, appointment_id, principal)
    now = utcnow()
    _still_scheduled(appointment, deadline, now)
    appointment.status = AppointmentStatus.cancelled.value
    appointment.cancel_reason = body.reason
    appointment.cancelled_at = now
    appointment.cancelled_by = principal.id
    deadlines.close(session, deadline, DeadlineStatus.cancelled, now, principal.id)
    if appointment.case_id is not None:
        CaseEventRepository(session).record(
            appointment.case_id,
            "appointment_cancelled",
            actor_id=principal.id,
            client=principal.client,
            data={"appointment_id": str(appointment.id), "reason": body.reason},
            at=now,
        )
    await session.flush()
    return _appointment_view(appointment, deadline)


# --- field visits carrying cases (带案下访) ----------------------------------------------


def _visit_view(visit: FieldVisit, case_ids: list[uuid.UUID]) -> FieldVisitRead:
    return FieldVisitRead(
        id=visit.id,
        official_id=visit.official_id,
        unit_id=visit.unit_id,
        day=visit.day,
        place=visit.place,
        note=visit.note,
        case_ids=case_ids,
        recorded_by=visit.recorded_by,
        created_at=visit.created_at,
        updated_at=visit.updated_at,
    )


async def _visiting_leader(
    session: AsyncSession, official_id: uuid.UUID | None, principal: Principal
) -> Official:
    """Who made the visit: the caller; an admin names the leader."""
    if official_id is not None and official_id != principal.id and principal.reach is not None:
        raise Forbidden(Message("A leader records their own field visits (带案下访)."))
    official = await OfficialRepository(session).get(official_id or principal.id)
    if (
        official is None
        or not official.active
        or official.unit_id is None
        or official.role not in LEADER_ROLES
    ):
        raise InvalidInput(
            Message("Field visits are made by a chief or deputy; name the leader who went."),
            pointer="/official_id",
        )
    return official


async def record_field_visit(
    session: AsyncSession, body: FieldVisitCreate, principal: Principal, policy: Policy
) -> FieldVisitRead:
    """Record a leader's field visit carrying cases (带案下访); each case's timeline notes it,
    and the month's `field_visit` deadline is met once the visits reach the minimum."""
    official = await _visiting_leader(session, body.official_id, principal)
    assert official.unit_id is not None
    if body.day > local_today():
        raise InvalidInput(Message("A field visit is recorded once made."), pointer="/day")
    cases = [
        await _case_in_reach(session, case_id, f"/case_ids/{i}", principal)
        for i, case_id in enumerate(body.case_ids)
    ]
    for i, case in enumerate(cases):
        refuse_complained(case, official, f"/case_ids/{i}")
    now = utcnow()
    visit = FieldVisit(
        id=uuid.uuid4(),
        official_id=official.id,
        unit_id=official.unit_id,
        day=body.day,
        place=body.place,
        note=body.note,
        recorded_by=principal.id,
    )
    repo = ReceptionRepository(session)
    repo.add(visit)
    await session.flush()
    await repo.add_visit_cases(visit.id, body.case_ids)
    events = CaseEventRepository(session)
    for case in cases:
        events.record(
            case.id,
            "field_visit",
            actor_id=principal.id,
            client=principal.client,
            data={
                "field_visit_id": str(visit.id),
                "official_id": str(official.id),
                "day": body.day.isoformat(),
                "place": body.place,
            },
            at=now,
        )
    await _meet_if_reached(session, [official.id], body.day.replace(day=1), policy, now)
    await session.flush()
    return _visit_view(visit, list(body.case_ids))


async def _meet_if_reached(
    session: AsyncSession,
    official_ids: Sequence[uuid.UUID],
    month: date,
    policy: Policy,
    now: datetime,
) -> None:
    """Meet the open `field_visit` deadlines of `month` of those officials whose visits reach
    the minimum by now (a month already over stays with the worker's verdict)."""
    repo = ReceptionRepository(session)
    found = await repo.duty_deadlines(official_ids, month, for_update=True)
    counts = await repo.visit_counts(list(found), month, month_days(month)[1])
    for official_id, deadline in found.items():
        reached = counts.get(official_id, 0) >= policy.reception.field_visits_per_month
        if reached and deadline.status is DeadlineStatus.open and now <= deadline.due_at:
            deadlines.close(session, deadline, DeadlineStatus.met, now, None)


async def list_field_visits(
    session: AsyncSession, query: FieldVisitQuery, principal: Principal
) -> tuple[list[FieldVisitRead], str | None]:
    """A page of the field visits of the caller's territory."""
    repo = ReceptionRepository(session)
    rows, cursor = await repo.visits(query, principal.reach)
    carried = await repo.visit_cases([v.id for v in rows])
    return [_visit_view(v, carried[v.id]) for v in rows], cursor


async def ensure_field_visit_deadlines(session: AsyncSession, policy: Policy) -> int:
    """Open the current month's field-visit deadline (带案下访) of every leader who owes one
    (run by the sweep); returns how many were opened.

    One sweeper at a time does it (advisory lock) and a leader has one duty per month (unique
    key), so no deadline is opened twice. A leader whose visits already reach the minimum has
    it met at once.
    """
    repo = ReceptionRepository(session)
    if not await repo.try_lock_duties():
        return 0
    now = utcnow()
    first, last = month_days(local(now).date())
    minimum = policy.reception.field_visits_per_month
    leaders = await repo.leaders_without_duty(policy.reception.field_visit_levels, first)
    for leader in leaders:
        deadline = deadlines.open_duty(
            session,
            leader,
            DeadlineKind.field_visit,
            starts_at=start_of_local_day(first),
            due_at=end_of_local_day(last),
            reminders=policy.reminders,
            subject=f"{first.year}年{first.month}月带案下访(每月至少{minimum}次)",
        )
        repo.add(
            FieldVisitDuty(
                id=uuid.uuid4(),
                official_id=leader.id,
                unit_id=deadline.unit_id,
                month=first,
                deadline_id=deadline.id,
            )
        )
    await session.flush()
    if leaders:
        await _meet_if_reached(session, [leader.id for leader in leaders], first, policy, now)
    return len(leaders)


async def field_visit_progress(
    session: AsyncSession, query: ProgressQuery, principal: Principal, policy: Policy
) -> FieldVisitProgress:
    """Per leader owing field visits in a unit's subtree: the month's visits against the
    minimum, and the month's deadline."""
    unit_id = query.unit_id or principal.unit_id
    if unit_id is None:
        raise InvalidInput(
            Message("Give the unit."),
            errors=[{"in": "query", "name": "unit_id", "detail": Message("Field required")}],
        )
    units = UnitRepository(session)
    unit = await units.get(unit_id)
    if unit is None or not principal.reaches(unit.id):
        raise NotFound(Message("Unit {unit_id} does not exist.", unit_id=unit_id))
    month = query.month or local_today().strftime("%Y-%m")
    first, last = month_span(month)
    repo = ReceptionRepository(session)
    leaders = await repo.leaders_owing(
        policy.reception.field_visit_levels, await units.subtree_ids(unit.id)
    )
    ids = [leader.id for leader in leaders]
    counts = await repo.visit_counts(ids, first, last)
    found = await repo.duty_deadlines(ids, first)
    names = await units.get_many({leader.unit_id for leader in leaders if leader.unit_id})
    minimum = policy.reception.field_visits_per_month
    rows = []
    for leader in leaders:
        assert leader.unit_id is not None
        deadline = found.get(leader.id)
        rows.append(
            LeaderProgress(
                official_id=leader.id,
                name=leader.name,
                role=leader.role,
                unit_id=leader.unit_id,
                unit_name=names[leader.unit_id].name,
                visits=counts.get(leader.id, 0),
                minimum=minimum,
                reached=counts.get(leader.id, 0) >= minimum,
                deadline_id=deadline.id if deadline else None,
                deadline_status=deadline.status if deadline else None,
            )
        )
    return FieldVisitProgress(unit_id=unit.id, month=month, minimum=minimum, leaders=rows)


# --- dashboard figures ------------------------------------------------------------------


async def figures(
    session: AsyncSession,
    unit_ids: frozenset[uuid.UUID],
    first: date,
    last: date,
    policy: Policy,
) -> ReceptionFigures:
    """Leader reception of a unit subtree in a period (local days, both included): today's
    duty leaders, the reception days owed and covered (接访日程), appointments (约访) by
    status, field visits carrying cases (带案下访) and the leaders below this month's
    minimum."""
    repo = ReceptionRepository(session)
    today = local_today()
    on_duty = await _roster_views(session, await repo.roster(unit_ids, today, today))
    owed = set()
    work = await load_calendar(session, first, last)
    owing = {d.unit_level for d in policy.reception.days}
    for unit in await repo.units(unit_ids, owing):
        rule = policy.reception.days_for(unit.level)
        if rule is not None:
            owed |= {(unit.id, d) for d in reception_days(rule, work, first, last, policy)}
    covered = owed & {(e.unit_id, e.day) for e in await repo.roster(unit_ids, first, last)}
    counts = await repo.appointment_counts(
        unit_ids, start_of_local_day(first), end_of_local_day(last)
    )
    visits, carried = await repo.visit_figures(unit_ids, first, last)
    leaders = await repo.leaders_owing(policy.reception.field_visit_levels, unit_ids)
    this_month = await repo.visit_counts([leader.id for leader in leaders], *month_days(today))
    minimum = policy.reception.field_visits_per_month
    return ReceptionFigures(
        today_on_duty=[
            DutyToday(
                unit_id=e.unit_id,
                unit_name=e.unit_name,
                official_id=e.official_id,
                official_name=e.official_name,
                place=e.place,
            )
            for e in on_duty
        ],
        duty_days_owed=len(owed),
        duty_days_covered=len(covered),
        duty_days_uncovered=len(owed) - len(covered),
        appointments=AppointmentCounts(
            total=sum(counts.values()),
            **{s.value: counts.get(s.value, 0) for s in AppointmentStatus},
        ),
        field_visits=visits,
        cases_carried=carried,
        leaders_owing=len(leaders),
        leaders_below_minimum=sum(1 for o in leaders if this_month.get(o.id, 0) < minimum),
    )


async def onsite_duties(
    session: AsyncSession, query: OnsiteDutyQuery, principal: Principal
) -> tuple[list[OnsiteDutyRead], str | None]:
    """A page of on-site reception duties (赴现场接待) of cases the caller may see: who had to
    go and whether they reported reaching and receiving the petitioners in time, and whether
    the matter was settled at home (事要解决) by its date."""
    repo = ReceptionRepository(session)
    duties, cursor = await repo.onsite_duties(query, principal)
    numbers, found = await repo.onsite_facts(duties)
    by_case: dict[uuid.UUID, list[Deadline]] = {}
    by_id = {d.id: d for d in found}
    for deadline in found:
        if deadline.kind is DeadlineKind.arrival and deadline.case_id is not None:
            by_case.setdefault(deadline.case_id, []).append(deadline)
    views = []
    for duty in duties:
        settle = by_id.get(duty.settle_deadline_id) if duty.settle_deadline_id else None
        views.append(
            OnsiteDutyRead(
                id=duty.id,
                case_id=duty.case_id,
                case_number=numbers.get(duty.case_id, ""),
                level=duty.level,
                unit_id=duty.unit_id,
                opened_at=duty.opened_at,
                goers=[
                    OnsiteGoer(
                        deadline_id=d.id,
                        official_id=d.official_id,
                        role=d.role,
                        unit_id=d.unit_id,
                        due_at=d.due_at,
                        status=d.status,
                        met_at=d.closed_at if d.status is DeadlineStatus.met else None,
                    )
                    for d in by_case.get(duty.case_id, [])
                ],
                settle_due_at=settle.due_at if settle else None,
                settle_status=settle.status if settle else None,
                settled_at=duty.settled_at,
                created_at=duty.created_at,
                updated_at=duty.updated_at,
            )
        )
    return views, cursor
