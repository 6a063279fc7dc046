"""The case lifecycle as one table: which action is allowed in which state, where it leads,
and which roles may take it (SPEC §3; 条例 arts. 22–36; seed 003 四, seed 004)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from api.auth.permissions import Permission, may
from api.kit.errors import Conflict, Forbidden
from api.models.case import DONE_STATUSES, CaseStatus
from api.models.official import Role

S = CaseStatus


class Action(enum.StrEnum):
    """Everything that can be done to a registered case (`POST /v1/cases/{id}/{action}`)."""

    accept = "accept"
    reject = "reject"
    redirect = "redirect"
    assign = "assign"
    object = "object"
    add_department = "add_department"
    set_owner_leader = "set_owner_leader"
    extend = "extend"
    reply = "reply"
    feedback = "feedback"
    close = "close"
    request_review = "request_review"
    review_decision = "review_decision"
    request_re_review = "request_re_review"
    re_review_decision = "re_review_decision"
    terminate = "terminate"
    sign_off = "sign_off"
    resolve_duplicate = "resolve_duplicate"
    follow_up = "follow_up"
    instruct = "instruct"


@dataclass(frozen=True)
class Transition:
    """Where an action may start, where it leads (None: the state stays), and the permission
    it needs (which roles hold it: `api.auth.permissions.GRANTS`)."""

    sources: frozenset[CaseStatus]
    target: CaseStatus | None
    permission: Permission


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

TRANSITIONS: dict[Action, Transition] = {
    Action.accept: Transition(frozenset({S.registered}), S.accepted, DESK),
    Action.reject: Transition(frozenset({S.registered}), S.closed, DESK),
    Action.redirect: Transition(frozenset({S.registered, S.accepted}), S.closed, DESK),
    Action.assign: Transition(frozenset({S.accepted}), S.assigned, DESK),
    Action.object: Transition(frozenset({S.assigned}), S.accepted, HANDLER),
    Action.add_department: Transition(frozenset({S.assigned}), None, DESK),
    Action.set_owner_leader: Transition(OPEN, None, DESK),
    Action.extend: Transition(frozenset({S.assigned}), None, HANDLER),
    Action.reply: Transition(frozenset({S.assigned}), S.replied, HANDLER),
    Action.feedback: Transition(frozenset({S.replied, S.reviewed, S.re_reviewed}), None, DESK),
    Action.close: Transition(frozenset({S.replied, S.reviewed, S.re_reviewed}), S.closed, DESK),
    Action.request_review: Transition(frozenset({S.replied, S.closed}), S.review, DESK),
    Action.review_decision: Transition(frozenset({S.review}), S.reviewed, DESK),
    Action.request_re_review: Transition(frozenset({S.reviewed, S.closed}), S.re_review, DESK),
    Action.re_review_decision: Transition(frozenset({S.re_review}), S.re_reviewed, DESK),
    Action.terminate: Transition(frozenset({S.re_reviewed}), S.terminated, DESK),
    Action.sign_off: Transition(frozenset({S.closed, S.terminated}), S.archived, LEADERS),
    Action.resolve_duplicate: Transition(OPEN, None, DESK),
    Action.follow_up: Transition(ANSWERED, None, DESK),
    Action.instruct: Transition(OPEN, None, Permission.lead_reception),
}


def allowed_actions(status: CaseStatus) -> list[str]:
    """The actions the lifecycle allows in `status`, in table order."""
    return [a.value for a, t in TRANSITIONS.items() if status in t.sources]


def transition_for(status: CaseStatus, action: Action, role: Role) -> Transition:
    """The transition of `action` from `status`; 409 naming the state and what is allowed, or
    403 when the role may not take it."""
    transition = TRANSITIONS[action]
    if status not in transition.sources:
        raise Conflict(
            f"A case in state {status.value!r} cannot be {action.value!r}-ed.",
            current_status=status.value,
            allowed_actions=allowed_actions(status),
        )
    if not may(role, transition.permission):
        raise Forbidden(f"Role {role.value} may not {action.value} a case.")
    return transition
