"""Registering petitions, summoning officials to the scene, and checking in."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, time, timedelta
from itertools import takewhile
from typing import NamedTuple, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.service import alert_official, prefetch_rate_counts
from api.auth.permissions import Permission
from api.auth.principal import Principal
from api.calendar.service import due_after_days, due_after_working_days
from api.cases.confidentiality import check_named, stand_in
from api.cases.repository import ArrivalRepository, CaseRepository, OnsiteDutyRepository
from api.cases.schemas import ArrivalCreate, ArrivalRead, CaseCreate, CaseEventRead, FollowUpRead
from api.cases.search_tokens import case_tokens
from api.cases.steps import K, Step, named_official, staff_of
from api.categories.service import accepted_code, check_text
from api.deadlines import service as deadlines
from api.deadlines.repository import DeadlineRepository
from api.escalations import misses
from api.escalations.service import stop_for_deadline
from api.events.service import case_summary, emit
from api.follow_ups.repository import FollowUpRepository
from api.higher_offices.service import named_office
from api.kit.db import utcnow
from api.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.metrics import CASES_REGISTERED, count_after_commit
from api.kit.timeutil import CHINA, add_months, end_of_local_day, local, local_clock, within_text
from api.models.case import Arrival, Case, CaseSource, CaseStatus, Channel, LodgedLevel
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.official import Official, Role
from api.models.onsite import OnsiteDuty
from api.models.unit import Unit, UnitLevel, county_in
from api.officials.repository import OfficialRepository
from api.policies.schemas import Policy
from api.policies.service import current_policy
from api.policies.templates import LEVEL_NAMES
from api.privacy.secrets import issue_secret
from api.privacy.service import disclosure, identities, seal, vault_of
from api.sensitive.service import arrival_policy_at
from api.timeline.changes import mark_new
from api.timeline.repository import CaseEventRepository
from api.units.repository import UnitRepository

# Clock skew we tolerate on a client's `received_at` before calling it "in the future".
RECEIVED_AT_SKEW = timedelta(minutes=5)
NUMBER_PREFIX = "XF"
# Units whose chief must come when their people petition above them (管理区、村(居)一把手).
GRASSROOTS = (UnitLevel.village, UnitLevel.area)


def _lodged_level_of(unit: Unit, ancestry: list[Unit]) -> LodgedLevel:
    if unit.level is UnitLevel.department:
        parent = ancestry[1] if len(ancestry) > 1 else None
        return LodgedLevel(parent.level.value) if parent else LodgedLevel.county
    return LodgedLevel(unit.level.value)


class Where(Protocol):
    """Where a petition arose and was lodged: a registration, or a correction of one."""

    @property
    def origin_unit_id(self) -> uuid.UUID: ...
    @property
    def lodged_unit_id(self) -> uuid.UUID | None: ...
    @property
    def lodged_level(self) -> LodgedLevel | None: ...


class Representative(Protocol):
    """A petitioner as far as counting the representatives goes."""

    @property
    def is_representative(self) -> bool: ...


class Parties(Protocol):
    """Who came and how many: a registration, or a correction of one."""

    @property
    def petitioners(self) -> Sequence[Representative]: ...
    @property
    def headcount(self) -> int | None: ...
    @property
    def is_collective(self) -> bool | None: ...


async def _resolve_territory(
    session: AsyncSession, data: Where
) -> tuple[list[Unit], Unit | None, LodgedLevel]:
    """Origin ancestry (origin first, county last), the lodged unit and the lodged level."""
    units = UnitRepository(session)
    named = [data.origin_unit_id, *([data.lodged_unit_id] if data.lodged_unit_id else [])]
    await units.prefetch_ancestry(named)  # both chains in one query
    origin_chain = await units.ancestry(data.origin_unit_id)
    if not origin_chain:
        raise InvalidInput(
            Message("Unit {origin_unit_id} does not exist.", origin_unit_id=data.origin_unit_id),
            pointer="/origin_unit_id",
        )
    if origin_chain[0].level is UnitLevel.department:
        raise InvalidInput(
            Message("The origin must be a territorial unit, not a department."),
            pointer="/origin_unit_id",
        )
    county = county_in(origin_chain)
    if county is None:
        raise InvalidInput(
            Message("The origin unit is not inside a county."), pointer="/origin_unit_id"
        )
    # A case is the county's: the levels above it (市, 省) take no part in its chain.
    above_county = {u.id for u in origin_chain[origin_chain.index(county) + 1 :]}
    origin_chain = origin_chain[: origin_chain.index(county) + 1]

    if data.lodged_unit_id is None:
        if data.lodged_level is None:
            raise InvalidInput(
                Message("Give lodged_unit_id or lodged_level: where the petitioners went."),
                pointer="/lodged_level",
            )
        return origin_chain, None, data.lodged_level

    lodged_chain = await units.ancestry(data.lodged_unit_id)
    if not lodged_chain:
        raise InvalidInput(
            Message("Unit {lodged_unit_id} does not exist.", lodged_unit_id=data.lodged_unit_id),
            pointer="/lodged_unit_id",
        )
    lodged_county = county_in(lodged_chain)
    # lodged with the county's own city or province bureau (越级访 to a unit of this tree)
    lodged_above = lodged_chain[0].id in above_county
    if not lodged_above and (lodged_county is None or lodged_county.id != county.id):
        raise InvalidInput(
            Message("The lodged unit is in another county than the origin."),
            pointer="/lodged_unit_id",
        )
    level = _lodged_level_of(lodged_chain[0], lodged_chain)
    if data.lodged_level is not None and data.lodged_level is not level:
        raise InvalidInput(
            Message(
                "lodged_level {lodged_level} contradicts the lodged unit ({level}).",
                lodged_level=data.lodged_level.value,
                level=level.value,
            ),
            pointer="/lodged_level",
        )
    return origin_chain, lodged_chain[0], level


def _check_reach(principal: Principal, origin_chain: list[Unit], lodged_unit: Unit | None) -> None:
    """The origin or the place lodged must be in the caller's territory (422)."""
    if not (
        principal.reaches(origin_chain[0].id)
        or (lodged_unit is not None and principal.reaches(lodged_unit.id))
    ):
        raise InvalidInput(
            Message("Neither the origin nor the place lodged is in your territory."),
            pointer="/origin_unit_id",
        )


def _skipped(level: LodgedLevel, origin_chain: list[Unit], policy: Policy) -> bool:
    """Whether a petition lodged at `level` skips a level (越级访) under the policy: at the
    county only when it went past its town (the origin lies under one)."""
    if level not in policy.intake.skip_levels:
        return False
    if level is LodgedLevel.county:
        return any(u.level is UnitLevel.town for u in origin_chain[1:])
    return True


async def _instructing_leader(
    session: AsyncSession, data: CaseCreate, principal: Principal
) -> None:
    """A leader's instruction names a chief or deputy the caller may look up, and its words."""
    if data.instructed_by is None:
        raise InvalidInput(Message("Name the leader who instructed it."), pointer="/instructed_by")
    if data.instruction is None:
        raise InvalidInput(Message("Give the instruction's words."), pointer="/instruction")
    leader = await named_official(session, data.instructed_by, "/instructed_by", principal)
    if leader.role not in (Role.chief, Role.deputy):
        raise InvalidInput(
            Message("An instruction is a chief's or deputy's."), pointer="/instructed_by"
        )


async def _check_source(session: AsyncSession, data: CaseCreate, principal: Principal) -> None:
    """A case handed down names its office and the office's reference number, once per
    office and number (409 for a second registration); a leader's instruction names the
    leader and the words; an own intake names none of these."""
    higher = {
        "higher_office_id": data.higher_office_id,
        "higher_reference": data.higher_reference,
        "higher_due_at": data.higher_due_at,
    }
    instructed = {"instructed_by": data.instructed_by, "instruction": data.instruction}
    if data.source is not CaseSource.leader_instruction:
        given = next((name for name, value in instructed.items() if value is not None), None)
        if given is not None:
            raise InvalidInput(
                Message(
                    "Only a case from a leader's instruction names the leader and the "
                    "instruction (later ones: the `instruct` action)."
                ),
                pointer=f"/{given}",
            )
    if data.source in (CaseSource.own, CaseSource.leader_instruction):
        given = next((name for name, value in higher.items() if value is not None), None)
        if given is not None:
            raise InvalidInput(
                Message("Only a case transferred or assigned by a higher office names one."),
                pointer=f"/{given}",
            )
        if data.wants_result:
            raise InvalidInput(
                Message("Only a case handed down by a higher office wants its result back."),
                pointer="/wants_result",
            )
        if data.source is CaseSource.leader_instruction:
            await _instructing_leader(session, data, principal)
        return
    if data.higher_office_id is None:
        raise InvalidInput(
            Message("Name the higher office that handed it down."), pointer="/higher_office_id"
        )
    if data.higher_reference is None:
        raise InvalidInput(
            Message("Give the office's reference number."), pointer="/higher_reference"
        )
    await named_office(session, data.higher_office_id, "/higher_office_id")
    if await CaseRepository(session).by_reference(data.higher_office_id, data.higher_reference):
        raise Conflict(
            Message(
                "The office's {higher_reference!r} is registered already: one case per "
                "reference number.",
                higher_reference=data.higher_reference,
            )
        )


def _check_parties(data: Parties, policy: Policy) -> tuple[int, bool]:
    representatives = sum(p.is_representative for p in data.petitioners)
    if representatives > policy.max_representatives:
        raise InvalidInput(
            Message(
                "At most {max_representatives} representatives may speak for a visit "
                "({representatives} given).",
                max_representatives=policy.max_representatives,
                representatives=representatives,
            ),
            pointer="/petitioners",
        )
    headcount = data.headcount if data.headcount is not None else len(data.petitioners)
    if headcount < len(data.petitioners):
        raise InvalidInput(
            Message("headcount is lower than the number of petitioners listed."),
            pointer="/headcount",
        )
    collective = headcount >= policy.collective_headcount
    if data.is_collective is not None and data.is_collective != collective:
        raise InvalidInput(
            Message(
                "is_collective={is_collective} contradicts headcount {headcount} "
                "(collective from {collective_headcount}).",
                is_collective=data.is_collective,
                headcount=headcount,
                collective_headcount=policy.collective_headcount,
            ),
            pointer="/is_collective",
        )
    return headcount, collective


class Registered(NamedTuple):
    """A registered case, the deadlines its registration opened, and the petitioner's lookup
    secret when one was asked for (only its keyed hash is kept)."""

    case: Case
    opened: list[Deadline]
    lookup_secret: str | None


async def register_case(
    session: AsyncSession, data: CaseCreate, principal: Principal, *, lookup_secret: bool = False
) -> Registered:
    """Register a petition: number it, and for a visit above its origin summon the officials.
    With `lookup_secret` the case is given the petitioner's lookup secret in the same INSERT
    (an UPDATE after it was a statement of every registration, issue 22)."""
    origin_chain, lodged_unit, lodged_level = await _resolve_territory(session, data)
    policy = (await current_policy(session, origin_chain[0].id)).policy
    _check_reach(principal, origin_chain, lodged_unit)
    headcount, collective = _check_parties(data, policy)
    await accepted_code(session, data.category, "/category")
    check_text(data.category, data.category_text, "/category_text")
    await _check_source(session, data, principal)
    await check_named(
        session,
        principal,
        data.complained_official_ids,
        data.complained_unit_ids,
        data.confidential_readers,
    )
    now = utcnow()
    received_at = data.received_at.astimezone(UTC) if data.received_at else now
    if received_at > now + RECEIVED_AT_SKEW:
        raise InvalidInput(Message("received_at is in the future."), pointer="/received_at")

    county = origin_chain[-1]
    repo = CaseRepository(session)
    vault = vault_of(session)
    day_start = datetime.combine(local(received_at).date(), time(), tzinfo=CHINA)
    repeat_of_id, duplicate_of_id = await repo.related_on_intake(
        county_id=county.id,
        origin_unit_id=origin_chain[0].id,
        category=data.category,
        identities=identities(vault, data.petitioners),
        since=received_at - policy.intake.repeat_window,
        day_start=day_start,
        day_end=day_start + timedelta(days=1),
        grid=data.channel is not Channel.grid,
    )
    year = local(now).year
    seq = await repo.next_number(county.id, year)
    number = f"{NUMBER_PREFIX}-{year}-{seq:06d}"
    petitioners = [seal(vault, p) for p in data.petitioners]
    case = Case(
        id=uuid.uuid4(),
        number=number,
        county_id=county.id,
        channel=data.channel,
        status=CaseStatus.registered,
        origin_unit_id=origin_chain[0].id,
        lodged_unit_id=lodged_unit.id if lodged_unit else None,
        lodged_level=lodged_level,
        petitioners=petitioners,
        headcount=headcount,
        is_collective=collective,
        category=data.category,
        category_text=data.category_text,
        title=data.title,
        content=data.content,
        reasons=data.reasons,
        demands=data.demands,
        lat=data.location.lat if data.location else None,
        lon=data.location.lon if data.location else None,
        received_at=received_at,
        registered_by=principal.id,
        intake_unit_id=(lodged_unit.id if lodged_unit else principal.unit_id or origin_chain[0].id),
        repeat_of_id=repeat_of_id,
        possible_duplicate_of_id=duplicate_of_id,
        skip_level=_skipped(lodged_level, origin_chain, policy),
        source=data.source,
        higher_office_id=data.higher_office_id,
        higher_reference=data.higher_reference,
        higher_due_at=data.higher_due_at.astimezone(UTC) if data.higher_due_at else None,
        wants_result=data.wants_result,
        instructed_by=data.instructed_by,
        instructed_at=received_at if data.instructed_by else None,
        instruction=data.instruction,
        complained_official_ids=list(data.complained_official_ids),
        complained_unit_ids=list(data.complained_unit_ids),
        confidential=data.confidential,
        confidential_readers=list(data.confidential_readers),
        # one more column of the same INSERT: found by search from its first moment
        search_tokens=case_tokens(
            vault,
            title=data.title,
            content=data.content,
            demands=data.demands,
            number=number,
            higher_reference=data.higher_reference,
            petitioners=petitioners,
        ),
        created_at=now,
        updated_at=now,
    )
    secret = await issue_secret(session, case) if lookup_secret else None
    repo.add(case)
    mark_new(session, case)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same transfer registered at the same moment
        if "uq_cases_higher_office_reference" not in str(exc.orig):
            raise
        raise Conflict(
            Message(
                "The office's {higher_reference!r} is registered already: one case per "
                "reference number.",
                higher_reference=data.higher_reference,
            )
        ) from exc
    CaseEventRepository(session).record(
        case.id,
        "registered",
        actor_id=principal.id,
        client=principal.client,
        data={
            "number": case.number,
            "channel": case.channel.value,
            "headcount": headcount,
            "repeat_of": str(case.repeat_of_id) if case.repeat_of_id else None,
            "possible_duplicate_of": (
                str(case.possible_duplicate_of_id) if case.possible_duplicate_of_id else None
            ),
        },
        at=now,
    )
    opened: list[Deadline] = []
    if data.channel is Channel.visit:
        opened = await _summon(session, case, origin_chain, lodged_unit, policy, now)
        if case.lodged_level in policy.deadlines.onsite_levels:
            opened.append(
                await _open_onsite_duty(session, case, origin_chain, principal, policy, now)
            )
    opened += await _open_intake_deadlines(session, case, principal, policy, now)
    await emit(
        session,
        "case.created",
        {"case": case_summary(case)},
        unit_id=case.origin_unit_id,
        case_id=case.id,
    )
    count_after_commit(session, CASES_REGISTERED.labels(channel=case.channel.value).inc)
    return Registered(case, opened, secret)


class Planned(NamedTuple):
    """A deadline counted from receipt, as the case's registration sets it."""

    kind: DeadlineKind
    official: Official | None
    unit_id: uuid.UUID
    due_at: datetime
    flags: list[str]


async def _intake_plan(session: AsyncSession, case: Case, policy: Policy) -> list[Planned]:
    """Deadlines counted from receipt: disposition, acceptance notice, the owner leader, and
    the closing report of a case taken to Beijing or wanting its result."""
    desk = await staff_of(session, case.intake_unit_id)
    d = policy.deadlines
    start = case.received_at
    plan = [
        Planned(
            K.disposition,
            desk,
            case.intake_unit_id,
            due_after_days(start, d.disposition_days),
            [],
        ),
        Planned(
            K.acceptance_notice,
            desk,
            case.intake_unit_id,
            due_after_days(start, d.acceptance_notice_days),
            [],
        ),
    ]
    # 逐件落实领导包案 (seed 001 第二篇 (四).3, (八).4): cases wanting results, leaders'
    # cases (批示、接访) and those taken to the levels of the policy
    if (
        case.lodged_level in d.owner_leader_levels
        or case.wants_result
        or case.instructed_by is not None
    ):
        due, flags = await due_after_working_days(session, start, d.owner_leader_working_days)
        plan.append(Planned(K.owner_leader, desk, case.intake_unit_id, due, flags))
    if case.lodged_level is LodgedLevel.national or case.wants_result:
        # the closing report (结案报告): by the office's date, else within the policy's months
        # (seed 001 第二篇 (八).5: 进京访 … 一个月内件件上报结案报告)
        report_by = case.higher_due_at or end_of_local_day(
            add_months(local(start).date(), d.national_report_months)
        )
        chief = await stand_in(
            session, case, await UnitRepository(session).ancestry(case.origin_unit_id), Role.chief
        )
        plan.append(Planned(K.national_report, chief, case.origin_unit_id, report_by, []))
    return plan


async def _open_intake_deadlines(
    session: AsyncSession, case: Case, principal: Principal, policy: Policy, now: datetime
) -> list[Deadline]:
    """Open the deadlines counted from receipt (`_intake_plan`). A backdated receipt may make
    them missed at once."""
    step = Step(session, case, principal, policy, now)
    return [
        await step.open(p.kind, p.official, p.unit_id, p.due_at, p.flags, case.received_at)
        for p in await _intake_plan(session, case, policy)
    ]


async def _open_onsite_duty(
    session: AsyncSession,
    case: Case,
    origin_chain: list[Unit],
    principal: Principal,
    policy: Policy,
    now: datetime,
) -> Deadline:
    """赴现场接待: a visit lodged at the province or in Beijing. Who must go and report reaching
    the petitioners and receiving them are its arrival deadlines (`arrival.concerned`); the
    duty adds the settlement at home (事要解决: assigned with an owner leader), owed by the
    chief of the unit concerned. Nothing here follows the petitioners."""
    town = next((u for u in origin_chain if u.level is UnitLevel.town), origin_chain[0])
    step = Step(session, case, principal, policy, now)
    chief = await stand_in(
        session, case, await UnitRepository(session).ancestry(town.id), Role.chief
    )
    due, flags = await step.working_days(now, policy.deadlines.onsite_settle_working_days)
    settle = await step.open(K.onsite_settlement, chief, town.id, due, flags=flags)
    await session.flush()  # the duty refers to the settlement deadline
    duty = OnsiteDuty(
        id=uuid.uuid4(),
        case_id=case.id,
        level=case.lodged_level,
        unit_id=town.id,
        opened_at=now,
        settle_deadline_id=settle.id,
    )
    OnsiteDutyRepository(session).add(duty)
    CaseEventRepository(session).record(
        case.id,
        "onsite_duty_opened",
        actor_id=principal.id,
        client=principal.client,
        data={
            "duty_id": str(duty.id),
            "level": case.lodged_level.value,
            "unit_id": str(town.id),
            "settle_due_at": due.isoformat(),
        },
        at=now,
    )
    return settle


def _arrival_duties(
    case: Case, origin_chain: list[Unit], lodged_unit: Unit | None, policy: Policy
) -> list[tuple[Unit, Role, timedelta]]:
    """Who must come to the scene, from which unit, within how long (SPEC §4 arrival; seed
    000 rule 3; seed 001 第二篇 (二), (七), (八)).

    At the town and the county the chiefs of the villages and areas between (`arrival.chief`,
    20 minutes); at the town, for a large visit, the town's own deputy and chief; at the
    county and above, the unit the matter concerns (`arrival.concerned`: the origin's town and
    its area), never the office where the petitioners went."""
    arrival = arrival_policy_at(policy, case.received_at)
    duties: list[tuple[Unit, Role, timedelta]] = []
    if lodged_unit is not None:
        below = list(takewhile(lambda u: u.id != lodged_unit.id, origin_chain))
        if len(below) == len(origin_chain):
            return []  # the lodged unit is not above the origin: nobody is summoned
        duties += [(u, Role.chief, arrival.chief) for u in below if u.level in GRASSROOTS]
        if not duties and below:
            duties.append((below[0], Role.chief, arrival.chief))
    concerned = arrival.concerned.get(case.lodged_level)
    if concerned is None:
        if lodged_unit is not None:  # at the town: its own leaders for a large visit
            if case.headcount >= arrival.deputy_headcount:
                duties.append((lodged_unit, Role.deputy, arrival.leader))
            if case.headcount >= arrival.leader_headcount:
                duties.append((lodged_unit, Role.chief, arrival.leader))
    else:
        town = next((u for u in origin_chain if u.level is UnitLevel.town), origin_chain[0])
        area = next((u for u in origin_chain if u.level is UnitLevel.area), None)
        within = concerned.within
        if concerned.staff:
            duties.append((town, Role.petition_staff, within))
        if concerned.area_chief and area is not None:
            duties.append((area, Role.chief, within))
        if concerned.deputy_from is not None and case.headcount >= concerned.deputy_from:
            duties.append((town, Role.deputy, within))
        if concerned.chief_from is not None and case.headcount >= concerned.chief_from:
            duties.append((town, Role.chief, within))
    shortest: dict[tuple[uuid.UUID, Role], tuple[Unit, Role, timedelta]] = {}
    for unit, role, span in duties:  # one summons per post: the shortest time
        kept = shortest.get((unit.id, role))
        if kept is None or span < kept[2]:
            shortest[(unit.id, role)] = (unit, role, span)
    return list(shortest.values())


async def _summon(
    session: AsyncSession,
    case: Case,
    origin_chain: list[Unit],
    lodged_unit: Unit | None,
    policy: Policy,
    now: datetime,
    *,
    already: Collection[tuple[uuid.UUID, str]] = (),
) -> list[Deadline]:
    """Open an ArrivalDeadline per duty and send each official the summons (到位通知) now;
    none for a post (unit, role) in `already` (summoned before)."""
    officials = OfficialRepository(session)
    events = CaseEventRepository(session)
    lodged = (lodged_unit.name if lodged_unit else "") or LEVEL_NAMES.get(
        case.lodged_level.value, ""
    )
    opened: list[Deadline] = []
    units = UnitRepository(session)
    duties: list[tuple[Unit, Role, timedelta, Official | None]] = []
    for unit, role, span in _arrival_duties(case, origin_chain, lodged_unit, policy):
        if (unit.id, role.value) in already:
            continue
        official = (
            await officials.holder_of(unit.id, role)
            if not case.complained_official_ids and not case.complained_unit_ids
            else await stand_in(session, case, await units.ancestry(unit.id), role)
        )
        duties.append((unit, role, span, official))
    # the rate limit's and the SMS cap's counts of every official summoned, in one query
    await prefetch_rate_counts(session, [o for *_, o in duties if o is not None])
    for unit, role, span, official in duties:
        deadline = deadlines.open_deadline(
            session,
            case_id=case.id,
            kind=DeadlineKind.arrival,
            role=role.value,
            official_id=official.id if official else None,
            unit_id=unit.id,
            starts_at=now,
            due_at=now + span,
            flags=[] if official else ["post_vacant"],
            reminders=policy.reminders,
        )
        opened.append(deadline)
        await session.flush()
        events.record(
            case.id,
            "summoned",
            data={
                "deadline_id": str(deadline.id),
                "official_id": str(official.id) if official else None,
                "unit_id": str(unit.id),
                "role": role.value,
                "due_at": deadline.due_at.isoformat(),
            },
            at=now,
        )
        if official is not None:
            await _send_summons(session, case, deadline, official, lodged, span, policy)
    return opened


async def _send_summons(
    session: AsyncSession,
    case: Case,
    deadline: Deadline,
    official: Official,
    lodged: str,
    span: timedelta,
    policy: Policy,
) -> None:
    await alert_official(
        session,
        official,
        purpose="summons",
        template="summons",
        fields={
            "case_number": case.number,
            "headcount": case.headcount,
            "lodged": lodged,
            "title": case.alert_title(),
            "due_local": local_clock(deadline.due_at),
            "within": within_text(span),
            "official_name": official.name,
        },
        case_id=case.id,
        deadline_id=deadline.id,
    )


async def readable_in_full(session: AsyncSession, case_id: uuid.UUID, principal: Principal) -> Case:
    """The case, when the caller may read its content: 404 outside their reach (or about
    them), 403 for a confidential case they may only see exists."""
    case = await CaseRepository(session).get_in_reach(case_id, principal)
    if case is None:
        raise NotFound(Message("Case {case_id} does not exist.", case_id=case_id))
    if not disclosure(session, principal).reads_content(case):
        raise Forbidden(
            Message(
                "The case is confidential (保密): its content is for petition staff and "
                "the leaders named on it."
            )
        )
    return case


async def timeline(
    session: AsyncSession, case_id: uuid.UUID, principal: Principal
) -> list[CaseEventRead]:
    """The case's events, oldest first; a confidential case's only for those who read it."""
    await readable_in_full(session, case_id, principal)
    events = await CaseEventRepository(session).for_case(case_id)
    return [CaseEventRead.model_validate(e, from_attributes=True) for e in events]


async def record_arrival(
    session: AsyncSession, case_id: uuid.UUID, data: ArrivalCreate, principal: Principal
) -> ArrivalRead:
    """Check an official in at the scene: meets their open arrival deadline if in time.

    A late arrival leaves the deadline missed but stops its escalation chain.
    """
    case = await CaseRepository(session).get_in_reach(case_id, principal)
    if case is None:
        raise NotFound(Message("Case {case_id} does not exist.", case_id=case_id))
    if case.status is CaseStatus.archived:
        raise Conflict(
            Message("The case is archived and read-only."), current_status=case.status.value
        )
    official_id = data.official_id or principal.id
    if official_id != principal.id and not principal.can(Permission.record_others_arrival):
        raise Forbidden(
            Message("Only petition staff and leaders may record someone else's arrival.")
        )
    await named_official(session, official_id, "/official_id", principal)

    now = utcnow()
    settled: list[Deadline] = []
    on_time: bool | None = None
    for deadline in await DeadlineRepository(session).open_arrivals_of(case.id, official_id):
        if deadline.status is DeadlineStatus.open:
            if now <= deadline.due_at:
                deadlines.meet(session, deadline, now, principal.id)
                on_time = True if on_time is None else on_time
            else:  # late, before the worker flagged it: a miss, but nobody left to chase
                await misses.flag_missed(session, deadline, now, escalate=False)
                on_time = False
            settled.append(deadline)
        elif deadline.status is DeadlineStatus.missed:
            await stop_for_deadline(session, deadline.id, official_id)
            on_time = False
            settled.append(deadline)

    arrival = Arrival(
        id=uuid.uuid4(),
        case_id=case.id,
        official_id=official_id,
        arrived_at=now,
        lat=data.location.lat if data.location else None,
        lon=data.location.lon if data.location else None,
        recorded_by=principal.id,
    )
    ArrivalRepository(session).add(arrival)
    CaseEventRepository(session).record(
        case.id,
        "arrival_recorded",
        actor_id=principal.id,
        client=principal.client,
        data={
            "official_id": str(official_id),
            "on_time": on_time,
            "deadline_ids": [str(d.id) for d in settled],
        },
        at=now,
    )
    case.updated_at = now
    await emit(
        session,
        "arrival.recorded",
        {
            "case": case_summary(case),
            "official_id": str(official_id),
            "arrived_at": now.isoformat(),
            "on_time": on_time,
        },
        unit_id=case.origin_unit_id,
        case_id=case.id,
    )
    await session.flush()
    return ArrivalRead(
        id=arrival.id,
        case_id=case.id,
        official_id=official_id,
        arrived_at=now,
        location=data.location,
        on_time=on_time,
        deadlines=[deadlines.to_read(d) for d in settled],
    )


async def follow_ups(
    session: AsyncSession, case_id: uuid.UUID, principal: Principal
) -> list[FollowUpRead]:
    """The case's calls back to the petitioner, or 404 (also outside the territory); a
    confidential case's only for those who read it."""
    await readable_in_full(session, case_id, principal)
    calls = await FollowUpRepository(session).of_case(case_id)
    return [FollowUpRead.model_validate(c, from_attributes=True) for c in calls]
