"""The case lifecycle's vocabulary: what a transition is and the groups of states actions start
from (SPEC §3; 条例 arts. 22–36; seed 003 四, seed 004). The actions, each with its transition,
are the table in `api.cases.actions`."""

from __future__ import annotations

from dataclasses import dataclass

from api.auth.permissions import Permission
from api.models.case import DONE_STATUSES, CaseStatus

S = CaseStatus


@dataclass(frozen=True)
class Transition:
    """Where an action may start, where it leads (None: the state stays), the permission it
    needs (which roles hold it: `api.auth.permissions.GRANTS`), and whether the office that
    handed the case down may take it as well."""

    sources: frozenset[CaseStatus]
    target: CaseStatus | None
    permission: Permission
    # The higher office that handed the case down may take it too, through its own system's
    # token (`POST /v1/transfers/{case_id}/…`), on that case only.
    by_office: bool = False


OPEN = frozenset(
    {
        S.registered,
        S.accepted,
        S.assigned,
        S.replied,
        S.review,
        S.reviewed,
        S.re_review,
        S.re_reviewed,
    }
)
DONE = DONE_STATUSES
# Answered (答复 or a review's decision), so the petitioner can be called back (回访).
ANSWERED = frozenset({S.replied, S.reviewed, S.re_reviewed, S.closed, S.terminated})
DESK = Permission.desk_cases
HANDLER = Permission.handle_cases
LEADERS = Permission.sign_off_cases
