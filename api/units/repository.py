"""Unit storage and tree queries."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ScalarSelect,
    Select,
    Uuid,
    and_,
    case,
    func,
    literal,
    null,
    select,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.db import among
from api.kit.pagination import fetch_page
from api.kit.uow import Resource, Slot, unit_of
from api.models.unit import Unit, UnitLevel, UnitTreeGeneration
from api.units.schemas import UnitQuery

ANCESTRY: Slot[dict[uuid.UUID, list[Unit]]] = Slot("units up the tree", dict)
"""Each unit's chain up to the root, as walked in this transaction (units do not move while a
request runs)."""


def bureau_of(start: Any) -> Select[Any]:
    """The units of a city's or a province's bureau starting at `start` (a unit id or a scalar
    subquery): the unit itself when it is a city or a province, and the units below it that
    are not inside a county (its departments, a province's cities). Empty for a unit of a
    county."""
    above = (UnitLevel.province, UnitLevel.city)
    walk = (
        select(Unit.id).where(Unit.id == start, Unit.level.in_(above)).cte("bureau", recursive=True)
    )
    walk = walk.union(
        select(Unit.id)
        .join(walk, Unit.parent_id == walk.c.id)
        .where(Unit.level != UnitLevel.county)
    )
    return select(walk.c.id)


def subtrees_of(roots: Collection[uuid.UUID], name: str = "subtrees") -> Select[Any]:
    """The ids of the units at and below `roots`, for another query to filter by (`name`: the
    CTE's, distinct for each use in one statement)."""
    walk = select(Unit.id).where(among(Unit.id, roots)).cte(name, recursive=True)
    walk = walk.union(select(Unit.id).join(walk, Unit.parent_id == walk.c.id))
    return select(walk.c.id)


def subtree_of(start: Any, name: str = "reach") -> Select[Any]:
    """The ids of the unit at `start` (a unit id or a scalar subquery) and every unit below it."""
    tree = select(Unit.id).where(Unit.id == start).cte(name, recursive=True)
    tree = tree.union(select(Unit.id).join(tree, Unit.parent_id == tree.c.id))
    return select(tree.c.id)


def counties_of(start: Any) -> Select[Any]:
    """The ids of the counties the unit at `start` lies in or holds (its county up the tree, or
    the counties below a city or a province): whose data versions a caller's polls compare
    (`api.kit.polling`). Walks down only through the levels above the counties (a province's
    cities, a city's counties), never into a county: a province holds 35,000 units, 100 of
    them counties."""
    above = (UnitLevel.province, UnitLevel.city)
    walked = (Unit.id, Unit.parent_id, Unit.level)
    down = select(*walked).where(Unit.id == start).cte("down", recursive=True)
    down = down.union(
        select(*walked).join(down, Unit.parent_id == down.c.id).where(down.c.level.in_(above))
    )
    up = select(*walked).where(Unit.id == start).cte("up", recursive=True)
    up = up.union(select(*walked).join(up, Unit.id == up.c.parent_id))
    counties = union(
        select(down.c.id).where(down.c.level == UnitLevel.county),
        select(up.c.id).where(up.c.level == UnitLevel.county),
    )
    return select(counties.subquery().c.id)


def tree_generation() -> ScalarSelect[Any]:
    """The unit tree's generation (`UnitTreeGeneration`), as a scalar subquery."""
    return select(UnitTreeGeneration.value).where(UnitTreeGeneration.id == 1).scalar_subquery()


def subtree_unless_known(start: Any, known: KnownSubtree | None) -> ColumnElement[Any]:
    """The array of the subtree's ids at `start`, or NULL when `known` is that unit's subtree
    at the current generation: PostgreSQL walks the tree only in the branch it takes."""
    unit_id, generation = (known.unit_id, known.generation) if known else (None, None)
    return case(
        (
            and_(
                start == literal(unit_id, Uuid()),
                tree_generation() == literal(generation, BigInteger()),
            ),
            null(),
        ),
        else_=func.array(subtree_of(start).scalar_subquery()),
    )


@dataclass(frozen=True)
class KnownSubtree:
    """A unit's subtree as read at a generation of the tree."""

    unit_id: uuid.UUID
    generation: int
    ids: frozenset[uuid.UUID]


class KnownSubtrees:
    """The subtrees this process read lately, by unit, and which unit each official was of.

    A province's official reaches 35,000 units; the auth statement sends the subtree again only
    when the tree's generation moved (a unit added, removed or moved anywhere) or the official
    changed unit. Units are added a few times a year; the officials of a unit share its entry.
    """

    def __init__(self, limit: int = 2048) -> None:
        self._limit = limit
        self._subtrees: dict[uuid.UUID, KnownSubtree] = {}
        self._unit_of: dict[uuid.UUID, uuid.UUID] = {}

    def of_official(self, official_id: uuid.UUID) -> KnownSubtree | None:
        """The subtree kept for the official's unit when last seen, if any."""
        unit_id = self._unit_of.get(official_id)
        return self._subtrees.get(unit_id) if unit_id is not None else None

    def of_unit(self, unit_id: uuid.UUID) -> KnownSubtree | None:
        """The subtree kept for the unit, if any."""
        return self._subtrees.get(unit_id)

    def keep(self, subtree: KnownSubtree, official_id: uuid.UUID | None = None) -> None:
        """Keep `subtree` (and that the official is of its unit), forgetting the oldest past
        the limit."""
        self._subtrees.pop(subtree.unit_id, None)
        self._subtrees[subtree.unit_id] = subtree
        if official_id is not None:
            self._unit_of.pop(official_id, None)
            self._unit_of[official_id] = subtree.unit_id
        for kept in (self._subtrees, self._unit_of):
            while len(kept) > self._limit:
                del kept[next(iter(kept))]


KNOWN_SUBTREES: Resource[KnownSubtrees] = Resource("known subtrees")


def settle_subtree(
    session: AsyncSession,
    unit_id: uuid.UUID | None,
    generation: int | None,
    sent: Sequence[uuid.UUID] | None,
    known: KnownSubtree | None,
    official_id: uuid.UUID | None = None,
) -> frozenset[uuid.UUID]:
    """The subtree of `unit_id` from a statement of `subtree_unless_known`: what it `sent`, or
    the `known` one when it sent none (NULL), keeping what was sent for the next request."""
    if sent is None and known is not None:
        subtree = known
    elif unit_id is not None and generation is not None:
        subtree = KnownSubtree(unit_id, generation, frozenset(sent or ()))
    else:
        return frozenset(sent or ())
    kept = unit_of(session).resources.get(KNOWN_SUBTREES)
    if kept is not None:
        kept.keep(subtree, official_id)
    return subtree.ids


class UnitRepository:
    """Reads and writes units."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, unit_id: uuid.UUID) -> Unit | None:
        """The unit with this id."""
        return await self.session.get(Unit, unit_id)

    def add(self, unit: Unit) -> None:
        """Stage a new unit."""
        self.session.add(unit)

    async def ancestry(self, unit_id: uuid.UUID) -> list[Unit]:
        """The unit and its ancestors, nearest first, ending at the root (once per
        transaction and unit: units do not move while a request runs)."""
        cache: dict[uuid.UUID, list[Unit]] = unit_of(self.session).get(ANCESTRY)
        if unit_id not in cache:
            cache[unit_id] = await self._ancestry(unit_id)
        return cache[unit_id]

    async def prefetch_ancestry(self, unit_ids: Collection[uuid.UUID]) -> None:
        """Load the ancestry of many units in one query (a batch of deadlines across villages
        must not walk the tree once per village)."""
        cache: dict[uuid.UUID, list[Unit]] = unit_of(self.session).get(ANCESTRY)
        wanted = [u for u in set(unit_ids) if u not in cache]
        if not wanted:
            return
        start = select(Unit.id, Unit.parent_id).where(among(Unit.id, wanted))
        walk = start.cte("walk", recursive=True)
        walk = walk.union(select(Unit.id, Unit.parent_id).join(walk, Unit.id == walk.c.parent_id))
        stmt = select(Unit).join(walk, Unit.id == walk.c.id)
        units = {u.id: u for u in (await self.session.execute(stmt)).scalars()}
        for unit_id in wanted:
            chain: list[Unit] = []
            current = units.get(unit_id)
            while current is not None and len(chain) <= len(units):
                chain.append(current)
                current = units.get(current.parent_id) if current.parent_id else None
            cache[unit_id] = chain

    async def subtree_ids(self, unit_id: uuid.UUID) -> frozenset[uuid.UUID]:
        """The unit and every unit below it (a department hangs under the unit it serves)."""
        tree = select(Unit.id).where(Unit.id == unit_id).cte("tree", recursive=True)
        tree = tree.union(select(Unit.id).join(tree, Unit.parent_id == tree.c.id))
        return frozenset((await self.session.execute(select(tree.c.id))).scalars())

    async def reach_of(
        self, unit_id: uuid.UUID
    ) -> tuple[frozenset[uuid.UUID], frozenset[uuid.UUID], frozenset[uuid.UUID]]:
        """What a service token of the unit reaches, in one statement: the unit's subtree (sent
        only when this process does not know it at the tree's generation: `KnownSubtrees`), its
        counties (`counties_of`) and the units of its bureau when it is a city or a province
        (`bureau_of`)."""
        kept = unit_of(self.session).resources.get(KNOWN_SUBTREES)
        known = kept.of_unit(unit_id) if kept is not None else None
        stmt = select(
            tree_generation(),
            subtree_unless_known(unit_id, known),
            func.array(counties_of(unit_id).scalar_subquery()),
            func.array(bureau_of(unit_id).scalar_subquery()),
        )
        generation, sent, in_counties, units = (await self.session.execute(stmt)).one()
        subtree = settle_subtree(self.session, unit_id, generation, sent, known)
        return subtree, frozenset(in_counties or ()), frozenset(units or ())

    async def children(self, unit_id: uuid.UUID) -> Sequence[Unit]:
        """The units directly below a unit, by name."""
        stmt = select(Unit).where(Unit.parent_id == unit_id).order_by(Unit.name)
        return (await self.session.execute(stmt)).scalars().all()

    async def get_many(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Unit]:
        """Units by id."""
        if not ids:
            return {}
        rows = await self.session.execute(select(Unit).where(among(Unit.id, ids)))
        return {u.id: u for u in rows.scalars()}

    async def _ancestry(self, unit_id: uuid.UUID) -> list[Unit]:
        chain = (
            select(Unit.id, Unit.parent_id, literal(0).label("depth"))
            .where(Unit.id == unit_id)
            .cte("chain", recursive=True)
        )
        chain = chain.union_all(
            select(Unit.id, Unit.parent_id, (chain.c.depth + 1).label("depth")).join(
                chain, Unit.id == chain.c.parent_id
            )
        )
        stmt = select(Unit).join(chain, Unit.id == chain.c.id).order_by(chain.c.depth)
        return list((await self.session.execute(stmt)).scalars().all())

    async def list(
        self, query: UnitQuery, units: frozenset[uuid.UUID] | None
    ) -> tuple[list[Unit], str | None]:
        """A page of `units` (None: all) matching the query, newest first."""
        stmt = select(Unit)
        if units is not None:
            stmt = stmt.where(among(Unit.id, units))
        return await fetch_page(self.session, stmt, Unit, query)
