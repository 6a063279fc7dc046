"""`/v1/cases`: registering petitions, reading them, and arrivals at the scene."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.cases import service, views, workflow
from api.cases.lifecycle import TRANSITIONS, Action
from api.cases.models import Case
from api.cases.schemas import (
    ArrivalCreate,
    ArrivalRead,
    AssignBody,
    CaseCreate,
    CaseEventRead,
    CaseQuery,
    CaseRead,
    CaseRegistered,
    CloseBody,
    DecisionBody,
    DuplicateBody,
    ExtendBody,
    FeedbackBody,
    FollowUpBody,
    FollowUpRead,
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
from api.dependencies import DbSession
from api.idempotency.dependencies import AnswerOnce, Once
from api.pagination import Page

router = APIRouter(prefix="/v1/cases", tags=["cases"])


ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed in the case's state; lists the allowed actions."},
    422: {"description": "Invalid input, with a JSON pointer to each bad field."},
}


def _needs(action: Action) -> dict[str, Any]:
    return needs(TRANSITIONS[action].permission)


async def _act(
    session: DbSession,
    principal: CurrentPrincipal,
    once: AnswerOnce,
    body: BaseModel,
    run: Callable[[], Awaitable[Case]],
) -> JSONResponse:
    async def produce() -> CaseRead:
        return await views.view(session, await run(), principal, kept=once.kept)

    return await once(body, 200, produce)


@router.post(
    "",
    status_code=201,
    response_model=CaseRegistered,
    responses=ACTION_ERRORS,
    **needs(Permission.register_cases),
)
async def register_case(
    body: CaseCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """Register a petition (登记). A visit lodged above its origin summons the chiefs at once.

    Offline clients retry with the same `Idempotency-Key`: one case is created. An answer kept
    for such retries shows the petitioners' ID and phone numbers masked, whatever the role
    (`GET` the case for them).
    """

    async def produce() -> CaseRegistered:
        return await views.register(session, body, principal, kept=once.kept)

    return await once(body, 201, produce)


@router.get("", **needs(Permission.read_cases))
async def list_cases(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[CaseQuery, Query()]
) -> Page[CaseRead]:
    """List the cases of the caller's territory (their unit's subtree), newest first, with
    filters and a cursor. `id_number` and `phone` find a petitioner by exact number."""
    return await views.list_cases(session, query, principal)


@router.get("/{case_id}", **needs(Permission.read_cases))
async def get_case(case_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal) -> CaseRead:
    """Read a case with its deadlines, handling units and the actions allowed now (404 for a
    case outside the caller's territory, as for one that does not exist)."""
    return await views.get_case(session, case_id, principal)


@router.get("/{case_id}/timeline", **needs(Permission.read_cases))
async def case_timeline(
    case_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> list[CaseEventRead]:
    """The case's events, oldest first: who did what, when, from which client."""
    return await service.timeline(session, case_id, principal)


@router.post(
    "/{case_id}/arrivals",
    status_code=201,
    response_model=ArrivalRead,
    responses=ACTION_ERRORS,
    **needs(Permission.record_arrival),
)
async def record_arrival(
    case_id: uuid.UUID,
    body: ArrivalCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """Check in at the scene (到位签到); meets the official's arrival deadline if in time."""

    async def produce() -> ArrivalRead:
        return await service.record_arrival(session, case_id, body, principal)

    return await once(body, 201, produce)


@router.post(
    "/{case_id}/accept", response_model=CaseRead, responses=ACTION_ERRORS, **_needs(Action.accept)
)
async def accept_case(
    case_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
    body: NoteBody | None = None,
) -> JSONResponse:
    """受理 (accept): gives the acceptance notice; starts the handling, transfer and
    first-resolution clocks."""
    data = body or NoteBody()
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.accept(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/reject", response_model=CaseRead, responses=ACTION_ERRORS, **_needs(Action.reject)
)
async def reject_case(
    case_id: uuid.UUID,
    body: RejectBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """不予受理 (not accepted): closes the case with the reason and the written notice."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.reject(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/redirect",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.redirect),
)
async def redirect_case(
    case_id: uuid.UUID,
    body: RedirectBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """导入法定途径: a matter for a court, arbitration or administrative review; closes the
    case with a written notice."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.redirect(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/assign", response_model=CaseRead, responses=ACTION_ERRORS, **_needs(Action.assign)
)
async def assign_case(
    case_id: uuid.UUID,
    body: AssignBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """交办 with the four fixes (四定: leader, handler, plan, time limit); opens the
    objection window."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.assign(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/object", response_model=CaseRead, responses=ACTION_ERRORS, **_needs(Action.object)
)
async def object_case(
    case_id: uuid.UUID,
    body: ObjectBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """异议: the assignee objects within the objection window; the case returns for reassignment."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.object_to_assignment(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/add_department",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.add_department),
)
async def add_department_case(
    case_id: uuid.UUID,
    body: UnitBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """联合办案: a contributing department joins the lead unit."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.add_department(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/set_owner_leader",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.set_owner_leader),
)
async def set_owner_leader_case(
    case_id: uuid.UUID,
    body: OfficialBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """领导包案: a leader owns the case."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.set_owner_leader(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/extend", response_model=CaseRead, responses=ACTION_ERRORS, **_needs(Action.extend)
)
async def extend_case(
    case_id: uuid.UUID,
    body: ExtendBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """延期: the one extension of the handling time (approver and reason required)."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.extend(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/reply", response_model=CaseRead, responses=ACTION_ERRORS, **_needs(Action.reply)
)
async def reply_case(
    case_id: uuid.UUID,
    body: ReplyBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """书面答复: the written answer; meets the handling and first-resolution deadlines."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.reply(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/feedback",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.feedback),
)
async def feedback_case(
    case_id: uuid.UUID,
    body: FeedbackBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """The petitioner's opinion of the answer (满意 / 不满意)."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.feedback(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/close", response_model=CaseRead, responses=ACTION_ERRORS, **_needs(Action.close)
)
async def close_case(
    case_id: uuid.UUID,
    body: CloseBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """办结: resolved or stabilized, after the petitioner's feedback."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.close(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/request_review",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.request_review),
)
async def request_review_case(
    case_id: uuid.UUID,
    body: ReasonBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """复查 requested within the window after the answer."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.request_review(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/review_decision",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.review_decision),
)
async def review_decision_case(
    case_id: uuid.UUID,
    body: DecisionBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """复查意见: the review decision."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.review_decision(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/request_re_review",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.request_re_review),
)
async def request_re_review_case(
    case_id: uuid.UUID,
    body: ReasonBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """复核 requested within the window after the review."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.request_re_review(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/re_review_decision",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.re_review_decision),
)
async def re_review_decision_case(
    case_id: uuid.UUID,
    body: DecisionBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """复核意见: the re-review decision (final)."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.re_review_decision(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/terminate",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.terminate),
)
async def terminate_case(
    case_id: uuid.UUID,
    body: ReasonBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """终结: no further handling after the re-review."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.terminate(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/sign_off",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.sign_off),
)
async def sign_off_case(
    case_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
    body: NoteBody | None = None,
) -> JSONResponse:
    """接访领导签字: the receiving leader signs off; the case is archived read-only."""
    data = body or NoteBody()
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.sign_off(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/resolve_duplicate",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.resolve_duplicate),
)
async def resolve_duplicate_case(
    case_id: uuid.UUID,
    body: DuplicateBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """A person's verdict on a possible duplicate registration."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.resolve_duplicate(session, case_id, data, principal),
    )


@router.post(
    "/{case_id}/follow_up",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.follow_up),
)
async def follow_up_case(
    case_id: uuid.UUID,
    body: FollowUpBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """回访: a call back to the petitioner after the answer. Reached, their opinion becomes the
    case's satisfaction and the call-back deadline is met; not reached, the try is recorded and
    the deadline stays open (missed, it escalates like any other)."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.follow_up(session, case_id, data, principal),
    )


@router.get("/{case_id}/follow_ups", **needs(Permission.read_cases))
async def case_follow_ups(
    case_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> list[FollowUpRead]:
    """The calls back to the petitioner (回访记录), oldest first."""
    return await service.follow_ups(session, case_id, principal)


@router.post(
    "/{case_id}/instruct",
    response_model=CaseRead,
    responses=ACTION_ERRORS,
    **_needs(Action.instruct),
)
async def instruct_case(
    case_id: uuid.UUID,
    body: InstructBody,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """领导批示: a leader who received the case instructs how it is handled. The case joins the
    ledger of instructed cases (`GET /v1/cases?instructed_by=`) and only that leader signs it
    off at the end (谁批示谁签字)."""
    data = body
    return await _act(
        session,
        principal,
        once,
        data,
        lambda: workflow.instruct(session, case_id, data, principal),
    )
