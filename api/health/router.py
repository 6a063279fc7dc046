"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.health.repository import HealthRepository
from api.health.service import PipelineHealth, pipeline_health, schema_check
from api.kit.boundary import AppState, get_state
from api.kit.errors import NotFound, Unauthorized
from api.kit.i18n import Message
from api.kit.metrics import (
    PIPELINE_ALERT_AGE,
    PIPELINE_LAST_SWEEP,
    PIPELINE_OUTBOX_AGE,
    PIPELINE_OUTBOX_DEPTH,
    PIPELINE_QUEUE_DEPTH,
)

router = APIRouter(tags=["health"])
metrics_bearer = HTTPBearer(auto_error=False, description="The metrics token (`METRICS_TOKEN`).")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        503: {
            "description": "PostgreSQL does not answer within 2 s, or the database is not "
            "yet migrated to what this code needs."
        }
    },
)
async def readyz(state: Annotated[AppState, Depends(get_state)]) -> JSONResponse:
    """Readiness, for a load balancer: 200 when this process can register and serve cases
    now: PostgreSQL answers (a free pooled connection within 2 s, so a saturated replica
    sheds load) and its schema is at this code's migration or newer.

    Redis is checked too, but its loss only makes the status `degraded`: cases are still
    registered (their jobs wait in the outbox), so taking every replica out of the load
    balancer would turn a Redis outage into a total one. Also shows the worker's last sweep,
    the queue depth, the outbox backlog and the oldest undelivered alert."""
    checks: dict[str, Any] = {}
    try:
        async with asyncio.timeout(2):
            async with state.engine.connect() as conn:
                revision = await HealthRepository(conn).schema_revision()
        checks["database"] = "ok"
        checks["schema"] = schema_check(revision)
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        async with asyncio.timeout(2):
            await state.arq.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = checks["database"] == "ok" and checks.get("schema") == "ok"
    status = "ok" if ready and checks["redis"] == "ok" else "degraded" if ready else "unavailable"
    body: dict[str, Any] = {"status": status, "checks": checks}
    if status == "ok":
        body["pipeline"] = (await _pipeline(state)).model_dump()
    return JSONResponse(body, status_code=200 if ready else 503)


async def _pipeline(state: AppState) -> PipelineHealth:
    async with state.sessionmaker() as session:
        return await pipeline_health(
            session, state.arq, state.settings.arq_queue, state.settings.sweep_interval_seconds
        )


async def scraper(
    state: Annotated[AppState, Depends(get_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(metrics_bearer)],
) -> None:
    """Admit only Prometheus, by the metrics token (none configured: no metrics at all)."""
    if credentials is None:
        raise Unauthorized(Message("The metrics token is required."))
    expected = state.settings.metrics_token
    if not expected:
        raise NotFound(Message("Metrics are off: set METRICS_TOKEN to scrape them."))
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise Unauthorized(Message("The metrics token is required."))


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(scraper)],
    responses={
        401: {"description": "No metrics token, or a wrong one."},
        404: {"description": "Metrics are off (no `METRICS_TOKEN` set)."},
    },
)
async def metrics(state: Annotated[AppState, Depends(get_state)]) -> Response:
    """Prometheus metrics of this API process, with the delivery pipeline's gauges; only for
    the scraper presenting `METRICS_TOKEN` as its bearer token."""
    try:
        health = await _pipeline(state)
    except Exception:  # metrics must answer even when a dependency is down
        health = None
    if health is not None:
        PIPELINE_QUEUE_DEPTH.set(health.queue_depth)
        PIPELINE_LAST_SWEEP.set(health.last_sweep_seconds_ago or float("nan"))
        PIPELINE_OUTBOX_DEPTH.set(health.undispatched_outbox)
        PIPELINE_OUTBOX_AGE.set(health.oldest_undispatched_outbox_seconds or 0.0)
        PIPELINE_ALERT_AGE.set(health.oldest_pending_alert_seconds or 0.0)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
