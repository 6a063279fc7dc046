"""Unit storage and tree queries."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Select, func, literal, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.pagination import fetch_page
from api.kit.uow import Slot, unit_of
from api.models.unit import Unit, UnitLevel
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
    walk = select(Unit.id).where(Unit.id.in_(list(roots))).cte(name, recursive=True)
    walk = walk.union(select(Unit.id).join(walk, Unit.parent_id == walk.c.id))
    return select(walk.c.id)


def reach_and_counties(start: Any) -> tuple[Select[Any], Select[Any]]:
    """The ids of the subtree at `start` (a unit id or a scalar subquery), and of the counties
    it lies in or holds (its county up the tree, or the counties below a city or province):
    whose data versions a caller's polls compare (`api.kit.polling`)."""
    tree = select(Unit.id, Unit.level).where(Unit.id == start).cte("reach", recursive=True)
    tree = tree.union(select(Unit.id, Unit.level).join(tree, Unit.parent_id == tree.c.id))
    walked = (Unit.id, Unit.parent_id, Unit.level)
    up = select(*walked).where(Unit.id == start).cte("up", recursive=True)
    up = up.union(select(*walked).join(up, Unit.id == up.c.parent_id))
    counties = union(
        select(tree.c.id).where(tree.c.level == UnitLevel.county),
        select(up.c.id).where(up.c.level == UnitLevel.county),
    )
    return select(tree.c.id), select(counties.subquery().c.id)


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
        walk = (
            select(Unit.id, Unit.parent_id).where(Unit.id.in_(wanted)).cte("walk", recursive=True)
        )
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
        """What a service token of the unit reaches, in one statement: the unit's subtree, its
        counties (`reach_and_counties`) and the units of its bureau when it is a city or a
        province (`bureau_of`)."""
        tree, counties = reach_and_counties(unit_id)
        stmt = select(
            func.array(tree.scalar_subquery()),
            func.array(counties.scalar_subquery()),
            func.array(bureau_of(unit_id).scalar_subquery()),
        )
        subtree, in_counties, units = (await self.session.execute(stmt)).one()
        return frozenset(subtree or ()), frozenset(in_counties or ()), frozenset(units or ())

    async def children(self, unit_id: uuid.UUID) -> Sequence[Unit]:
        """The units directly below a unit, by name."""
        stmt = select(Unit).where(Unit.parent_id == unit_id).order_by(Unit.name)
        return (await self.session.execute(stmt)).scalars().all()

    async def get_many(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Unit]:
        """Units by id."""
        if not ids:
            return {}
        rows = await self.session.execute(select(Unit).where(Unit.id.in_(list(ids))))
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
            stmt = stmt.where(Unit.id.in_(list(units)))
        return await fetch_page(self.session, stmt, Unit, query)
