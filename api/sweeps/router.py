"""`/v1/internal/sweep`: the worker's periodic safety net."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth.dependencies import WorkerCaller
from api.health.service import note_sweep
from api.kit.boundary import AppState, DbSession, get_state
from api.sweeps import service
from shared.contracts import SweepReport

router = APIRouter(prefix="/v1/internal", tags=["internal"], dependencies=[WorkerCaller])


@router.post("/sweep")
async def sweep(session: DbSession, state: Annotated[AppState, Depends(get_state)]) -> SweepReport:
    """Worker only: flag overdue deadlines, relay the outbox, re-enqueue stale alerts."""
    settings = state.settings
    await note_sweep(state.arq)
    return await service.sweep(
        session,
        state.arq,
        timedelta(seconds=settings.outbox_relay_grace_seconds),
        timedelta(days=settings.idempotency_retention_days),
    )
