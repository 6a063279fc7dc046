"""How the delivery pipeline is doing: the worker's last sweep, the queue, what waits."""

from __future__ import annotations

import time
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from alembic.script import ScriptDirectory
from arq.connections import ArqRedis
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.repository import AlertRepository
from api.kit.db import utcnow
from api.outbox.repository import OutboxRepository

LAST_SWEEP_KEY = "petition-desk:last-sweep"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class PipelineHealth(BaseModel):
    """The worker and the delivery backlog, as `/readyz` and `/metrics` show them."""

    last_sweep_seconds_ago: float | None = Field(description="None: no worker swept yet.")
    queue_depth: int = Field(description="Jobs waiting in the arq queue (incl. deferred).")
    undispatched_outbox: int = Field(description="Outbox rows not yet handed to Redis.")
    oldest_undispatched_outbox_seconds: float | None
    oldest_pending_alert_seconds: float | None
    worker: str = Field(description="`ok`, or `stale` when no sweep came for a while.")


@lru_cache(maxsize=1)
def code_revisions() -> tuple[str, frozenset[str]]:
    """The migration this code expects the database at (the head), and every one it knows."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    head = scripts.get_current_head()
    assert head is not None, "api/migrations has no head"
    return head, frozenset(s.revision for s in scripts.walk_revisions())


def schema_check(revision: str | None) -> str:
    """`ok` when the database is at this code's head, or at a newer migration this code
    does not know (a rollout migrated ahead of this pod: migrations only add, so it can
    still serve); `behind: …` when the migration Job has not yet run for this code."""
    head, known = code_revisions()
    if revision == head or (revision is not None and revision not in known):
        return "ok"
    return f"behind: database at {revision or 'nothing'}, this code needs {head}"


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
    waiting, oldest = await OutboxRepository(session).undispatched()
    alert = _age(await AlertRepository(session).oldest_pending())
    stale = last is None or last > max(5 * sweep_interval, 10.0)
    return PipelineHealth(
        last_sweep_seconds_ago=last,
        queue_depth=depth,
        undispatched_outbox=waiting,
        oldest_undispatched_outbox_seconds=_age(oldest),
        oldest_pending_alert_seconds=alert,
        worker="stale" if stale else "ok",
    )
