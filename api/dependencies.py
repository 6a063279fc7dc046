"""Application state and the request boundary that owns the transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from arq.connections import ArqRedis
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.audit.service import record_refusal, record_success
from api.db import DATA_CHANGED, run_after_commit
from api.errors import PetitionDeskError
from api.outbox.service import dispatch_after_commit
from api.polling import bump_version
from api.stats.counting import settle
from shared.settings import Settings

log = logging.getLogger(__name__)


# Heavy batch work (starting a crowd's escalation chains) runs this many at a time, so the
# clock's small flag requests always find a database connection and a turn of the loop.
BULK_WORK_SLOTS = 2


@dataclass
class AppState:
    """Resources created in the lifespan and shared by all requests."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    arq: ArqRedis
    bulk_slots: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(BULK_WORK_SLOTS)
    )


def get_state(request: Request) -> AppState:
    """The running app's resources."""
    state: AppState = request.app.state.desk
    return state


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: commit when the handler succeeds, roll back when it raises
    (unless the error says its changes stand, e.g. a login revoked on a stolen token).

    Jobs recorded in the outbox during the request are handed to arq right after the commit.
    """
    state = get_state(request)
    async with state.sessionmaker() as session:
        try:
            yield session
        except PetitionDeskError as exc:
            if exc.keep_changes:
                await settle(session)
                await session.commit()
                await _after_commit(state, session)
            else:
                await session.rollback()
            await _audit_refusal(state, request, exc.status)
            raise
        except RequestValidationError:
            await session.rollback()
            await _audit_refusal(state, request, 422)
            raise
        except BaseException:
            await session.rollback()
            raise
        await settle(session)
        record_success(session, request)
        await session.commit()
    await _after_commit(state, session)


async def _after_commit(state: AppState, session: AsyncSession) -> None:
    """What a committed transaction owes the world: the dashboards' data version, its jobs
    handed to arq, and the actions it left for afterwards (marks in Redis, metrics)."""
    if session.info.pop(DATA_CHANGED, False):
        await bump_version(state)
    await dispatch_after_commit(session, state.sessionmaker, state.arq)
    await run_after_commit(session)


async def _audit_refusal(state: AppState, request: Request, status: int) -> None:
    # In a transaction of its own (the request's was rolled back); never hides the refusal.
    try:
        async with state.sessionmaker() as session:
            record_refusal(session, request, status)
            await session.commit()
    except Exception:
        log.exception("audit: could not record a refused request")


async def bulk_work_slot(request: Request) -> AsyncIterator[None]:
    """Wait for one of the few slots heavy batch work may hold at a time (before the
    request's session takes a connection)."""
    async with get_state(request).bulk_slots:
        yield


BulkWorkSlot = Depends(bulk_work_slot, scope="function")

DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]
