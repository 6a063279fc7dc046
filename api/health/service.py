"""How the delivery pipeline is doing: the worker's last sweep, the queue, what waits."""

from __future__ import annotations

import time
from datetime import datetime

from arq.connections import ArqRedis
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.repository import AlertRepository
from api.db import utcnow
from api.outbox.repository import OutboxRepository

LAST_SWEEP_KEY = "petition-desk:last-sweep"


class PipelineHealth(BaseModel):
    """The worker and the delivery backlog, as `/readyz` and `/metrics` show them."""

    last_sweep_seconds_ago: float | None = Field(description="None: no worker swept yet.")
    queue_depth: int = Field(description="Jobs waiting in the arq queue (incl. deferred).")
    oldest_undispatched_outbox_seconds: float | None
    oldest_pending_alert_seconds: float | None
    worker: str = Field(description="`ok`, or `stale` when no sweep came for a while.")


async def note_sweep(arq: ArqRedis) -> None:
    """Remember that a worker swept just now."""
    await arq.set(LAST_SWEEP_KEY, str(time.time()))


def _age(since: datetime | None) -> float | None:
    return (utcnow() - since).total_seconds() if since is not None else None


async def pipeline_health(
    session: AsyncSession, arq: ArqRedis, queue_name: str, sweep_interval: float
) -> PipelineHealth:
    """Measure the pipeline now."""
    raw = await arq.get(LAST_SWEEP_KEY)
    last = time.time() - float(raw) if raw is not None else None
    depth = int(await arq.zcard(queue_name))
    outbox = _age(await OutboxRepository(session).oldest_undispatched())
    alert = _age(await AlertRepository(session).oldest_pending())
    stale = last is None or last > max(5 * sweep_interval, 10.0)
    return PipelineHealth(
        last_sweep_seconds_ago=last,
        queue_depth=depth,
        oldest_undispatched_outbox_seconds=outbox,
        oldest_pending_alert_seconds=alert,
        worker="stale" if stale else "ok",
    )
