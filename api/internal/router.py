"""`/v1/internal/*`: the worker's calls, one route for each `shared.jobs.Call`, made from the
declarations: the path, the body and the answer models, the summary. Each route is the
worker's only (its shared token) and leaves no audit entry (the machine, not a person)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts import delivery
from api.alerts import service as alerts
from api.auth.dependencies import WorkerCaller
from api.escalations import misses
from api.escalations import service as escalations
from api.health.service import note_sweep
from api.kit.boundary import AppState, BulkWorkSlot, DbSession, get_state
from api.sweeps import service as sweeps
from shared.contracts import (
    AlertAddresses,
    AlertAddressQuery,
    AlertAttemptBatch,
    AlertAttemptsRecorded,
    BundleDue,
    BundleOutcome,
    EscalationAdvance,
    EscalationDue,
    EscalationStart,
    EscalationStartReport,
    FlagDue,
    FlagDueReport,
    ReminderDue,
    ReminderOutcome,
    RenotifyDue,
    SweepReport,
    SweepRequest,
)
from shared.jobs import (
    ADVANCE_ESCALATION,
    ALERT_ADDRESSES,
    CALLS,
    FLAG_DUE,
    FLUSH_BUNDLE,
    REMIND_DEADLINE,
    RENOTIFY_ESCALATION,
    REPORT_ATTEMPTS,
    START_ESCALATIONS,
    SWEEP,
    Call,
)

Handler = Callable[[AsyncSession, Any, AppState], Awaitable[BaseModel]]


async def _flag_due(session: AsyncSession, _body: FlagDue, state: AppState) -> FlagDueReport:
    with state.clock_first.flagging():
        return await misses.flag_due(session)


async def _start(
    session: AsyncSession, body: EscalationStart, _state: AppState
) -> EscalationStartReport:
    return EscalationStartReport(started=await escalations.start_chains(session, body.deadline_ids))


async def _remind(session: AsyncSession, body: ReminderDue, _state: AppState) -> ReminderOutcome:
    return await escalations.remind(session, body.deadline_id, body.fraction)


async def _advance(
    session: AsyncSession, body: EscalationDue, _state: AppState
) -> EscalationAdvance:
    return await escalations.advance(session, body.deadline_id, body.step)


async def _renotify(
    session: AsyncSession, body: RenotifyDue, _state: AppState
) -> EscalationAdvance:
    return await escalations.renotify(session, body.escalation_id, body.round)


async def _flush(session: AsyncSession, body: BundleDue, _state: AppState) -> BundleOutcome:
    bundle = await alerts.flush_bundle(session, body.channel, body.recipient)
    return BundleOutcome(bundle_alert_id=bundle.id if bundle else None)


async def _report(
    session: AsyncSession, body: AlertAttemptBatch, _state: AppState
) -> AlertAttemptsRecorded:
    return AlertAttemptsRecorded(recorded=await delivery.record_attempts(session, body.attempts))


async def _addresses(
    session: AsyncSession, body: AlertAddressQuery, _state: AppState
) -> AlertAddresses:
    return AlertAddresses(addresses=await alerts.addresses(session, body.alert_ids))


async def _sweep(session: AsyncSession, _body: SweepRequest, state: AppState) -> SweepReport:
    await note_sweep(state.arq)
    return await sweeps.sweep(
        session,
        state.arq,
        timedelta(seconds=state.settings.outbox_relay_grace_seconds),
        timedelta(days=state.settings.idempotency_retention_days),
        timedelta(days=state.settings.outbox_retention_days),
    )


HANDLERS: dict[str, Handler] = {
    FLAG_DUE.name: _flag_due,
    START_ESCALATIONS.name: _start,
    REMIND_DEADLINE.name: _remind,
    ADVANCE_ESCALATION.name: _advance,
    RENOTIFY_ESCALATION.name: _renotify,
    FLUSH_BUNDLE.name: _flush,
    REPORT_ATTEMPTS.name: _report,
    ALERT_ADDRESSES.name: _addresses,
    SWEEP.name: _sweep,
}
# Calls that name one deadline or escalation, which may not exist (404).
NAMES_ONE = frozenset({REMIND_DEADLINE.name, ADVANCE_ESCALATION.name, RENOTIFY_ESCALATION.name})
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "The deadline or escalation named does not exist."}
}
# Heavy batch work waits for one of a few slots, so the clock's small calls always find a
# database connection and a turn of the loop.
BULK = frozenset({START_ESCALATIONS.name})


def _endpoint(call: Call[Any, Any], handler: Handler) -> Callable[..., Awaitable[BaseModel]]:
    """The route function of one call, typed from its declaration (FastAPI reads the
    signature: the body model, optional when every field has a default)."""

    async def endpoint(body: BaseModel | None, session: AsyncSession, state: AppState) -> BaseModel:
        return await handler(session, body if body is not None else call.body(), state)

    optional = all(not field.is_required() for field in call.body.model_fields.values())
    body_type: Any = call.body | None if optional else call.body
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "body",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=Annotated[body_type, Body()],
                default=None if optional else inspect.Parameter.empty,
            ),
            inspect.Parameter("session", inspect.Parameter.KEYWORD_ONLY, annotation=DbSession),
            inspect.Parameter(
                "state",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[AppState, Depends(get_state)],
            ),
        ],
        return_annotation=call.answer,
    )
    endpoint.__name__ = call.name
    endpoint.__doc__ = f"Worker only: {call.summary}"
    return endpoint


router = APIRouter(tags=["internal"], dependencies=[WorkerCaller])
for _call in CALLS:
    router.add_api_route(
        _call.path,
        _endpoint(_call, HANDLERS[_call.name]),
        methods=["POST"],
        response_model=_call.answer,
        dependencies=[BulkWorkSlot] if _call.name in BULK else None,
        responses=NOT_FOUND if _call.name in NAMES_ONE else None,
    )
