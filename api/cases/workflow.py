"""The handlers of the lifecycle actions on a case (`POST /v1/cases/{id}/{action}`), each
opening and closing the deadlines the rules tie to it (SPEC §3–4).

A handler is the working part of an entry of the action table (`api.cases.actions`); its
docstring is the operation's description in the contract.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.service import alert_official
from api.auth.principal import Principal
from api.calendar.service import due_after_days
from api.cases.confidentiality import refuse_complained, refuse_complained_unit
from api.cases.repository import CaseUnitRepository
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
from api.cases.steps import PROCESSING, K, Step, named_official, staff_of
from api.deadlines import service as deadlines
from api.follow_ups.repository import FollowUpRepository
from api.kit.db import utcnow
from api.kit.errors import Conflict, Forbidden, InvalidInput
from api.kit.i18n import Message
from api.kit.timeutil import local_clock
from api.models.case import Case, CaseStatus, Outcome, RedirectTarget
from api.models.deadline import DeadlineKind
from api.models.follow_up import FollowUp
from api.models.official import Official, Role
from api.models.unit import Unit, UnitLevel
from api.officials.repository import OfficialRepository
from api.policies.service import current_policy
from api.units.repository import UnitRepository
from api.units.service import named_unit

# Closing a case without accepting it still owes the written notice of that (条例 art. 32):
# its deadline is met by the notice's service.
NOTICE_OWED = PROCESSING - {K.acceptance_notice}

# What an action's timeline event records, besides the states before and after.
Changes = dict[str, Any]


@dataclass
class Act:
    """An action under way on a case locked for the transaction, before the lifecycle allowed
    it: a handler judges the ids its body names first (422), then `begin`s."""

    session: AsyncSession
    case: Case
    principal: Principal
    # The lifecycle's verdict on the action (409 for the case's state, 403 for the role).
    check: Callable[[Case, Principal], None]
    step: Step | None = None

    async def begin(self) -> Step:
        """Check that the lifecycle allows the action now, and start its step with the policy
        in force and the time."""
        self.check(self.case, self.principal)
        policy = (await current_policy(self.session, self.case.origin_unit_id)).policy
        self.step = Step(self.session, self.case, self.principal, policy, utcnow())
        return self.step


async def accept(act: Act, body: NoteBody) -> Changes:
    """受理 (accept): starts the handling, transfer and first-resolution clocks. The
    acceptance notice's deadline is met when the written notice is served
    (`POST /v1/cases/{case_id}/notices`, then its service)."""
    step = await act.begin()
    case, d = step.case, step.policy.deadlines
    case.accepted_at = step.now
    desk = await staff_of(step.session, case.intake_unit_id)
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


async def reject(act: Act, body: RejectBody) -> Changes:
    """不予受理 (not accepted): closes the case with the reason; the acceptance notice's
    deadline stays open until the written notice of it is served."""
    step = await act.begin()
    step.case.outcome = Outcome.rejected
    step.case.notice_text = body.notice_text
    step.case.closed_at = step.now
    await step.meet(K.disposition)
    await step.cancel(NOTICE_OWED)
    return {"reason": body.reason}


async def redirect(act: Act, body: RedirectBody) -> Changes:
    """导入法定途径: a matter for a court, arbitration or administrative review; closes the
    case, the written notice of it owed until served."""
    step = await act.begin()
    step.case.outcome = Outcome.redirected
    step.case.redirect_to = RedirectTarget(body.to)
    step.case.notice_text = body.notice_text
    step.case.closed_at = step.now
    await step.meet(K.disposition)
    await step.cancel(NOTICE_OWED)
    return {"to": body.to.value, "reason": body.reason}


@dataclass
class _Assignee:
    """Who a case is given to (承办): the unit, its leader in charge and the handler."""

    unit: Unit
    leader: Official
    handler: Official


async def _assignee(act: Act, body: AssignBody | ReassignBody) -> tuple[Step, _Assignee]:
    """The unit, leader and handler named, checked (the caller's territory, the handler of
    that unit, nobody the case complains about); the step begun."""
    session, principal = act.session, act.principal
    unit = await named_unit(session, body.unit_id, principal)
    leader = await named_official(session, body.leader_id, "/leader_id", principal)
    handler = await named_official(session, body.handler_id, "/handler_id", principal)
    if handler.unit_id != unit.id:
        raise InvalidInput(
            Message("The handler must belong to the assigned unit."), pointer="/handler_id"
        )
    step = await act.begin()
    refuse_complained_unit(step.case, unit, "/unit_id")
    refuse_complained(step.case, leader, "/leader_id")
    refuse_complained(step.case, handler, "/handler_id")
    return step, _Assignee(unit, leader, handler)


async def _give(step: Step, to: _Assignee, kinds: tuple[DeadlineKind, ...]) -> None:
    """Give the case to the assignee: its lead unit, leader and handler, its open deadlines
    of `kinds` theirs, and a new objection window (异议) for them."""
    case = step.case
    case.assigned_unit_id = to.unit.id
    case.leader_id, case.handler_id = to.leader.id, to.handler.id
    await CaseUnitRepository(step.session).set_lead(case.id, to.unit.id)
    for deadline in await deadlines.open_of_case(step.session, case.id, kinds):
        deadline.official_id, deadline.unit_id = to.handler.id, to.unit.id
        deadline.role = to.handler.role.value
    await step.cancel(frozenset({K.objection}))
    days = step.policy.deadlines.objection_working_days
    due, flags = await step.working_days(step.now, days)
    await step.open(K.objection, to.handler, to.unit.id, due, flags)


def _named(to: _Assignee) -> dict[str, str]:
    return {
        "unit_id": str(to.unit.id),
        "leader_id": str(to.leader.id),
        "handler_id": str(to.handler.id),
    }


async def assign(act: Act, body: AssignBody) -> Changes:
    """交办 with the four fixes (四定: leader, handler, plan, time limit); opens the
    objection window."""
    step, to = await _assignee(act, body)
    case = step.case
    case.plan = body.plan
    case.time_limit = due_after_days(step.now, body.time_limit_days)
    case.assigned_at = step.now
    await step.meet(K.disposition, K.transfer)
    await _give(step, to, (K.handling, K.first_resolution))
    await step.settle_onsite()
    return {**_named(to), "plan": body.plan, "time_limit": case.time_limit.isoformat()}


async def reassign(act: Act, body: ReassignBody) -> Changes:
    """改派: the desk moves an assigned case to another unit, leader or handler at any stage of
    its handling; the due dates stay, the open deadlines follow the new handler, a new
    objection window opens for them and they are alerted."""
    step, to = await _assignee(act, body)
    case = step.case
    before = {
        "unit_id": str(case.assigned_unit_id) if case.assigned_unit_id else None,
        "leader_id": str(case.leader_id) if case.leader_id else None,
        "handler_id": str(case.handler_id) if case.handler_id else None,
    }
    await _give(step, to, (K.handling, K.first_resolution, K.supervision))
    await alert_official(
        step.session,
        to.handler,
        purpose="reassigned",
        template="reassigned",
        fields={
            "case_number": case.number,
            "title": case.alert_title(),
            "time_limit": local_clock(case.time_limit) if case.time_limit else "不变",
            "official_name": to.handler.name,
        },
        case_id=case.id,
    )
    return {"reason": body.reason, "before": before, **_named(to)}


async def object_to_assignment(act: Act, body: ObjectBody) -> Changes:
    """异议: the assignee objects within the objection window; the case returns for reassignment."""
    step = await act.begin()
    session, case = step.session, step.case
    window = await deadlines.open_of_case(session, case.id, (K.objection,))
    if not window:
        raise Conflict(Message("The objection window of this assignment has closed."))
    await step.meet(K.objection)
    desk = await staff_of(session, case.intake_unit_id)
    due = due_after_days(step.now, step.policy.deadlines.transfer_days)
    await step.open(K.transfer, desk, case.intake_unit_id, due)
    previous = case.assigned_unit_id
    case.assigned_unit_id = case.handler_id = case.leader_id = None
    await CaseUnitRepository(session).clear(case.id)
    return {"reason": body.reason, "unit_id": str(previous) if previous else None}


async def add_department(act: Act, body: UnitBody) -> Changes:
    """联合办案: a contributing department joins the lead unit."""
    unit = await named_unit(act.session, body.unit_id, act.principal)
    step = await act.begin()
    refuse_complained_unit(step.case, unit, "/unit_id")
    if unit.id == step.case.assigned_unit_id:
        raise InvalidInput(Message("This unit already leads the case."), pointer="/unit_id")
    await CaseUnitRepository(step.session).add_contributor(step.case.id, unit.id)
    return {"unit_id": str(unit.id)}


async def set_owner_leader(act: Act, body: OfficialBody) -> Changes:
    """领导包案: a leader owns the case."""
    leader = await named_official(act.session, body.official_id, "/official_id", act.principal)
    if leader.role not in (Role.chief, Role.deputy, Role.dept_head):
        raise InvalidInput(
            Message("The owning leader must be a chief, deputy or department head."),
            pointer="/official_id",
        )
    step = await act.begin()
    refuse_complained(step.case, leader, "/official_id")
    step.case.owner_leader_id = leader.id
    await step.meet(K.owner_leader)
    await step.settle_onsite()
    return {"official_id": str(leader.id)}


async def extend(act: Act, body: ExtendBody) -> Changes:
    """延期: the one extension of the handling time (approver and reason required)."""
    approver = await named_official(act.session, body.approver_id, "/approver_id", act.principal)
    if approver.role not in (Role.chief, Role.deputy):
        raise InvalidInput(
            Message("The approver must be a chief or deputy."), pointer="/approver_id"
        )
    step = await act.begin()
    limit = step.policy.deadlines.extension_max_days
    if body.days > limit:
        raise InvalidInput(
            Message("An extension is at most {limit} days.", limit=limit), pointer="/days"
        )
    if step.case.extended_days is not None:
        raise Conflict(Message("The handling time was already extended once."))
    handling = await deadlines.open_of_case(step.session, step.case.id, (K.handling,))
    if not handling:
        raise Conflict(Message("There is no open handling deadline to extend."))
    for deadline in handling:
        deadline.due_at = deadline.due_at + timedelta(days=body.days)
        # The pending due-time check and reminders find the new time and wait for it.
        deadline.flags = [*deadline.flags, "extended"]
    step.case.extended_days = body.days
    return {"days": body.days, "approver_id": str(approver.id), "reason": body.reason}


async def reply(act: Act, body: ReplyBody) -> Changes:
    """书面答复: the written answer. It meets a supervision notice's date; the handling and
    first-resolution deadlines are met when the reply notice is served (policy
    `notices.reply_met_by_service`), else here."""
    step = await act.begin()
    step.case.reply_text = body.text
    step.case.replied_at = step.now
    if step.policy.notices.reply_met_by_service:
        await step.meet(K.supervision)
    else:
        await step.meet(K.handling, K.first_resolution, K.supervision)
    await step.cancel(frozenset({K.objection}))
    await step.follow_up_due()
    return {}


async def supervise(act: Act, body: SuperviseBody) -> Changes:
    """督办: a supervision notice (from a higher office or the county's petition bureau) on an
    open case; the handler owes an answer by its date (met by the reply), escalating when
    missed."""
    step = await act.begin()
    case = step.case
    if body.due_at <= step.now:
        raise InvalidInput(Message("A supervision notice sets a date to come."), pointer="/due_at")
    owner = (
        await OfficialRepository(step.session).get(case.handler_id) if case.handler_id else None
    ) or await staff_of(step.session, case.intake_unit_id)
    unit_id = case.assigned_unit_id or case.intake_unit_id
    deadline = await step.open(K.supervision, owner, unit_id, body.due_at.astimezone(UTC))
    deadline.subject = body.reason[:200]
    return {
        "reason": body.reason,
        "reference": body.reference,
        "due_at": body.due_at.isoformat(),
        "deadline_id": str(deadline.id),
    }


async def return_for_rehandling(act: Act, body: RehandleBody) -> Changes:
    """退回重办: the answer is sent back (facts unclear, policy misapplied, evidence missing …):
    the case is handled again by its handler, with a new handling time limit; the withdrawn
    answer stays on the timeline."""
    step = await act.begin()
    case = step.case
    if case.assigned_unit_id is None:
        raise Conflict(Message("The case was never assigned: there is no handling to send back."))
    handler = (
        await OfficialRepository(step.session).get(case.handler_id) if case.handler_id else None
    )
    withdrawn = case.reply_text
    case.reply_text = None
    case.replied_at = None
    case.satisfied = None
    case.feedback_comment = None
    case.outcome = None
    case.closed_at = None
    case.time_limit = due_after_days(step.now, body.days)
    await step.cancel(frozenset({K.follow_up}))
    await step.open(K.handling, handler, case.assigned_unit_id, case.time_limit)
    return {"reason": body.reason, "days": body.days, "withdrawn_reply": withdrawn}


async def feedback(act: Act, body: FeedbackBody) -> Changes:
    """The petitioner's opinion of the answer (满意 / 不满意)."""
    step = await act.begin()
    step.case.satisfied = body.satisfied
    step.case.feedback_comment = body.comment
    return {"satisfied": body.satisfied, "comment": body.comment}


async def close(act: Act, body: CloseBody) -> Changes:
    """办结: resolved or stabilized, after the petitioner's feedback."""
    step = await act.begin()
    if step.case.satisfied is None:
        raise Conflict(
            Message("Record the petitioner's feedback before closing."),
            current_status=step.case.status.value,
        )
    step.case.outcome = Outcome(body.outcome)
    step.case.closed_at = step.now
    await step.meet(K.national_report)
    await step.cancel()
    return {"outcome": body.outcome, "note": body.note}


def _within(since: datetime | None, days: int, now: datetime, what: Message) -> None:
    if since is None or now > since + timedelta(days=days):
        raise Conflict(
            Message("The {days}-day window to request a {what} has passed.", days=days, what=what)
        )


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


async def request_review(act: Act, body: ReasonBody) -> Changes:
    """复查 requested within the window after the answer."""
    step = await act.begin()
    d = step.policy.deadlines
    if step.case.outcome not in (None, Outcome.resolved, Outcome.stabilized):
        raise Conflict(Message("Only an answered case can be reviewed."))
    _within(step.case.replied_at, d.review_request_days, step.now, Message("review"))
    office, unit_id = await _reviewing_office(step.session, step.case)
    await step.open(K.review, office, unit_id, due_after_days(step.now, d.review_answer_days))
    step.case.outcome, step.case.closed_at = None, None
    return {"reason": body.reason}


async def review_decision(act: Act, body: DecisionBody) -> Changes:
    """复查意见: the review decision."""
    step = await act.begin()
    step.case.reviewed_at = step.now
    await step.meet(K.review)
    await step.follow_up_due()
    return {"decision": body.decision, "text": body.text}


async def request_re_review(act: Act, body: ReasonBody) -> Changes:
    """复核 requested within the window after the review."""
    step = await act.begin()
    d = step.policy.deadlines
    _within(step.case.reviewed_at, d.re_review_request_days, step.now, Message("re-review"))
    office, unit_id = await _reviewing_office(step.session, step.case)
    chain = await UnitRepository(step.session).ancestry(unit_id)
    if len(chain) > 1:  # one level further up than the review
        office, unit_id = await staff_of(step.session, chain[1].id), chain[1].id
    await step.open(K.re_review, office, unit_id, due_after_days(step.now, d.re_review_answer_days))
    step.case.outcome, step.case.closed_at = None, None
    return {"reason": body.reason}


async def re_review_decision(act: Act, body: DecisionBody) -> Changes:
    """复核意见: the re-review decision (final)."""
    step = await act.begin()
    await step.meet(K.re_review)
    await step.follow_up_due()
    return {"decision": body.decision, "text": body.text}


async def terminate(act: Act, body: ReasonBody) -> Changes:
    """终结: no further handling after the re-review."""
    step = await act.begin()
    step.case.outcome = Outcome.terminated
    step.case.closed_at = step.now
    await step.meet(K.national_report)
    await step.cancel()
    return {"reason": body.reason}


async def sign_off(act: Act, body: NoteBody) -> Changes:
    """接访领导签字: the receiving leader signs off; the case is archived read-only."""
    step = await act.begin()
    leader, principal = step.case.instructed_by, step.principal
    if leader is not None and leader != principal.id and principal.reach is not None:
        # 谁批示谁签字: the leader who instructed the case signs it off.
        raise Forbidden(Message("The leader who instructed this case (批示) signs it off."))
    step.case.archived_at = step.now
    return {"note": body.note}


async def resolve_duplicate(act: Act, body: DuplicateBody) -> Changes:
    """A person's verdict on a possible duplicate registration."""
    step = await act.begin()
    other = step.case.possible_duplicate_of_id
    if other is None:
        raise Conflict(Message("The case is not flagged as a possible duplicate."))
    step.case.possible_duplicate_of_id = None
    if body.is_duplicate:
        step.case.status = CaseStatus.closed
        step.case.outcome = Outcome.duplicate
        step.case.closed_at = step.now
        await step.cancel(frozenset(DeadlineKind))
    return {"is_duplicate": body.is_duplicate, "of": str(other)}


async def follow_up(act: Act, body: FollowUpBody) -> Changes:
    """回访: a call back to the petitioner after the answer. Reached, their opinion becomes the
    case's satisfaction and the call-back deadline is met; not reached, the try is recorded and
    the deadline stays open (missed, it escalates like any other)."""
    step = await act.begin()
    record = FollowUp(
        id=uuid.uuid4(),
        case_id=step.case.id,
        official_id=step.principal.id,
        at=step.now,
        method=body.method.value,
        reached=body.reached,
        satisfied=body.satisfied,
        comment=body.comment,
    )
    FollowUpRepository(step.session).add(record)
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


async def instruct(act: Act, body: InstructBody) -> Changes:
    """领导批示: a leader who received the case instructs how it is handled. The case joins the
    ledger of instructed cases (`GET /v1/cases?instructed_by=`), only that leader signs it
    off at the end (谁批示谁签字), and without an owner leader it owes one."""
    step = await act.begin()
    step.case.instructed_by = step.principal.id
    step.case.instructed_at = step.now
    step.case.instruction = body.text
    # a leader's case (领导接访批示案件) is owned by a leader (seed 001 第二篇 (四).3)
    await step.owe_owner_leader()
    return {"text": body.text}
