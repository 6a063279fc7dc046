"""The desk's corrections to a registration (不错登, seed 002 第五篇): what the petitioners
said, written down again, with the reason and every change on the timeline.

Where the matter arose, when it was received and how many came decide more than what the
case says: a corrected receipt or origin moves the open deadlines counted from receipt, and a
corrected origin, headcount or receipt summons the officials a visit now requires and
withdraws the summonses it no longer does, as registration would have had it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.calendar.service import CALENDAR_UNKNOWN_YEAR
from api.cases.confidentiality import stand_in
from api.cases.repository import CaseRepository, OnsiteDutyRepository
from api.cases.schemas import CaseCorrection
from api.cases.search_tokens import tokens_of
from api.cases.service import (
    RECEIVED_AT_SKEW,
    Planned,
    Representative,
    _arrival_duties,
    _check_parties,
    _check_reach,
    _intake_plan,
    _resolve_territory,
    _skipped,
    _summon,
)
from api.categories.service import accepted_code, check_text
from api.deadlines import service as deadlines
from api.deadlines.repository import DeadlineRepository
from api.escalations import misses
from api.events.service import case_summary, emit
from api.kit.db import utcnow
from api.kit.errors import Conflict, InvalidInput, NotFound
from api.kit.i18n import Message
from api.models.case import DONE_STATUSES, Case, Channel, LodgedLevel
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.official import Role
from api.models.unit import Unit, UnitLevel
from api.policies.schemas import Policy
from api.policies.service import current_policy
from api.privacy.schemas import Petitioner
from api.privacy.service import Disclosure, seal, vault_of
from api.stats.counting import move_counted
from api.timeline.repository import CaseEventRepository
from api.units.repository import UnitRepository

# The registration's own words, corrected as they are.
TEXT_FIELDS = ("title", "content", "reasons", "demands", "category", "category_text")
# What every registration has: corrected, never emptied.
REQUIRED = (
    "title",
    "content",
    "category",
    "origin_unit_id",
    "received_at",
    "petitioners",
    "headcount",
)


@dataclass(frozen=True)
class _Where:
    """A registration's place, with the origin corrected (for `_resolve_territory`)."""

    origin_unit_id: uuid.UUID
    lodged_unit_id: uuid.UUID | None
    lodged_level: LodgedLevel | None


@dataclass(frozen=True)
class _Listed:
    """A stored petitioner, as far as counting representatives goes."""

    is_representative: bool


@dataclass(frozen=True)
class _Parties:
    """Who came and how many, as corrected (for `_check_parties`)."""

    petitioners: Sequence[Representative]
    headcount: int | None
    is_collective: bool | None = None


@dataclass(frozen=True)
class _Move:
    """An open deadline counted from receipt and where the corrected case puts it: its new
    unit and official only when `reassigned` (the corrected origin's)."""

    deadline: Deadline
    planned: Planned
    official_id: uuid.UUID | None
    reassigned: bool


async def correct(
    session: AsyncSession, case_id: uuid.UUID, body: CaseCorrection, principal: Principal
) -> Case:
    """Correct the registration of an open case: each changed field on the timeline with its
    value before and after, and the reason; deadlines and summonses follow the corrected
    origin, receipt and headcount. A closed, terminated or archived case is as it was closed
    (409); bad input changes nothing (422)."""
    case = await CaseRepository(session).get_in_reach(case_id, principal, for_update=True)
    if case is None:
        raise NotFound(Message("Case {case_id} does not exist.", case_id=case_id))
    if case.status in DONE_STATUSES:
        raise Conflict(Message("A closed case is not corrected."), current_status=case.status.value)
    given = body.model_dump(exclude_unset=True, exclude={"reason"})
    if not given:
        raise InvalidInput(Message("Give at least one field to correct."), pointer="/reason")
    for name in REQUIRED:
        if name in given and given[name] is None:
            raise InvalidInput(Message("{name} cannot be emptied.", name=name), pointer=f"/{name}")
    policy = (await current_policy(session, case.origin_unit_id)).policy
    now = utcnow()

    # Everything checked first: a refusal leaves the case as it was.
    if "category" in given and given["category"] != case.category:
        await accepted_code(session, given["category"], "/category")
    if "category" in given or "category_text" in given:
        check_text(
            given.get("category", case.category),
            given.get("category_text", case.category_text),
            "/category_text",
        )
    origin_chain, lodged_unit = await _territory(session, case, body, principal)
    received_at = _received(case, body, now)
    parties = (
        _check_parties(_parties(case, body), policy)
        if body.petitioners is not None or body.headcount is not None
        else None
    )

    changes: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name in given and given[name] != getattr(case, name):
            changes[name] = {"before": getattr(case, name), "after": given[name]}
            setattr(case, name, given[name])
    if "location" in given:
        location = body.location
        before = {"lat": case.lat, "lon": case.lon} if case.lat is not None else None
        after = {"lat": location.lat, "lon": location.lon} if location else None
        if before != after:
            changes["location"] = {"before": before, "after": after}
            case.lat, case.lon = (location.lat, location.lon) if location else (None, None)
    counted_where = (case.origin_unit_id, case.received_at)
    if origin_chain[0].id != case.origin_unit_id:
        changes["origin_unit_id"] = _change(case.origin_unit_id, origin_chain[0].id)
        case.origin_unit_id = origin_chain[0].id
        skip_level = _skipped(case.lodged_level, origin_chain, policy)
        if skip_level != case.skip_level:
            changes["skip_level"] = _change(case.skip_level, skip_level)
            case.skip_level = skip_level
    if received_at != case.received_at:
        changes["received_at"] = _change(case.received_at, received_at)
        case.received_at = received_at
    if body.petitioners is not None:
        _correct_petitioners(session, case, body.petitioners, changes)
    if parties is not None:
        headcount, collective = parties
        if headcount != case.headcount:
            changes["headcount"] = _change(case.headcount, headcount)
            case.headcount = headcount
        if collective != case.is_collective:
            changes["is_collective"] = _change(case.is_collective, collective)
            case.is_collective = collective
    if not changes:
        return case  # the same values: nothing to record

    # What follows from the corrected case: deadlines moved, summonses sent and withdrawn.
    moves: list[_Move] = []
    if {"origin_unit_id", "received_at"} & changes.keys():
        moves = await _intake_moves(session, case, policy)
    to_summon: set[tuple[uuid.UUID, str]] = set()
    summoned: set[tuple[uuid.UUID, str]] = set()
    withdrawn: list[Deadline] = []
    if case.channel is Channel.visit and {"origin_unit_id", "received_at", "headcount"} & (
        changes.keys()
    ):
        to_summon, summoned, withdrawn = await _summonses(
            session, case, origin_chain, lodged_unit, policy
        )

    duty_moved: dict[str, Any] | None = None
    if "origin_unit_id" in changes:
        duty_moved = await _move_onsite_duty(session, case, origin_chain)

    case.updated_at = now
    if {"title", "content", "demands", "petitioners"} & changes.keys():
        case.search_tokens = tokens_of(vault_of(session), case)
    CaseEventRepository(session).record(
        case.id,
        "corrected",
        actor_id=principal.id,
        client=principal.client,
        data={
            "reason": body.reason,
            "changes": changes,
            "deadlines_moved": [_moved(m) for m in moves],
            "summoned": [{"unit_id": str(u), "role": r} for u, r in sorted(to_summon)],
            "withdrawn": [
                {
                    "deadline_id": str(d.id),
                    "official_id": str(d.official_id) if d.official_id else None,
                    "unit_id": str(d.unit_id),
                    "role": d.role,
                }
                for d in withdrawn
            ],
            "onsite_duty": duty_moved,
        },
        at=now,
    )
    for move in moves:
        await _apply(session, case, move, policy, now)
    for deadline in withdrawn:
        # a summons already past due stays the miss it is (flagged, not escalated)
        await misses.settle(session, deadline.id, DeadlineStatus.cancelled, now, principal.id)
    if to_summon:
        await _summon(session, case, origin_chain, lodged_unit, policy, now, already=summoned)
    # last: the figures' row of the case is locked after its deadlines, as every change does
    await move_counted(session, case.id, counted_where, (case.origin_unit_id, case.received_at))
    await emit(
        session,
        "case.updated",
        {"case": case_summary(case), "action": "corrected", "before": case.status.value},
        unit_id=case.origin_unit_id,
        case_id=case.id,
    )
    await session.flush()
    return case


def _change(before: object, after: object) -> dict[str, Any]:
    """A change as the timeline keeps it: ids and times as text."""

    def text(value: object) -> object:
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value) if isinstance(value, uuid.UUID) else value

    return {"before": text(before), "after": text(after)}


async def _territory(
    session: AsyncSession, case: Case, body: CaseCorrection, principal: Principal
) -> tuple[list[Unit], Unit | None]:
    """The origin's ancestry (origin first) and the lodged unit, with the origin corrected
    when it is: checked as registration checks it, and in the case's county (its number is
    the county's)."""
    units = UnitRepository(session)
    lodged = await units.get(case.lodged_unit_id) if case.lodged_unit_id else None
    if body.origin_unit_id is None or body.origin_unit_id == case.origin_unit_id:
        return await units.ancestry(case.origin_unit_id), lodged
    where = _Where(body.origin_unit_id, case.lodged_unit_id, case.lodged_level)
    chain, lodged, _ = await _resolve_territory(session, where)
    if chain[-1].id != case.county_id:  # registration's chain ends at the county
        raise InvalidInput(
            Message("The origin is in another county than the case."), pointer="/origin_unit_id"
        )
    _check_reach(principal, chain, lodged)
    return chain, lodged


def _received(case: Case, body: CaseCorrection, now: datetime) -> datetime:
    """The corrected receipt: not in the future, nor after the case was registered."""
    if body.received_at is None:
        return case.received_at
    received_at = body.received_at.astimezone(UTC)
    if received_at > now + RECEIVED_AT_SKEW:
        raise InvalidInput(Message("received_at is in the future."), pointer="/received_at")
    if received_at > case.created_at + RECEIVED_AT_SKEW:
        raise InvalidInput(
            Message("received_at is after the case was registered."), pointer="/received_at"
        )
    return received_at


def _parties(case: Case, body: CaseCorrection) -> _Parties:
    """Who came and how many, with what the correction gives in place of what was stored."""
    listed: Sequence[Representative] = (
        body.petitioners
        if body.petitioners is not None
        else [_Listed(bool(p.get("is_representative", False))) for p in case.petitioners]
    )
    headcount = body.headcount if body.headcount is not None else case.headcount
    return _Parties(listed, headcount)


def _correct_petitioners(
    session: AsyncSession, case: Case, petitioners: list[Petitioner], changes: dict[str, Any]
) -> None:
    """Replace the petitioners when they differ from those stored (numbers compared in clear,
    stored sealed); the timeline shows both lists with their numbers masked, as a role that
    may not read personal data sees them."""
    vault = vault_of(session)
    stored = Disclosure(vault, reveal=True).petitioners(case.petitioners)
    if [p.model_dump() for p in stored] == [p.model_dump() for p in petitioners]:
        return
    sealed = [seal(vault, p) for p in petitioners]
    masked = Disclosure(vault, reveal=False)
    changes["petitioners"] = {
        "before": [p.model_dump() for p in masked.petitioners(case.petitioners)],
        "after": [p.model_dump() for p in masked.petitioners(sealed)],
    }
    case.petitioners = sealed


async def _intake_moves(session: AsyncSession, case: Case, policy: Policy) -> list[_Move]:
    """The open deadlines counted from receipt whose due time or unit the corrected case
    changes (met and missed ones stay as they were: history). The unit changes only with the
    origin (the closing report is the origin's chief's); whoever answers for it then is found
    as at registration, never an official the case complains about."""
    plan = {p.kind: p for p in await _intake_plan(session, case, policy)}
    moves: list[_Move] = []
    for deadline in await deadlines.open_of_case(session, case.id, tuple(plan)):
        planned = plan[deadline.kind]
        reassigned = planned.unit_id != deadline.unit_id
        official = planned.official if reassigned else None
        if official is not None and case.complains_about(official.id, official.unit_id):
            official = None
        official_id = official.id if official is not None else None
        if reassigned or (planned.due_at, case.received_at) != (
            deadline.due_at,
            deadline.starts_at,
        ):
            moves.append(_Move(deadline, planned, official_id, reassigned))
    return moves


def _moved(move: _Move) -> dict[str, Any]:
    """A moved deadline as the timeline tells it: its due time (and unit) before and after."""
    deadline, planned = move.deadline, move.planned
    told: dict[str, Any] = {
        "deadline_id": str(deadline.id),
        "kind": deadline.kind.value,
        "due_at": _change(deadline.due_at, planned.due_at),
    }
    if move.reassigned:
        told["unit_id"] = _change(deadline.unit_id, planned.unit_id)
        told["official_id"] = _change(
            str(deadline.official_id) if deadline.official_id else None,
            str(move.official_id) if move.official_id else None,
        )
    return told


async def _apply(
    session: AsyncSession, case: Case, move: _Move, policy: Policy, now: datetime
) -> None:
    """Move the deadline; one now past due is missed at once, as a backdated registration's
    is."""
    deadline, planned = move.deadline, move.planned
    if move.reassigned:
        deadline.unit_id = planned.unit_id
        deadline.official_id = move.official_id
        deadline.role = (
            planned.official.role.value
            if planned.official is not None and move.official_id is not None
            else "unit"
        )
        if planned.official is not None and move.official_id is None:
            deadline.flags = [*deadline.flags, "complained_about"]
    if planned.kind is DeadlineKind.owner_leader:  # the calendar's flags of the new count
        kept = [f for f in deadline.flags if f != CALENDAR_UNKNOWN_YEAR]
        deadline.flags = [*kept, *planned.flags]
    deadlines.move(
        session,
        deadline,
        starts_at=case.received_at,
        due_at=planned.due_at,
        reminders=policy.reminders,
    )
    if planned.due_at <= now:
        await session.flush()
        await misses.flag_missed(session, deadline, now)


async def _summonses(
    session: AsyncSession,
    case: Case,
    origin_chain: list[Unit],
    lodged_unit: Unit | None,
    policy: Policy,
) -> tuple[set[tuple[uuid.UUID, str]], set[tuple[uuid.UUID, str]], list[Deadline]]:
    """For a visit as corrected: the posts (unit, role) the policy now requires and nobody
    summoned (a withdrawn summons does not count), the posts summoned before, and the open
    summonses of posts no longer required."""
    required = {
        (unit.id, role.value)
        for unit, role, _ in _arrival_duties(case, origin_chain, lodged_unit, policy)
    }
    arrivals = [
        d
        for d in await DeadlineRepository(session).for_case(case.id)
        if d.kind is DeadlineKind.arrival
    ]
    summoned = {(d.unit_id, d.role) for d in arrivals if d.status is not DeadlineStatus.cancelled}
    withdrawn = [
        d
        for d in arrivals
        if d.status is DeadlineStatus.open and (d.unit_id, d.role) not in required
    ]
    return required - summoned, summoned, withdrawn


async def _move_onsite_duty(
    session: AsyncSession, case: Case, origin_chain: list[Unit]
) -> dict[str, Any] | None:
    """An unsettled on-site reception duty (赴现场接待) follows the corrected origin: it is the
    new origin's town's, and so is its open settlement deadline (its chief's, or whoever
    stands in). Its goers follow with the summonses."""
    duty = await OnsiteDutyRepository(session).for_case(case.id)
    town = next((u for u in origin_chain if u.level is UnitLevel.town), origin_chain[0])
    if duty is None or duty.settled_at is not None or duty.unit_id == town.id:
        return None
    moved = {"duty_id": str(duty.id), "unit_id": _change(duty.unit_id, town.id)}
    duty.unit_id = town.id
    chief = await stand_in(
        session, case, await UnitRepository(session).ancestry(town.id), Role.chief
    )
    for deadline in await deadlines.open_of_case(
        session, case.id, (DeadlineKind.onsite_settlement,)
    ):
        deadline.unit_id = town.id
        deadline.official_id = chief.id if chief else None
        deadline.role = chief.role.value if chief else "unit"
    return moved
