"""What one case contributes to the dashboard's figures, from its state and its deadlines.

Every figure of SPEC §6 is a sum of these per-case facts, so the counters can be kept by adding
the difference whenever a case changes, and checked against a recount from scratch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from api.models.case import CaseStatus, LodgedLevel, Outcome
from api.models.deadline import DeadlineKind, DeadlineStatus

OPEN = frozenset(
    {
        CaseStatus.registered,
        CaseStatus.accepted,
        CaseStatus.assigned,
        CaseStatus.replied,
        CaseStatus.review,
        CaseStatus.reviewed,
        CaseStatus.re_review,
        CaseStatus.re_reviewed,
    }
)
DONE = frozenset({CaseStatus.closed, CaseStatus.terminated, CaseStatus.archived})
# Concluded on the merits: what 初信初访一次办结 is measured against (a petition not accepted,
# sent to court or found a duplicate was never handled).
HANDLED = frozenset({Outcome.resolved, Outcome.stabilized, Outcome.terminated})

# (deadline kind, status) → the facts it adds
_DEADLINE_FACTS: dict[tuple[DeadlineKind, DeadlineStatus], tuple[str, ...]] = {
    (DeadlineKind.disposition, DeadlineStatus.met): ("disposition_on_time", "disposition_settled"),
    (DeadlineKind.disposition, DeadlineStatus.missed): ("disposition_settled",),
    (DeadlineKind.handling, DeadlineStatus.met): ("completion_on_time", "completion_settled"),
    (DeadlineKind.handling, DeadlineStatus.missed): ("completion_settled",),
    (DeadlineKind.arrival, DeadlineStatus.met): ("arrival_on_time",),
    (DeadlineKind.arrival, DeadlineStatus.missed): ("arrival_missed",),
}


@dataclass(frozen=True)
class CaseState:
    """The parts of a case the figures read."""

    status: CaseStatus
    channel: str
    category: str
    lodged_level: LodgedLevel
    skip_level: bool
    is_repeat: bool
    is_collective: bool
    satisfied: bool | None
    outcome: Outcome | None
    reviewed: bool


def facts_of(
    case: CaseState, deadlines: Iterable[tuple[DeadlineKind, DeadlineStatus]]
) -> dict[str, int]:
    """The case's facts: each a count it adds to its units' figures (zero ones left out)."""
    facts: Counter[str] = Counter(
        {
            "cases": 1,
            f"status:{case.status.value}": 1,
            f"channel:{case.channel}": 1,
            f"category:{case.category}": 1,
            f"level:{case.lodged_level.value}": 1,
        }
    )
    facts["repeat"] += case.is_repeat
    facts["collective"] += case.is_collective
    facts["skip_level"] += case.skip_level
    if case.satisfied is not None:
        facts["feedback"] += 1
        facts["satisfied"] += case.satisfied
    if not case.is_repeat and case.status in DONE and case.outcome in HANDLED:
        facts["first_done"] += 1
        # a review (复查) or a termination after re-review means it took more than one go
        once = not case.reviewed and case.status is not CaseStatus.terminated
        facts["first_resolved"] += once
    overdue = False
    for kind, status in deadlines:
        for key in _DEADLINE_FACTS.get((kind, status), ()):
            facts[key] += 1
        overdue |= kind is DeadlineKind.handling and status is DeadlineStatus.missed
    facts["open_overdue"] += overdue and case.status in OPEN
    return {key: count for key, count in facts.items() if count}


def difference(new: dict[str, int], old: dict[str, int]) -> dict[str, int]:
    """What changes in the counters when a case's facts go from `old` to `new`."""
    keys = new.keys() | old.keys()
    diff = {key: new.get(key, 0) - old.get(key, 0) for key in keys}
    return {key: value for key, value in diff.items() if value}
