"""Application state and the request boundary that owns the transaction.

One session per request: the boundary commits when the handler succeeds and rolls back when
it raises. Around the commit it runs the hooks the rooms registered when the app started
(`CommitHooks`): before it, in the transaction (figures settled, the request audited); after
it (jobs handed to Redis, the data version bumped, the actions the transaction left for
afterwards). It knows no room by name.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated

from arq.connections import ArqRedis
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.kit.errors import PetitionDeskError
from api.kit.uow import UnitOfWork, reset, unit_of
from shared.settings import Settings

log = logging.getLogger(__name__)


# request.state attribute: the id of the official behind the request, once authenticated
# (what the audit trail records as who).
CALLER_ID = "caller_official_id"

# Heavy batch work (starting a crowd's escalation chains) runs this many at a time, so the
# clock's small flag requests always find a database connection and a turn of the loop.
BULK_WORK_SLOTS = 2


class ClockFirst:
    """While the clock is flagging a burst of misses, heavy batch work waits its turn: a
    burst's flags are what the next leader up waits for (flag p99 ≤ 1 s, issue 22), and the
    chains they start compete with them for this process's one core. The worker calls the
    flag again at once while a batch comes back full, so a short tail after each call covers
    the gap between two; batch work never waits longer than `longest` seconds."""

    TAIL = 0.15

    def __init__(self, longest: float = 2.0) -> None:
        self.longest = longest
        self._in_flight = 0
        self._until = 0.0

    @contextmanager
    def flagging(self) -> Iterator[None]:
        """Around one flag request of the clock."""
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._until = time.monotonic() + self.TAIL

    def busy(self) -> bool:
        """Whether the clock is flagging now or just was."""
        return self._in_flight > 0 or time.monotonic() < self._until

    async def wait_turn(self) -> None:
        """Until the clock is done flagging (at most `longest` seconds)."""
        give_up = time.monotonic() + self.longest
        while True:
            now = time.monotonic()
            if not self.busy() or now >= give_up:
                return
            # to the end of the tail, or a moment while a flag request is still running
            await asyncio.sleep(min(max(self._until - now, 0.02), give_up - now))


BeforeCommit = Callable[[AsyncSession, UnitOfWork], Awaitable[None]]
"""Runs last before a commit, in the transaction (counters settled, an audit row written)."""
AfterCommit = Callable[["AppState", UnitOfWork], Awaitable[None]]
"""Runs once the transaction has committed (jobs handed to Redis, the data version bumped)."""
OnRefusal = Callable[[AsyncSession, Request, int], None]
"""Records a refused request, in a transaction of its own (the request's rolled back)."""


@dataclass
class CommitHooks:
    """What the rooms want done around every commit of the boundary: registered once when
    the app starts, run in the order registered."""

    before_commit: list[BeforeCommit] = field(default_factory=list)
    after_commit: list[AfterCommit] = field(default_factory=list)
    on_refusal: list[OnRefusal] = field(default_factory=list)


@dataclass
class AppState:
    """Resources created in the lifespan and shared by all requests."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    arq: ArqRedis
    hooks: CommitHooks = field(default_factory=CommitHooks)
    bulk_slots: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(BULK_WORK_SLOTS)
    )
    clock_first: ClockFirst = field(default_factory=ClockFirst)


def state_of(request: Request) -> AppState:
    """The running app's resources."""
    state: AppState = request.app.state.desk
    return state


async def get_state(request: Request) -> AppState:
    """The running app's resources, as a dependency (async: FastAPI runs a plain `def`
    dependency in its thread pool, a thread hop on every request for an attribute read)."""
    return state_of(request)


async def commit(state: AppState, session: AsyncSession) -> None:
    """Commit the session's transaction with the registered hooks around it: the before-commit
    hooks in the transaction, the after-commit ones (and the actions it left) once it stands."""
    unit = unit_of(session)
    for before in state.hooks.before_commit:
        await before(session, unit)
    await session.commit()
    done = reset(session)
    for after in state.hooks.after_commit:
        try:
            await after(state, done)
        except Exception:
            log.exception("after commit: a hook failed")
    for action in done.take_after_commit():
        try:
            await action()
        except Exception:
            log.exception("after commit: an action failed")


async def rollback(session: AsyncSession) -> None:
    """Roll the transaction back and forget what it accumulated."""
    await session.rollback()
    reset(session)


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: commit when the handler succeeds, roll back when it raises
    (unless the error says its changes stand, e.g. a login revoked on a stolen token)."""
    state = state_of(request)
    async with state.sessionmaker() as session:
        unit_of(session).request = request
        try:
            yield session
        except PetitionDeskError as exc:
            if exc.keep_changes:
                unit_of(session).refused_with = exc.status
                await commit(state, session)
            else:
                await rollback(session)
            await _record_refusal(state, request, exc.status)
            raise
        except RequestValidationError:
            await rollback(session)
            await _record_refusal(state, request, 422)
            raise
        except BaseException:
            await rollback(session)
            raise
        await commit(state, session)


async def _record_refusal(state: AppState, request: Request, status: int) -> None:
    # In a transaction of its own (the request's was rolled back); never hides the refusal.
    if not state.hooks.on_refusal:
        return
    try:
        async with state.sessionmaker() as session:
            for record in state.hooks.on_refusal:
                record(session, request, status)
            await session.commit()
    except Exception:
        log.exception("audit: could not record a refused request")


async def bulk_work_slot(request: Request) -> AsyncIterator[None]:
    """Wait for the clock to finish flagging a burst, then for one of the few slots heavy
    batch work may hold at a time (before the request's session takes a connection)."""
    state = state_of(request)
    await state.clock_first.wait_turn()
    async with state.bulk_slots:
        yield


BulkWorkSlot = Depends(bulk_work_slot, scope="function")

DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]
