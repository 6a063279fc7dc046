"""The rule engine of the scores, without the database: occurrences of a rule's event, each
charged to the units that answer for it, turned into deductions per unit with the rule's cap
applied in the order they happened."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from api.assessment.repository import DeadlineFact, ReturnFact, ScreeningFact, Visit
from api.assessment.schemas import Deduction, Fact, FactType
from api.models.deadline import DeadlineStatus
from api.models.unit import Unit, UnitLevel
from api.policies.scoring import ScoreRule

# Points below this are float noise (0.1 + 0.2 …), not points left under a cap.
EPSILON = 1e-9


@dataclass
class Occurrence:
    """One occurrence of a rule's event, the units charged with it and the facts behind it."""

    rule: ScoreRule
    units: list[Unit]
    at: datetime
    facts: list[Fact]
    case_id: uuid.UUID | None = None
    case_number: str | None = None
    deadline_ids: list[uuid.UUID] = field(default_factory=list)


def deadline_status(fact: DeadlineFact) -> str:
    """A deadline's outcome as a fact shows it: met after it fell due is `late`."""
    if fact.status is DeadlineStatus.met and fact.closed_at and fact.closed_at > fact.due_at:
        return "late"
    return fact.status.value


def of_deadline(fact: DeadlineFact) -> Fact:
    """The fact of a deadline."""
    return Fact(
        type=FactType.deadline,
        id=fact.id,
        kind=fact.kind.value,
        status=deadline_status(fact),
        role=fact.role,
        unit_id=fact.unit_id,
        at=fact.due_at,
        closed_at=fact.closed_at,
        case_id=fact.case_id,
        case_number=fact.case.number if fact.case else None,
    )


def of_visit(visit: Visit) -> Fact:
    """The fact of a collective visit."""
    return Fact(
        type=FactType.case,
        id=visit.id,
        kind=visit.lodged_level.value,
        unit_id=visit.origin_unit_id,
        at=visit.received_at,
        case_id=visit.id,
        case_number=visit.number,
    )


def of_return(fact: ReturnFact) -> Fact:
    """The fact of an answer sent back for re-handling."""
    return Fact(
        type=FactType.case_event,
        id=fact.id,
        kind="return_for_rehandling",
        unit_id=fact.unit_id,
        at=fact.at,
        case_id=fact.case_id,
        case_number=fact.case.number,
    )


def of_screening(fact: ScreeningFact, part: str) -> Fact:
    """The fact of a screened dispute lacking `part` (plan or measures)."""
    return Fact(
        type=FactType.screening_item, id=fact.id, kind=part, unit_id=fact.unit_id, at=fact.at
    )


def of_roster_day(unit_id: uuid.UUID, at: datetime) -> Fact:
    """The fact of a reception day with no duty leader on the roster."""
    return Fact(type=FactType.roster_day, id=None, kind="roster_day", unit_id=unit_id, at=at)


def _deduction(occurrence: Occurrence, table: str, points: float, capped: bool) -> Deduction:
    rule = occurrence.rule
    return Deduction(
        rule=rule.key,
        event=rule.event,
        table=table,
        section=rule.section,
        points=round(points, 6),
        capped=capped,
        description=rule.description,
        at=occurrence.at,
        case_id=occurrence.case_id,
        case_number=occurrence.case_number,
        deadline_ids=list(occurrence.deadline_ids),
        facts=list(occurrence.facts),
    )


def _fold(into: Deduction, occurrence: Occurrence) -> None:
    """Add an occurrence past the cap to the one deduction that stands for all of them."""
    into.occurrences += 1
    into.facts.extend(occurrence.facts)
    into.deadline_ids.extend(occurrence.deadline_ids)
    if into.case_id != occurrence.case_id:
        into.case_id, into.case_number = None, None


def settle(
    occurrences: Iterable[Occurrence], table: str, levels: Collection[UnitLevel]
) -> dict[uuid.UUID, list[Deduction]]:
    """Deductions per unit (of the scored `levels`): each occurrence its rule's points, in
    the order they happened, until the rule's cap for that unit is spent; the occurrences
    after that are one deduction of 0 points listing their facts."""
    charged: dict[tuple[uuid.UUID, str], list[Occurrence]] = defaultdict(list)
    for occurrence in occurrences:
        for unit in occurrence.units:
            if unit.level in levels:
                charged[(unit.id, occurrence.rule.key)].append(occurrence)
    found: dict[uuid.UUID, list[Deduction]] = defaultdict(list)
    for (unit_id, _), items in charged.items():
        items.sort(key=lambda o: o.at)
        rule = items[0].rule
        taken = 0.0
        overflow: Deduction | None = None
        for occurrence in items:
            if rule.cap is None:
                found[unit_id].append(_deduction(occurrence, table, rule.points, False))
                continue
            left = rule.cap - taken
            if left <= EPSILON and rule.points > 0:
                if overflow is None:
                    overflow = _deduction(occurrence, table, 0.0, True)
                    found[unit_id].append(overflow)
                else:
                    _fold(overflow, occurrence)
                continue
            points = min(rule.points, left)
            taken += points
            found[unit_id].append(
                _deduction(occurrence, table, points, points < rule.points - EPSILON)
            )
    return found
