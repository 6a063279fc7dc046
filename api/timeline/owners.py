"""Whose data a transaction changed: the counties behind the rows it wrote, for the data
versions per county behind ETags (`api.kit.polling`).

The session's listeners (`api.kit.db`) note the county, case or unit each written row names
(`api.kit.uow.DataChanges`); the figures note the county of every case they settle
(`api.stats.counting.settle`). Just before the commit, `attribute_before_commit` finds the
county of the cases and units left from what the session already holds (the case the
request loaded, the units it walked up the tree): no statement of its own. What it cannot
find stays unresolved, and the caller's counties stand for it (everything for the worker).
"""

from __future__ import annotations

import uuid

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from api.kit.uow import UnitOfWork
from api.models.case import Case
from api.models.unit import Unit, UnitLevel

# Levels whose rows are no one county's (a city bureau's own matters): everybody's data.
_ABOVE_COUNTIES = frozenset({UnitLevel.city, UnitLevel.province})
# Deeper than any chain of the tree (province > city > county > town > area > village).
_LONGEST_CHAIN = 12


def _held(session: Session, model: type[Case] | type[Unit], key: uuid.UUID) -> dict[str, object]:
    """The loaded attributes of a row the session holds (nothing is loaded for it)."""
    obj = session.identity_map.get(identity_key(model, key))
    return dict(inspect(obj).dict) if obj is not None else {}


def county_of_unit(session: Session, unit_id: uuid.UUID) -> uuid.UUID | bool | None:
    """The county of a unit from the units the session holds: its id, True for a unit above
    any county, None when the session does not hold the chain."""
    current: uuid.UUID | None = unit_id
    for _ in range(_LONGEST_CHAIN):
        if current is None:
            return True  # the root, passed no county
        unit = _held(session, Unit, current)
        level = unit.get("level")
        if level is None:
            return None
        if level is UnitLevel.county:
            return current
        if level in _ABOVE_COUNTIES:
            return True
        parent = unit.get("parent_id")
        current = parent if isinstance(parent, uuid.UUID) else None
    return None


async def attribute_before_commit(session: AsyncSession, unit: UnitOfWork) -> None:
    """The request boundary's hook (after the figures settle): the counties of the cases and
    units the transaction wrote, as far as the session knows them."""
    await session.flush()  # what is still pending is noted now, not after this
    changes = unit.changes
    if changes.everywhere or not (changes.cases or changes.units):
        return
    held = session.sync_session
    for case_id in list(changes.cases):
        county = _held(held, Case, case_id).get("county_id")
        if isinstance(county, uuid.UUID):
            changes.counties.add(county)
            changes.cases.discard(case_id)
    for unit_id in list(changes.units):
        found = county_of_unit(held, unit_id)
        if found is True:
            changes.everywhere = True
            return
        if isinstance(found, uuid.UUID):
            changes.counties.add(found)
            changes.units.discard(unit_id)
