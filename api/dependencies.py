"""Application state and the request boundary that owns the transaction."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from arq.connections import ArqRedis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.outbox.service import dispatch_after_commit
from shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class AppState:
    """Resources created in the lifespan and shared by all requests."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    arq: ArqRedis


def get_state(request: Request) -> AppState:
    """The running app's resources."""
    state: AppState = request.app.state.desk
    return state


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: commit when the handler succeeds, roll back when it raises.

    Jobs recorded in the outbox during the request are handed to arq right after the commit.
    """
    state = get_state(request)
    async with state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
    await dispatch_after_commit(session, state.sessionmaker, state.arq)


DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]
