"""The unit of work: what one transaction (a request, or a job the worker hands the API)
accumulates until it commits, and what runs around its commit.

Each room that keeps something for the length of a transaction (jobs to hand to arq, cases
whose figures must be recounted, a policy read once, units already walked up the tree …)
declares a typed `Slot` for it and reads it with `unit_of(session).get(SLOT)`; what the app
hands every session (the public URL, the vault of petitioners' numbers) is a `Resource`. The
request boundary (`api.kit.boundary`) commits and runs the hooks the app registered at start:
it knows no room by name.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from fastapi import Request

T = TypeVar("T")

_UNIT = "unit_of_work"  # the one key of `Session.info`: the session's unit of work
_RESOURCES = "resources"  # the sessionmaker's resources, shared by its sessions


class Slot(Generic[T]):
    """A typed place in the unit of work for what one room keeps during a transaction; made
    empty by `factory` the first time it is read."""

    def __init__(self, name: str, factory: Callable[[], T]) -> None:
        self.name = name
        self.factory = factory

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


class Resource(Generic[T]):
    """A typed value the app gives every session it makes (settings-like, never changed by
    a transaction)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Resource({self.name!r})"


PUBLIC_BASE_URL: Resource[str] = Resource("public base url")
"""The URL the service is reached at from outside (links in messages)."""


@dataclass
class DataChanges:
    """Whose data a transaction changed, for the data versions behind ETags
    (`api.kit.polling`): the counties it wrote, what it wrote whose county is still to be
    found (cases and units, resolved from the session before the commit), and whether it
    wrote data no county owns (the directory, the policy, categories …)."""

    counties: set[uuid.UUID] = field(default_factory=set)
    cases: set[uuid.UUID] = field(default_factory=set)
    units: set[uuid.UUID] = field(default_factory=set)
    # A county-owned row whose county nothing names (a bulk statement): the caller's counties
    # stand for it, everything when the caller has none (the worker, the deployment's admin).
    unresolved: bool = False
    everywhere: bool = False

    def counties_to_bump(self, caller: frozenset[uuid.UUID] | None) -> frozenset[uuid.UUID] | None:
        """The counties whose versions change, None for every version (the install-wide one).
        `caller`: the counties the caller may write in (None: unknown, or all of them)."""
        if self.everywhere:
            return None
        counties = set(self.counties)
        if self.cases or self.units or self.unresolved:
            if not caller:
                return None
            counties |= caller  # a caller writes only inside its reach
        return frozenset(counties) or None


@dataclass
class UnitOfWork:
    """What the current transaction has accumulated; reset when it commits or rolls back."""

    resources: Mapping[Resource[Any], Any]
    # Whether the transaction wrote data clients read (dashboards' ETags must change), and
    # whose (`DataChanges`; changed data that names nobody is everybody's).
    data_changed: bool = False
    changes: DataChanges = field(default_factory=DataChanges)
    # The counties the caller's writes can touch (its reach's): None when unknown or all.
    caller_counties: frozenset[uuid.UUID] | None = None
    # The request the transaction serves (None in a script), and the status of its refusal
    # when it was refused but its changes are kept.
    request: Request | None = None
    refused_with: int | None = None
    _slots: dict[Slot[Any], Any] = field(default_factory=dict)
    _after_commit: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    _before_commit: list[Callable[[Session], object]] = field(default_factory=list)

    def get(self, slot: Slot[T]) -> T:
        """The slot's value in this transaction (made empty on first use)."""
        if slot not in self._slots:
            self._slots[slot] = slot.factory()
        value: T = self._slots[slot]
        return value

    def put(self, slot: Slot[T], value: T) -> None:
        """Set the slot's value for the rest of the transaction."""
        self._slots[slot] = value

    def take(self, slot: Slot[T]) -> T:
        """The slot's value, leaving it empty (what a hook consumes)."""
        value: T = self._slots.pop(slot) if slot in self._slots else slot.factory()
        return value

    def forget(self, slot: Slot[Any]) -> None:
        """Empty the slot (a cache whose rows this transaction changed)."""
        self._slots.pop(slot, None)

    def resource(self, key: Resource[T]) -> T:
        """A value the app gave this session."""
        value: T = self.resources[key]
        return value

    def after_commit(self, action: Callable[[], Awaitable[object]]) -> None:
        """Have `action` run once the transaction has committed, never if it rolls back (a
        note in Redis or a metric must not claim work the database did not keep)."""
        self._after_commit.append(action)

    def before_commit(self, write: Callable[[Session], object]) -> None:
        """Have `write` run in the transaction just before it commits, whoever commits it (the
        request boundary, a script, a test): rows a room collected during the transaction go
        in one statement (the outbox's jobs), not one ORM flush each. `write` gets the
        synchronous session (it runs inside SQLAlchemy's commit) and may execute statements."""
        self._before_commit.append(write)

    def take_before_commit(self) -> list[Callable[[Session], object]]:
        """The writes left for the commit, leaving none."""
        writes, self._before_commit = self._before_commit, []
        return writes

    def take_after_commit(self) -> list[Callable[[], Awaitable[object]]]:
        """The actions left for after the commit, leaving none."""
        actions, self._after_commit = self._after_commit, []
        return actions


def unit_of(session: AsyncSession | Session) -> UnitOfWork:
    """The unit of work of the session's current transaction."""
    unit: UnitOfWork | None = session.info.get(_UNIT)
    if unit is None:
        unit = UnitOfWork(resources=session.info.get(_RESOURCES, {}))
        session.info[_UNIT] = unit
    return unit


def reset(session: AsyncSession | Session) -> UnitOfWork:
    """End the session's unit of work (after a commit or a rollback) and return it; the next
    transaction starts a new one."""
    unit = unit_of(session)
    del session.info[_UNIT]
    return unit


def session_info(resources: Mapping[Resource[Any], Any]) -> dict[str, Any]:
    """The `info` a sessionmaker gives each session: the app's resources."""
    return {_RESOURCES: dict(resources)}
