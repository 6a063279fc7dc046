"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.dependencies import AppState, get_state
from api.health.service import PipelineHealth, pipeline_health
from api.metrics import (
    PIPELINE_ALERT_AGE,
    PIPELINE_LAST_SWEEP,
    PIPELINE_OUTBOX_AGE,
    PIPELINE_QUEUE_DEPTH,
)

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "PostgreSQL or Redis is down."}})
async def readyz(state: Annotated[AppState, Depends(get_state)]) -> JSONResponse:
    """Readiness: PostgreSQL and Redis both answer. Also shows the worker's last sweep, the
    queue depth and the oldest undelivered outbox row and alert (informational: the API keeps
    accepting while the worker is away; the outbox holds the work)."""
    checks: dict[str, Any] = {}
    try:
        async with asyncio.timeout(2):
            async with state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        async with asyncio.timeout(2):
            await state.arq.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
    if ok:
        body["pipeline"] = (await _pipeline(state)).model_dump()
    return JSONResponse(body, status_code=200 if ok else 503)


async def _pipeline(state: AppState) -> PipelineHealth:
    async with state.sessionmaker() as session:
        return await pipeline_health(
            session, state.arq, state.settings.arq_queue, state.settings.sweep_interval_seconds
        )


@router.get("/metrics", response_class=Response)
async def metrics(state: Annotated[AppState, Depends(get_state)]) -> Response:
    """Prometheus metrics of this API process, with the delivery pipeline's gauges."""
    try:
        health = await _pipeline(state)
    except Exception:  # metrics must answer even when a dependency is down
        health = None
    if health is not None:
        PIPELINE_QUEUE_DEPTH.set(health.queue_depth)
        PIPELINE_LAST_SWEEP.set(health.last_sweep_seconds_ago or float("nan"))
        PIPELINE_OUTBOX_AGE.set(health.oldest_undispatched_outbox_seconds or 0.0)
        PIPELINE_ALERT_AGE.set(health.oldest_pending_alert_seconds or 0.0)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
