"""The lifecycle actions on a case (`POST /v1/cases/{case_id}/{action}`) as one table: for each,
where it may start and where it leads, the permission it needs, its body and its handler. The
routes, the actions a case allows now and the lifecycle's checks all read this table."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import Permission, may
from api.auth.principal import Principal
from api.cases import workflow
from api.cases.lifecycle import ANSWERED, DESK, HANDLER, LEADERS, OPEN, S, Transition
from api.cases.repository import CaseRepository
from api.cases.schemas import (
    AssignBody,
    CloseBody,
    DecisionBody,
    DuplicateBody,
    ExtendBody,
    FeedbackBody,
    FollowUpBody,
    InstructBody,
    NoteBody,
    ObjectBody,
    OfficialBody,
    ReasonBody,
    ReassignBody,
    RedirectBody,
    RehandleBody,
    RejectBody,
    ReplyBody,
    SuperviseBody,
    UnitBody,
)
from api.cases.workflow import Act, Changes
from api.events.schemas import EventType
from api.events.service import case_summary, emit, tell_office
from api.kit.errors import Conflict, Forbidden, NotFound
from api.kit.i18n import Message
from api.models.case import Case, CaseStatus
from api.timeline.repository import CaseEventRepository

B = TypeVar("B", bound=BaseModel)


@dataclass(frozen=True)
class CaseAction(Generic[B]):
    """One action: its name (the path's last segment, the timeline event and an entry of a
    case's `allowed_actions`), its transition, its body and the handler that does its work. The
    handler's docstring is the operation's description; `body_optional`: the body may be left
    out (its fields all have defaults)."""

    name: str
    transition: Transition
    body: type[B]
    handler: Callable[[Act, B], Awaitable[Changes]]
    body_optional: bool = False

    @property
    def description(self) -> str:
        """The operation's description in the contract: the handler's docstring."""
        return inspect.cleandoc(self.handler.__doc__ or "")

    def check(self, case: Case, principal: Principal) -> None:
        """409 when the case's state is not one the action starts from (naming the state and
        the actions allowed in it), or 403 when the caller's role may not take it."""
        status = case.status
        if status not in self.transition.sources:
            raise Conflict(
                Message(
                    "A case in state {status!r} cannot be {name!r}-ed.",
                    status=status.value,
                    name=self.name,
                ),
                current_status=status.value,
                allowed_actions=allowed_actions(status),
            )
        if may(principal.role, self.transition.permission):
            return
        office = principal.higher_office_id
        if not (self.transition.by_office and office and office == case.higher_office_id):
            raise Forbidden(
                Message(
                    "Role {role} may not {name} a case.", role=principal.role.value, name=self.name
                )
            )

    async def perform(
        self, session: AsyncSession, case_id: uuid.UUID, body: B, principal: Principal
    ) -> Case:
        """Take the action: the handler judges the body and, once the lifecycle allows it,
        does its work; the case moves to the target state and its timeline records the event.

        The case row is locked for the transaction, so two concurrent actions serialise and the
        second one sees the state the first one left.
        """
        case = await CaseRepository(session).get_in_reach(case_id, principal, for_update=True)
        if case is None:
            raise NotFound(Message("Case {case_id} does not exist.", case_id=case_id))
        before = case.status
        act = Act(session, case, principal, self.check)
        data = await self.handler(act, body)
        if act.step is None:
            # A handler that never began skipped the lifecycle's check: refuse to record it.
            raise RuntimeError(f"The handler of {self.name!r} did not begin its step.")
        if self.transition.target is not None:
            case.status = self.transition.target
        case.updated_at = act.step.now
        CaseEventRepository(session).record(
            case.id,
            self.name,
            actor_id=principal.id,
            client=principal.client,
            data={"before": before.value, "after": case.status.value, **data},
            at=act.step.now,
        )
        await emit(
            session,
            "case.updated",
            {"case": case_summary(case), "action": self.name, "before": before.value},
            unit_id=case.origin_unit_id,
            case_id=case.id,
        )
        if case.higher_office_id is not None:
            await _tell_office(session, case, self.name)
        await session.flush()
        return case


# What the office that handed a case down hears of its handling (上级转送、交办的反馈).
OFFICE_EVENTS = {
    "accept": EventType.transfer_accepted,
    "reject": EventType.transfer_rejected,
    "reply": EventType.transfer_replied,
    "close": EventType.transfer_closed,
    "terminate": EventType.transfer_closed,
}


async def _tell_office(session: AsyncSession, case: Case, action: str) -> None:
    event = OFFICE_EVENTS.get(action)
    if event is None:
        return
    details: dict[str, Any] = {"action": action, "at": case.updated_at.isoformat()}
    if event is EventType.transfer_rejected:
        details["notice_text"] = case.notice_text
    if event is EventType.transfer_replied:
        details["reply_text"] = case.reply_text
    await tell_office(session, case, event, details)
    if event is EventType.transfer_closed and case.wants_result:
        # 结案报告: the result the office asked for, the day the case closed
        report = {
            "closed_at": case.updated_at.isoformat(),
            "outcome": case.outcome.value if case.outcome else None,
            "reply_text": case.reply_text,
            "satisfied": case.satisfied,
            "due_at": case.higher_due_at.isoformat() if case.higher_due_at else None,
        }
        await tell_office(session, case, EventType.transfer_reported, report)


def _from(*states: CaseStatus) -> frozenset[CaseStatus]:
    return frozenset(states)


# Left to inference (no annotation), so the type checker matches each body with its handler.
ACTIONS = (
    CaseAction(
        "accept",
        Transition(_from(S.registered), S.accepted, DESK),
        NoteBody,
        workflow.accept,
        body_optional=True,
    ),
    CaseAction(
        "reject", Transition(_from(S.registered), S.closed, DESK), RejectBody, workflow.reject
    ),
    CaseAction(
        "redirect",
        Transition(_from(S.registered, S.accepted), S.closed, DESK),
        RedirectBody,
        workflow.redirect,
    ),
    CaseAction(
        "assign", Transition(_from(S.accepted), S.assigned, DESK), AssignBody, workflow.assign
    ),
    CaseAction(
        "reassign", Transition(_from(S.assigned), None, DESK), ReassignBody, workflow.reassign
    ),
    CaseAction(
        "object",
        Transition(_from(S.assigned), S.accepted, HANDLER),
        ObjectBody,
        workflow.object_to_assignment,
    ),
    CaseAction(
        "add_department",
        Transition(_from(S.assigned), None, DESK),
        UnitBody,
        workflow.add_department,
    ),
    CaseAction(
        "set_owner_leader", Transition(OPEN, None, DESK), OfficialBody, workflow.set_owner_leader
    ),
    CaseAction("extend", Transition(_from(S.assigned), None, HANDLER), ExtendBody, workflow.extend),
    CaseAction(
        "supervise",
        Transition(OPEN, None, DESK, by_office=True),
        SuperviseBody,
        workflow.supervise,
    ),
    CaseAction(
        "return_for_rehandling",
        Transition(_from(S.replied, S.closed), S.assigned, DESK, by_office=True),
        RehandleBody,
        workflow.return_for_rehandling,
    ),
    CaseAction(
        "reply", Transition(_from(S.assigned), S.replied, HANDLER), ReplyBody, workflow.reply
    ),
    CaseAction(
        "feedback",
        Transition(_from(S.replied, S.reviewed, S.re_reviewed), None, DESK),
        FeedbackBody,
        workflow.feedback,
    ),
    CaseAction(
        "close",
        Transition(_from(S.replied, S.reviewed, S.re_reviewed), S.closed, DESK),
        CloseBody,
        workflow.close,
    ),
    CaseAction(
        "request_review",
        Transition(_from(S.replied, S.closed), S.review, DESK),
        ReasonBody,
        workflow.request_review,
    ),
    CaseAction(
        "review_decision",
        Transition(_from(S.review), S.reviewed, DESK),
        DecisionBody,
        workflow.review_decision,
    ),
    CaseAction(
        "request_re_review",
        Transition(_from(S.reviewed, S.closed), S.re_review, DESK),
        ReasonBody,
        workflow.request_re_review,
    ),
    CaseAction(
        "re_review_decision",
        Transition(_from(S.re_review), S.re_reviewed, DESK),
        DecisionBody,
        workflow.re_review_decision,
    ),
    CaseAction(
        "terminate",
        Transition(_from(S.re_reviewed), S.terminated, DESK),
        ReasonBody,
        workflow.terminate,
    ),
    CaseAction(
        "sign_off",
        Transition(_from(S.closed, S.terminated), S.archived, LEADERS),
        NoteBody,
        workflow.sign_off,
        body_optional=True,
    ),
    CaseAction(
        "resolve_duplicate", Transition(OPEN, None, DESK), DuplicateBody, workflow.resolve_duplicate
    ),
    CaseAction("follow_up", Transition(ANSWERED, None, DESK), FollowUpBody, workflow.follow_up),
    CaseAction(
        "instruct",
        Transition(OPEN, None, Permission.lead_reception),
        InstructBody,
        workflow.instruct,
    ),
)


def action_of(name: str, body: type[B]) -> CaseAction[B]:
    """The action named `name`, whose body is `body` (LookupError otherwise)."""
    for action in ACTIONS:
        if action.name == name and action.body is body:
            return cast(CaseAction[B], action)
    raise LookupError(f"no action {name!r} with body {body.__name__}")


def allowed_actions(status: CaseStatus) -> list[str]:
    """The actions the lifecycle allows in `status`, in table order."""
    return [a.name for a in ACTIONS if status in a.transition.sources]
