"""Lifecycle actions on a case (`POST /v1/cases/{id}/{action}`), each opening and closing the
deadlines the rules tie to it (SPEC §3–4)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.dependencies import Principal
from api.calendar.service import due_after_days
from api.cases import lifecycle
from api.cases.lifecycle import Action
from api.cases.models import Case, CaseStatus, Outcome, RedirectTarget
from api.cases.repository import CaseEventRepository, CaseRepository, CaseUnitRepository
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
    RedirectBody,
    RejectBody,
    ReplyBody,
    UnitBody,
)
from api.cases.steps import K, Step, named_official, staff_of
from api.db import utcnow
from api.deadlines import service as deadlines
from api.deadlines.models import DeadlineKind
from api.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.events.service import case_summary, emit
from api.follow_ups.models import FollowUp
from api.follow_ups.repository import FollowUpRepository
from api.officials.models import Official, Role
from api.policies.service import current_policy
from api.units.models import UnitLevel
from api.units.repository import UnitRepository
from api.units.service import named_unit

Handler = Callable[[Step], Awaitable[dict[str, Any]]]


async def perform(
    session: AsyncSession,
    case_id: uuid.UUID,
    action: Action,
    principal: Principal,
    handler: Handler,
) -> Case:
    """Run one action: check the lifecycle table, apply it, record the timeline event.

    The case row is locked for the transaction, so two concurrent actions serialise and the
    second one sees the state the first one left.
    """
    case = await _locked_case(session, case_id, principal)
    transition = lifecycle.transition_for(case.status, action, principal.role)
    before = case.status
    step = Step(session, case, principal, (await current_policy(session)).policy, utcnow())
    data = await handler(step)
    if transition.target is not None:
        case.status = transition.target
    case.updated_at = step.now
    CaseEventRepository(session).record(
        case.id,
        action.value,
        actor_id=principal.id,
        client=principal.client,
        data={"before": before.value, "after": case.status.value, **data},
        at=step.now,
    )
    await emit(
        session,
        "case.updated",
        {"case": case_summary(case), "action": action.value, "before": before.value},
        case_id=case.id,
    )
    await session.flush()
    return case


async def _locked_case(session: AsyncSession, case_id: uuid.UUID, principal: Principal) -> Case:
    case = await CaseRepository(session).get_in_reach(case_id, principal.reach, for_update=True)
    if case is None:
        raise NotFound(f"Case {case_id} does not exist.")
    return case


# --- the actions -------------------------------------------------------------------------


async def accept(
    session: AsyncSession, case_id: uuid.UUID, body: NoteBody, principal: Principal
) -> Case:
    """受理: the acceptance notice is given; handling, transfer and first-resolution clocks run."""

    async def apply(step: Step) -> dict[str, Any]:
        case, d = step.case, step.policy.deadlines
        case.accepted_at = step.now
        await step.meet(K.acceptance_notice)
        desk = await staff_of(session, case.intake_unit_id)
        await step.open(
            K.transfer, desk, case.intake_unit_id, due_after_days(step.now, d.transfer_days)
        )
        await step.open(
            K.handling, desk, case.intake_unit_id, due_after_days(step.now, d.handling_days)
        )
        if case.repeat_of_id is None:  # 初信初访: only a first petition has this clock
            due, flags = await step.working_days(step.now, d.first_resolution_working_days)
            await step.open(K.first_resolution, desk, case.intake_unit_id, due, flags)
        return {"note": body.note}

    return await perform(session, case_id, Action.accept, principal, apply)


async def reject(
    session: AsyncSession, case_id: uuid.UUID, body: RejectBody, principal: Principal
) -> Case:
    """不予受理: closed with a written notice; the intake clocks are met, the rest cancelled."""

    async def apply(step: Step) -> dict[str, Any]:
        step.case.outcome = Outcome.rejected
        step.case.notice_text = body.notice_text
        step.case.closed_at = step.now
        await step.meet(K.acceptance_notice, K.disposition)
        await step.cancel()
        return {"reason": body.reason}

    return await perform(session, case_id, Action.reject, principal, apply)


async def redirect(
    session: AsyncSession, case_id: uuid.UUID, body: RedirectBody, principal: Principal
) -> Case:
    """导入法定途径: a matter for a court, arbitration or administrative review."""

    async def apply(step: Step) -> dict[str, Any]:
        step.case.outcome = Outcome.redirected
        step.case.redirect_to = RedirectTarget(body.to)
        step.case.notice_text = body.notice_text
        step.case.closed_at = step.now
        await step.meet(K.acceptance_notice, K.disposition)
        await step.cancel()
        return {"to": body.to.value, "reason": body.reason}

    return await perform(session, case_id, Action.redirect, principal, apply)


async def assign(
    session: AsyncSession, case_id: uuid.UUID, body: AssignBody, principal: Principal
) -> Case:
    """交办 with the four fixes (四定); the assignee may object within the objection window."""
    await _locked_case(session, case_id, principal)  # 404 before judging the body's ids
    unit = await named_unit(session, body.unit_id, principal)
    leader = await named_official(session, body.leader_id, "/leader_id", principal)
    handler = await named_official(session, body.handler_id, "/handler_id", principal)
    if handler.unit_id != unit.id:
        raise InvalidInput("The handler must belong to the assigned unit.", pointer="/handler_id")

    async def apply(step: Step) -> dict[str, Any]:
        case, d = step.case, step.policy.deadlines
        case.assigned_unit_id = unit.id
        case.leader_id, case.handler_id = leader.id, handler.id
        case.plan = body.plan
        case.time_limit = due_after_days(step.now, body.time_limit_days)
        case.assigned_at = step.now
        await CaseUnitRepository(session).set_lead(case.id, unit.id)
        await step.meet(K.disposition, K.transfer)
        for deadline in await deadlines.open_of_case(
            session, case.id, (K.handling, K.first_resolution)
        ):
            deadline.official_id, deadline.unit_id = handler.id, unit.id
            deadline.role = handler.role.value
        due, flags = await step.working_days(step.now, d.objection_working_days)
        await step.open(K.objection, handler, unit.id, due, flags)
        return {
            "unit_id": str(unit.id),
            "leader_id": str(leader.id),
            "handler_id": str(handler.id),
            "plan": body.plan,
            "time_limit": case.time_limit.isoformat(),
        }

    return await perform(session, case_id, Action.assign, principal, apply)


async def object_to_assignment(
    session: AsyncSession, case_id: uuid.UUID, body: ObjectBody, principal: Principal
) -> Case:
    """异议: the assignee says the matter is not theirs; it returns for reassignment."""

    async def apply(step: Step) -> dict[str, Any]:
        window = await deadlines.open_of_case(session, step.case.id, (K.objection,))
        if not window:
            raise Conflict("The objection window of this assignment has closed.")
        await step.meet(K.objection)
        desk = await staff_of(session, step.case.intake_unit_id)
        due = due_after_days(step.now, step.policy.deadlines.transfer_days)
        await step.open(K.transfer, desk, step.case.intake_unit_id, due)
        previous = step.case.assigned_unit_id
        step.case.assigned_unit_id = step.case.handler_id = step.case.leader_id = None
        await CaseUnitRepository(session).clear(step.case.id)
        return {"reason": body.reason, "unit_id": str(previous) if previous else None}

    return await perform(session, case_id, Action.object, principal, apply)


async def add_department(
    session: AsyncSession, case_id: uuid.UUID, body: UnitBody, principal: Principal
) -> Case:
    """联合办案: a contributing department joins the lead unit."""
    await _locked_case(session, case_id, principal)  # 404 before judging the body's ids
    unit = await named_unit(session, body.unit_id, principal)

    async def apply(step: Step) -> dict[str, Any]:
        if unit.id == step.case.assigned_unit_id:
            raise InvalidInput("This unit already leads the case.", pointer="/unit_id")
        await CaseUnitRepository(session).add_contributor(step.case.id, unit.id)
        return {"unit_id": str(unit.id)}

    return await perform(session, case_id, Action.add_department, principal, apply)


async def set_owner_leader(
    session: AsyncSession, case_id: uuid.UUID, body: OfficialBody, principal: Principal
) -> Case:
    """领导包案: a leader owns the case."""
    await _locked_case(session, case_id, principal)  # 404 before judging the body's ids
    leader = await named_official(session, body.official_id, "/official_id", principal)
    if leader.role not in (Role.chief, Role.deputy, Role.dept_head):
        raise InvalidInput(
            "The owning leader must be a chief, deputy or department head.", pointer="/official_id"
        )

    async def apply(step: Step) -> dict[str, Any]:
        step.case.owner_leader_id = leader.id
        return {"official_id": str(leader.id)}

    return await perform(session, case_id, Action.set_owner_leader, principal, apply)


async def extend(
    session: AsyncSession, case_id: uuid.UUID, body: ExtendBody, principal: Principal
) -> Case:
    """延期: the one extension of the handling time, at most the policy's maximum."""
    await _locked_case(session, case_id, principal)  # 404 before judging the body's ids
    approver = await named_official(session, body.approver_id, "/approver_id", principal)
    if approver.role not in (Role.chief, Role.deputy):
        raise InvalidInput("The approver must be a chief or deputy.", pointer="/approver_id")

    async def apply(step: Step) -> dict[str, Any]:
        limit = step.policy.deadlines.extension_max_days
        if body.days > limit:
            raise InvalidInput(f"An extension is at most {limit} days.", pointer="/days")
        if step.case.extended_days is not None:
            raise Conflict("The handling time was already extended once.")
        handling = await deadlines.open_of_case(session, step.case.id, (K.handling,))
        if not handling:
            raise Conflict("There is no open handling deadline to extend.")
        for deadline in handling:
            deadline.due_at = deadline.due_at + timedelta(days=body.days)
            # The pending due-time check and reminders find the new time and wait for it.
            deadline.flags = [*deadline.flags, "extended"]
        step.case.extended_days = body.days
        return {"days": body.days, "approver_id": str(approver.id), "reason": body.reason}

    return await perform(session, case_id, Action.extend, principal, apply)


async def reply(
    session: AsyncSession, case_id: uuid.UUID, body: ReplyBody, principal: Principal
) -> Case:
    """书面答复: handling and first-resolution clocks are met."""

    async def apply(step: Step) -> dict[str, Any]:
        step.case.reply_text = body.text
        step.case.replied_at = step.now
        await step.meet(K.handling, K.first_resolution)
        await step.cancel(frozenset({K.objection}))
        await step.follow_up_due()
        return {}

    return await perform(session, case_id, Action.reply, principal, apply)


async def feedback(
    session: AsyncSession, case_id: uuid.UUID, body: FeedbackBody, principal: Principal
) -> Case:
    """The petitioner's opinion of the answer (满意 / 不满意)."""

    async def apply(step: Step) -> dict[str, Any]:
        step.case.satisfied = body.satisfied
        step.case.feedback_comment = body.comment
        return {"satisfied": body.satisfied, "comment": body.comment}

    return await perform(session, case_id, Action.feedback, principal, apply)


async def close(
    session: AsyncSession, case_id: uuid.UUID, body: CloseBody, principal: Principal
) -> Case:
    """办结: resolved or stabilized, after the petitioner's opinion was recorded."""

    async def apply(step: Step) -> dict[str, Any]:
        if step.case.satisfied is None:
            raise Conflict(
                "Record the petitioner's feedback before closing.",
                current_status=step.case.status.value,
            )
        step.case.outcome = Outcome(body.outcome)
        step.case.closed_at = step.now
        await step.meet(K.national_report)
        await step.cancel()
        return {"outcome": body.outcome, "note": body.note}

    return await perform(session, case_id, Action.close, principal, apply)


def _within(since: datetime | None, days: int, now: datetime, what: str) -> None:
    if since is None or now > since + timedelta(days=days):
        raise Conflict(f"The {days}-day window to request a {what} has passed.")


async def _reviewing_office(session: AsyncSession, case: Case) -> tuple[Official | None, uuid.UUID]:
    """The office above the handling unit, which answers a review (复查 / 复核)."""
    handling = case.assigned_unit_id or case.intake_unit_id
    chain = await UnitRepository(session).ancestry(handling)
    above = [u for u in chain[1:] if u.level is not UnitLevel.department] or chain[:1]
    for unit in above:
        staff = await staff_of(session, unit.id)
        if staff is not None:
            return staff, unit.id
    return None, above[0].id


async def request_review(
    session: AsyncSession, case_id: uuid.UUID, body: ReasonBody, principal: Principal
) -> Case:
    """复查 requested within the window after the answer; the office above answers it."""

    async def apply(step: Step) -> dict[str, Any]:
        d = step.policy.deadlines
        if step.case.outcome not in (None, Outcome.resolved, Outcome.stabilized):
            raise Conflict("Only an answered case can be reviewed.")
        _within(step.case.replied_at, d.review_request_days, step.now, "review")
        office, unit_id = await _reviewing_office(session, step.case)
        await step.open(K.review, office, unit_id, due_after_days(step.now, d.review_answer_days))
        step.case.outcome, step.case.closed_at = None, None
        return {"reason": body.reason}

    return await perform(session, case_id, Action.request_review, principal, apply)


async def review_decision(
    session: AsyncSession, case_id: uuid.UUID, body: DecisionBody, principal: Principal
) -> Case:
    """复查意见."""

    async def apply(step: Step) -> dict[str, Any]:
        step.case.reviewed_at = step.now
        await step.meet(K.review)
        await step.follow_up_due()
        return {"decision": body.decision, "text": body.text}

    return await perform(session, case_id, Action.review_decision, principal, apply)


async def request_re_review(
    session: AsyncSession, case_id: uuid.UUID, body: ReasonBody, principal: Principal
) -> Case:
    """复核 requested within the window after the review decision."""

    async def apply(step: Step) -> dict[str, Any]:
        d = step.policy.deadlines
        _within(step.case.reviewed_at, d.re_review_request_days, step.now, "re-review")
        office, unit_id = await _reviewing_office(session, step.case)
        chain = await UnitRepository(session).ancestry(unit_id)
        if len(chain) > 1:  # one level further up than the review
            office, unit_id = await staff_of(session, chain[1].id), chain[1].id
        await step.open(
            K.re_review, office, unit_id, due_after_days(step.now, d.re_review_answer_days)
        )
        step.case.outcome, step.case.closed_at = None, None
        return {"reason": body.reason}

    return await perform(session, case_id, Action.request_re_review, principal, apply)


async def re_review_decision(
    session: AsyncSession, case_id: uuid.UUID, body: DecisionBody, principal: Principal
) -> Case:
    """复核意见: final."""

    async def apply(step: Step) -> dict[str, Any]:
        await step.meet(K.re_review)
        await step.follow_up_due()
        return {"decision": body.decision, "text": body.text}

    return await perform(session, case_id, Action.re_review_decision, principal, apply)


async def terminate(
    session: AsyncSession, case_id: uuid.UUID, body: ReasonBody, principal: Principal
) -> Case:
    """终结: no further handling after the re-review."""

    async def apply(step: Step) -> dict[str, Any]:
        step.case.outcome = Outcome.terminated
        step.case.closed_at = step.now
        await step.meet(K.national_report)
        await step.cancel()
        return {"reason": body.reason}

    return await perform(session, case_id, Action.terminate, principal, apply)


async def sign_off(
    session: AsyncSession, case_id: uuid.UUID, body: NoteBody, principal: Principal
) -> Case:
    """接访领导签字: the case is archived and read-only from now on."""

    async def apply(step: Step) -> dict[str, Any]:
        leader = step.case.instructed_by
        if leader is not None and leader != principal.id and principal.reach is not None:
            # 谁批示谁签字: the leader who instructed the case signs it off.
            raise Forbidden("The leader who instructed this case (批示) signs it off.")
        step.case.archived_at = step.now
        return {"note": body.note}

    return await perform(session, case_id, Action.sign_off, principal, apply)


async def resolve_duplicate(
    session: AsyncSession, case_id: uuid.UUID, body: DuplicateBody, principal: Principal
) -> Case:
    """A person's verdict on a possible duplicate: close it as such, or clear the flag."""

    async def apply(step: Step) -> dict[str, Any]:
        other = step.case.possible_duplicate_of_id
        if other is None:
            raise Conflict("The case is not flagged as a possible duplicate.")
        step.case.possible_duplicate_of_id = None
        if body.is_duplicate:
            step.case.status = CaseStatus.closed
            step.case.outcome = Outcome.duplicate
            step.case.closed_at = step.now
            await step.cancel(frozenset(DeadlineKind))
        return {"is_duplicate": body.is_duplicate, "of": str(other)}

    return await perform(session, case_id, Action.resolve_duplicate, principal, apply)


async def follow_up(
    session: AsyncSession, case_id: uuid.UUID, body: FollowUpBody, principal: Principal
) -> Case:
    """回访: one call back to the petitioner after the answer. Reached, their opinion is the
    case's satisfaction (满意度) and the call-back deadline is met; not reached, the call is
    recorded and the deadline stays open for the next try."""

    async def apply(step: Step) -> dict[str, Any]:
        record = FollowUp(
            id=uuid.uuid4(),
            case_id=step.case.id,
            official_id=principal.id,
            at=step.now,
            method=body.method.value,
            reached=body.reached,
            satisfied=body.satisfied,
            comment=body.comment,
        )
        FollowUpRepository(session).add(record)
        if body.reached:
            step.case.satisfied = body.satisfied
            step.case.feedback_comment = body.comment
            await step.meet(K.follow_up)
        return {
            "follow_up_id": str(record.id),
            "method": body.method.value,
            "reached": body.reached,
            "satisfied": body.satisfied,
            "comment": body.comment,
        }

    return await perform(session, case_id, Action.follow_up, principal, apply)


async def instruct(
    session: AsyncSession, case_id: uuid.UUID, body: InstructBody, principal: Principal
) -> Case:
    """领导批示: a leader who received the case instructs how it is to be handled; the case
    joins the ledger of instructed cases (领导接访批示案件台账) and that leader signs it off at
    the end."""

    async def apply(step: Step) -> dict[str, Any]:
        step.case.instructed_by = principal.id
        step.case.instructed_at = step.now
        step.case.instruction = body.text
        return {"text": body.text}

    return await perform(session, case_id, Action.instruct, principal, apply)
