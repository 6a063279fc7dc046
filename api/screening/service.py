"""The dispute screening register (矛盾纠纷排查台账): entries with their owning leader's
deadline, weekly screening rounds (每周一排查), the monthly roll-up (每月一汇总) and the
dashboard figures."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.service import alert_official
from api.auth.principal import Principal
from api.cases.repository import CaseRepository
from api.categories.service import accepted_code, check_text
from api.deadlines import service as deadlines
from api.escalations import misses
from api.kit.db import utcnow
from api.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.timeutil import CHINA, end_of_local_day, local, local_clock, local_days, month_span
from api.models.case import CaseStatus
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.official import Official
from api.models.screening import DisputeRisk, ScreeningItem, ScreeningRound, ScreeningStatus
from api.models.unit import Unit
from api.officials.repository import OfficialRepository
from api.officials.service import leader_over
from api.policies.schemas import Policy
from api.screening.repository import ScreeningFiguresRepository, ScreeningRepository
from api.screening.schemas import (
    ScreeningCloseBody,
    ScreeningConvertBody,
    ScreeningFigures,
    ScreeningItemCreate,
    ScreeningItemQuery,
    ScreeningItemUpdate,
    ScreeningResolveBody,
    ScreeningRiskCounts,
    ScreeningRollup,
    ScreeningRollupQuery,
    ScreeningRollupRow,
    ScreeningRoundCreate,
    ScreeningRoundQuery,
)
from api.stats.schemas import Rate
from api.timeline.repository import CaseEventRepository
from api.units.repository import UnitRepository
from api.units.service import named_unit

OWNER = "/owner_leader_id"

RISK_NAMES: dict[DisputeRisk, str] = {
    DisputeRisk.high: "高风险",
    DisputeRisk.medium: "中风险",
    DisputeRisk.low: "低风险",
}
_RISK_RANK = {DisputeRisk.low: 0, DisputeRisk.medium: 1, DisputeRisk.high: 2}


# --- weeks ------------------------------------------------------------------------------


def week_of(day: date) -> date:
    """The Monday of the ISO week holding `day`."""
    return day - timedelta(days=day.weekday())


def week_start(week: date) -> datetime:
    """The first instant of the week (local Monday 00:00), in UTC: a round deadline's start,
    and its identity."""
    return datetime.combine(week, time(), tzinfo=CHINA).astimezone(UTC)


def round_due(week: date, policy: Policy) -> datetime:
    """When the week's round is due: the end of the policy's weekday of that week."""
    return end_of_local_day(week + timedelta(days=policy.screening.round_weekday - 1))


def _round_subject(week: date) -> str:
    iso = week.isocalendar()
    return f"{iso.year}年第{iso.week}周矛盾纠纷排查({week.month}月{week.day}日起)"


def _open_round_deadline(
    session: AsyncSession, official: Official, week: date, policy: Policy
) -> Deadline:
    return deadlines.open_duty(
        session,
        official,
        DeadlineKind.screening_round,
        starts_at=week_start(week),
        due_at=round_due(week, policy),
        reminders=policy.reminders,
        subject=_round_subject(week),
    )


async def ensure_round_deadlines(session: AsyncSession, policy: Policy) -> int:
    """Open the current week's screening-round deadline of every unit that owes one (run by
    the sweep); returns how many were opened.

    Every active official of `screening.round_roles` in a unit of `screening.round_levels`
    owes a round each week (每周一排查), due by the end of `screening.round_weekday`. One
    sweeper at a time does it (advisory lock; a unique index backs it), so none is opened
    twice. Once this week's round is already due, late arrivals start next week."""
    repo = ScreeningRepository(session)
    if not await repo.try_lock_round_deadlines():
        return 0
    now = utcnow()
    week = week_of(local(now).date())
    if round_due(week, policy) <= now:
        return 0
    cfg = policy.screening
    officials = await repo.officials_owing_round(
        cfg.round_roles, cfg.round_levels, week_start(week)
    )
    for official in officials:
        _open_round_deadline(session, official, week, policy)
    await session.flush()
    return len(officials)


async def submit_round(
    session: AsyncSession, body: ScreeningRoundCreate, principal: Principal, policy: Policy
) -> ScreeningRound:
    """File the caller's weekly screening round for a week (default this one); meets the
    week's round deadline, or, filed after it was due, flags it missed without escalating (a
    late round is a miss, and its chain had its chance)."""
    cfg = policy.screening
    unit = await UnitRepository(session).get(principal.unit_id) if principal.unit_id else None
    if principal.role not in cfg.round_roles or unit is None or unit.level not in cfg.round_levels:
        raise Forbidden(Message("Only the officials who owe a weekly screening round file one."))
    now = utcnow()
    this_week = week_of(local(now).date())
    week = body.week or this_week
    if week.weekday() != 0:
        raise InvalidInput(Message("{week} is not a Monday (周一).", week=week), pointer="/week")
    if week > this_week:
        raise InvalidInput(Message("The week of {week} has not begun.", week=week), pointer="/week")
    repo = ScreeningRepository(session)
    found = await repo.ids_in_reach(body.item_ids, principal.reach)
    for index, item_id in enumerate(body.item_ids):
        if item_id not in found:
            raise InvalidInput(
                Message("Item {item_id} does not exist.", item_id=item_id),
                pointer=f"/item_ids/{index}",
            )
    await repo.lock_round_deadlines()
    if await repo.get_round(principal.id, week) is not None:
        raise Conflict(Message("The round for the week of {week} was already filed.", week=week))
    deadline = await repo.round_deadline(principal.id, week_start(week))
    if deadline is None:
        if week != this_week:
            raise InvalidInput(
                Message("No round was owed for the week of {week}.", week=week), pointer="/week"
            )
        official = await OfficialRepository(session).get(principal.id)
        assert official is not None
        deadline = _open_round_deadline(session, official, week, policy)
        await session.flush()
    on_time = now <= deadline.due_at
    if deadline.status is DeadlineStatus.open:
        if on_time:
            deadlines.meet(session, deadline, now, principal.id)
        else:  # late, before the worker flagged it: still a miss
            await misses.flag_missed(session, deadline, now, escalate=False)
    screening_round = ScreeningRound(
        id=uuid.uuid4(),
        official_id=principal.id,
        unit_id=unit.id,
        week=week,
        zero=body.zero,
        item_ids=[str(i) for i in body.item_ids],
        note=body.note,
        submitted_at=now,
        on_time=on_time,
        deadline_id=deadline.id,
    )
    repo.add(screening_round)
    await session.flush()
    return screening_round


async def list_rounds(
    session: AsyncSession, query: ScreeningRoundQuery, principal: Principal
) -> tuple[list[ScreeningRound], str | None]:
    """A page of the rounds filed in the caller's territory."""
    return await ScreeningRepository(session).list_rounds(query, principal.reach)


# --- the register -----------------------------------------------------------------------


async def create_item(
    session: AsyncSession, body: ScreeningItemCreate, principal: Principal, policy: Policy
) -> ScreeningItem:
    """Enter a screened dispute in the register (登记台账) with its owning leader's
    `screening` deadline; a high risk alerts the leader at once (same transaction)."""
    unit_id = body.unit_id or principal.unit_id
    if unit_id is None:
        raise InvalidInput(Message("Give the unit where the dispute is."), pointer="/unit_id")
    unit = await named_unit(session, unit_id, principal)
    await accepted_code(session, body.category, "/category")
    check_text(body.category, body.category_text, "/category_text")
    owner = await leader_over(
        session, body.owner_leader_id, unit, principal, policy.screening.leader_roles, OWNER
    )
    now = utcnow()
    today = local(now).date()
    screened_on = body.screened_on or today
    if screened_on > today:
        raise InvalidInput(Message("The screening day is after today."), pointer="/screened_on")
    if body.due_at is not None:
        _in_future(body.due_at, now)
        due_at = body.due_at
    else:
        days = getattr(policy.screening.resolution_days, body.risk_level.value)
        due_at = end_of_local_day(screened_on + timedelta(days=days))
    item = ScreeningItem(
        id=uuid.uuid4(),
        unit_id=unit.id,
        category=body.category,
        category_text=body.category_text,
        title=body.title,
        description=body.description,
        people=[p.model_dump(mode="json") for p in body.people],
        people_count=body.people_count,
        location=body.location,
        lat=body.lat,
        lon=body.lon,
        risk_level=body.risk_level.value,
        owner_leader_id=owner.id,
        plan=body.plan,
        measures=body.measures,
        screened_on=screened_on,
        due_at=due_at,
        status=ScreeningStatus.open.value,
        recorded_by=principal.id,
    )
    ScreeningRepository(session).add(item)
    _open_item_deadline(session, item, owner, now, policy)
    if body.risk_level is DisputeRisk.high:
        await _alert_owner(session, item, owner, unit)
    await session.flush()
    return item


async def get_item(
    session: AsyncSession, item_id: uuid.UUID, principal: Principal
) -> ScreeningItem:
    """An entry of the caller's territory (404 otherwise, as for one that does not exist)."""
    return await _item(session, item_id, principal, for_update=False)


async def list_items(
    session: AsyncSession, query: ScreeningItemQuery, principal: Principal
) -> tuple[list[ScreeningItem], str | None]:
    """A page of the register of the caller's territory."""
    return await ScreeningRepository(session).list_items(query, principal.reach)


async def update_item(
    session: AsyncSession,
    item_id: uuid.UUID,
    body: ScreeningItemUpdate,
    principal: Principal,
    policy: Policy,
) -> ScreeningItem:
    """Change an open entry's plan, measures, risk level, owner or time limit (see
    `ScreeningItemUpdate` for what follows each change)."""
    item = await _item(session, item_id, principal, for_update=True)
    _expect_open(item, Message("Only an open item can be changed"))
    given = body.model_fields_set
    for name in ("risk_level", "owner_leader_id", "due_at"):
        if name in given and getattr(body, name) is None:
            raise InvalidInput(Message("{name} may not be null.", name=name), pointer=f"/{name}")
    unit = await UnitRepository(session).get(item.unit_id)
    assert unit is not None  # foreign key
    now = utcnow()
    new_owner: Official | None = None
    if body.owner_leader_id is not None and body.owner_leader_id != item.owner_leader_id:
        new_owner = await leader_over(
            session, body.owner_leader_id, unit, principal, policy.screening.leader_roles, OWNER
        )
    new_due: datetime | None = None
    if body.due_at is not None:
        _in_future(body.due_at, now)
        new_due = body.due_at if body.due_at != item.due_at else None
    old_risk = DisputeRisk(item.risk_level)
    risk = body.risk_level or old_risk
    if body.due_at is None and _RISK_RANK[risk] > _RISK_RANK[old_risk]:
        days = getattr(policy.screening.resolution_days, risk.value)
        sooner = end_of_local_day(local(now).date() + timedelta(days=days))
        new_due = sooner if sooner < item.due_at else None
    # Everything checked: now the changes.
    if "plan" in given:
        item.plan = body.plan
    if "measures" in given:
        item.measures = body.measures
    item.risk_level = risk.value
    owner = new_owner or await _official(session, item.owner_leader_id)
    if new_owner is not None:
        item.owner_leader_id = new_owner.id
    if new_due is not None:
        item.due_at = new_due
    if new_owner is not None or new_due is not None:
        await misses.settle(session, item.deadline_id, DeadlineStatus.cancelled, now, principal.id)
        _open_item_deadline(session, item, owner, now, policy)
    if risk is DisputeRisk.high and (old_risk is not DisputeRisk.high or new_owner is not None):
        await _alert_owner(session, item, owner, unit)
    await session.flush()
    return item


async def resolve_item(
    session: AsyncSession, item_id: uuid.UUID, body: ScreeningResolveBody, principal: Principal
) -> ScreeningItem:
    """化解: the dispute is resolved; the owner's deadline is met (or, past due before the
    worker came by, flagged missed without escalating)."""
    item = await _item(session, item_id, principal, for_update=True)
    _expect_open(item, Message("Only an open item can be resolved"))
    now = utcnow()
    await misses.settle(session, item.deadline_id, DeadlineStatus.met, now, principal.id)
    item.status = ScreeningStatus.resolved.value
    item.resolution = body.resolution
    item.resolved_at = now
    item.closed_at = now
    await session.flush()
    return item


async def convert_item(
    session: AsyncSession, item_id: uuid.UUID, body: ScreeningConvertBody, principal: Principal
) -> ScreeningItem:
    """转为信访事项: the dispute became a registered case, whose own deadlines take over; the
    owner's deadline is cancelled and the case's timeline records `screening_converted`."""
    item = await _item(session, item_id, principal, for_update=True)
    _expect_open(item, Message("Only an open item can be converted"))
    case = await CaseRepository(session).get_in_reach(body.case_id, principal)
    if case is None:
        raise InvalidInput(
            Message("Case {case_id} does not exist.", case_id=body.case_id), pointer="/case_id"
        )
    if case.status is CaseStatus.archived:
        raise Conflict(
            Message("The case is archived and read-only."), current_status=case.status.value
        )
    now = utcnow()
    await misses.settle(session, item.deadline_id, DeadlineStatus.cancelled, now, principal.id)
    item.status = ScreeningStatus.converted.value
    item.case_id = case.id
    item.closed_at = now
    CaseEventRepository(session).record(
        case.id,
        "screening_converted",
        actor_id=principal.id,
        client=principal.client,
        data={
            "screening_item_id": str(item.id),
            "title": item.title,
            "risk_level": item.risk_level,
            "unit_id": str(item.unit_id),
            "screened_on": item.screened_on.isoformat(),
        },
        at=now,
    )
    await session.flush()
    return item


async def close_item(
    session: AsyncSession, item_id: uuid.UUID, body: ScreeningCloseBody, principal: Principal
) -> ScreeningItem:
    """销号: the entry needs no resolving after all (not true, or gone by itself); the
    owner's deadline is cancelled. Closed entries count neither way in the resolution rate."""
    item = await _item(session, item_id, principal, for_update=True)
    _expect_open(item, Message("Only an open item can be closed"))
    now = utcnow()
    await misses.settle(session, item.deadline_id, DeadlineStatus.cancelled, now, principal.id)
    item.status = ScreeningStatus.closed.value
    item.resolution = body.reason
    item.closed_at = now
    await session.flush()
    return item


# --- the monthly roll-up and the dashboard ---------------------------------------------


async def rollup(
    session: AsyncSession, query: ScreeningRollupQuery, principal: Principal, policy: Policy
) -> ScreeningRollup:
    """每月一汇总: a unit's subtree and each unit directly below it, for a local month."""
    unit_id = query.unit_id or principal.unit_id
    if unit_id is None:
        raise InvalidInput(Message("Give the unit whose roll-up you want."), pointer="/unit_id")
    units = UnitRepository(session)
    unit = await units.get(unit_id)
    if unit is None or not principal.reaches(unit.id):
        raise NotFound(Message("Unit {unit_id} does not exist.", unit_id=unit_id))
    now = utcnow()
    month = query.month or f"{local(now):%Y-%m}"
    first, last = month_span(month)
    start, end = local_days(first, last)
    subtree = await units.subtree_ids(unit.id)
    repo = ScreeningFiguresRepository(session)
    states = await repo.screened_states(subtree, first, last, now)
    rounds = await repo.round_deadlines(subtree, start, end)
    target = policy.screening.resolution_target
    children = [
        (child, await units.subtree_ids(child.id)) for child in await units.children(unit.id)
    ]
    return ScreeningRollup(
        unit_id=unit.id,
        month=month,
        target=target,
        total=_rollup_row(unit, subtree, states, rounds, target),
        children=[_rollup_row(c, ids, states, rounds, target) for c, ids in children],
    )


def _rollup_row(
    unit: Unit,
    unit_ids: frozenset[uuid.UUID],
    states: list[tuple[uuid.UUID, str, str, bool, int]],
    rounds: list[tuple[uuid.UUID, DeadlineStatus, bool, int]],
    target: float,
) -> ScreeningRollupRow:
    mine = [(risk, status, overdue, n) for u, risk, status, overdue, n in states if u in unit_ids]
    by_status = {s: sum(n for _, st, _, n in mine if st == s) for s in ScreeningStatus}
    rate = _resolution_rate(mine)
    owed, filed, missed = _round_counts(r for r in rounds if r[0] in unit_ids)
    return ScreeningRollupRow(
        unit_id=unit.id,
        unit_name=unit.name,
        screened=sum(n for *_, n in mine),
        by_risk=_by_risk((risk, n) for risk, _, _, n in mine),
        resolved=by_status[ScreeningStatus.resolved],
        converted=by_status[ScreeningStatus.converted],
        closed=by_status[ScreeningStatus.closed],
        open=by_status[ScreeningStatus.open],
        overdue=sum(n for _, _, overdue, n in mine if overdue),
        resolution_rate=rate,
        meets_target=_meets(rate, target),
        rounds_owed=owed,
        rounds_filed=filed,
        rounds_missed=missed,
    )


async def figures(
    session: AsyncSession,
    unit_ids: frozenset[uuid.UUID],
    first: date,
    last: date,
    policy: Policy,
) -> ScreeningFigures:
    """The subtree's screening in the local days `first`..`last`: the register now (open by
    risk, high risk, overdue), entries screened, resolved and converted in the period, the
    resolution rate (化解率) of the period's entries against the policy's target, and the
    weekly rounds due in the period."""
    now = utcnow()
    start, end = local_days(first, last)
    repo = ScreeningFiguresRepository(session)
    open_rows = await repo.open_now(unit_ids, now)
    states = await repo.screened_states(unit_ids, first, last, now)
    ended = await repo.ended_between(unit_ids, start, end)
    owed, filed, missed = _round_counts(await repo.round_deadlines(unit_ids, start, end))
    rate = _resolution_rate([(risk, status, overdue, n) for _, risk, status, overdue, n in states])
    target = policy.screening.resolution_target
    return ScreeningFigures(
        open_by_risk=_by_risk((risk, n) for risk, _, n in open_rows),
        high_risk_open=sum(n for risk, _, n in open_rows if risk == DisputeRisk.high),
        open_overdue=sum(n for _, overdue, n in open_rows if overdue),
        screened=sum(n for *_, n in states),
        resolved=ended.get(ScreeningStatus.resolved, 0),
        converted=ended.get(ScreeningStatus.converted, 0),
        resolution_rate=rate,
        resolution_target=target,
        meets_target=_meets(rate, target),
        rounds_owed=owed,
        rounds_filed=filed,
        rounds_missed=missed,
    )


def _resolution_rate(rows: Iterable[tuple[str, str, bool, int]]) -> Rate:
    """化解率 = resolved / (resolved + converted + open past due) of (risk, status, overdue,
    count) rows."""
    resolved = counted = 0
    for _, status, overdue, n in rows:
        if status == ScreeningStatus.resolved:
            resolved += n
            counted += n
        elif status == ScreeningStatus.converted or (status == ScreeningStatus.open and overdue):
            counted += n
    return Rate.of(resolved, counted)


def _meets(rate: Rate, target: float) -> bool | None:
    if not rate.denominator:
        return None
    return rate.numerator / rate.denominator >= target


def _by_risk(rows: Iterable[tuple[str, int]]) -> ScreeningRiskCounts:
    counts = dict.fromkeys(DisputeRisk, 0)
    for risk, n in rows:
        counts[DisputeRisk(risk)] += n
    return ScreeningRiskCounts(
        high=counts[DisputeRisk.high],
        medium=counts[DisputeRisk.medium],
        low=counts[DisputeRisk.low],
    )


def _round_counts(
    rows: Iterable[tuple[uuid.UUID, DeadlineStatus, bool, int]],
) -> tuple[int, int, int]:
    """(owed, filed, missed) of round-deadline rows."""
    owed = filed = missed = 0
    for _, status, was_filed, n in rows:
        owed += n
        filed += n if was_filed else 0
        missed += n if status is DeadlineStatus.missed else 0
    return owed, filed, missed


# --- helpers ----------------------------------------------------------------------------


async def _item(
    session: AsyncSession, item_id: uuid.UUID, principal: Principal, *, for_update: bool
) -> ScreeningItem:
    item = await ScreeningRepository(session).get_in_reach(
        item_id, principal.reach, for_update=for_update
    )
    if item is None:
        raise NotFound(Message("Screening item {item_id} does not exist.", item_id=item_id))
    return item


def _expect_open(item: ScreeningItem, what: Message) -> None:
    if item.status != ScreeningStatus.open:
        raise Conflict(
            Message("{what}; this one is {item_status}.", what=what, item_status=item.status),
            item_status=item.status,
        )


def _in_future(due_at: datetime, now: datetime) -> None:
    if due_at <= now:
        raise InvalidInput(Message("The time limit must lie in the future."), pointer="/due_at")


async def _official(session: AsyncSession, official_id: uuid.UUID) -> Official:
    official = await OfficialRepository(session).get(official_id)
    assert official is not None  # foreign key
    return official


def _open_item_deadline(
    session: AsyncSession, item: ScreeningItem, owner: Official, now: datetime, policy: Policy
) -> None:
    """The owning leader's `screening` deadline, due at the item's time limit, in the
    leader's unit (a miss escalates from there upwards)."""
    deadline = deadlines.open_duty(
        session,
        owner,
        DeadlineKind.screening,
        starts_at=min(now, item.due_at),
        due_at=item.due_at,
        reminders=policy.reminders,
        subject=item.title,
    )
    item.deadline_id = deadline.id


async def _alert_owner(
    session: AsyncSession, item: ScreeningItem, owner: Official, unit: Unit
) -> None:
    """Tell the owning leader of a high-risk dispute at once (risk_alert)."""
    await alert_official(
        session,
        owner,
        purpose="screening_risk",
        template="risk_alert",
        fields={
            "subject": item.title,
            "risk_name": RISK_NAMES[DisputeRisk.high],
            "unit_name": unit.name,
            "official_name": owner.name,
            "due_local": local_clock(item.due_at),
        },
        case_id=None,
        deadline_id=item.deadline_id,
    )
