"""Territory and department tree (属地管理)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence

from sqlalchemy import BigInteger, CheckConstraint, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import Base, RecordModel


class UnitLevel(enum.StrEnum):
    """Level of an administered unit: province > city > county > town > area > village;
    departments hang below a city, county or town."""

    province = "province"  # 省: its petition bureau (省信访局) administers its cities
    city = "city"  # 市 (地级市、州): its bureau administers its counties
    county = "county"
    town = "town"
    area = "area"
    village = "village"
    department = "department"


class Unit(RecordModel):
    """A province, city, county, town (镇/乡/街道), management area (管理区), village (村/居) or
    department."""

    __tablename__ = "units"

    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[UnitLevel] = mapped_column(Enum(UnitLevel, name="unit_level"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), index=True
    )
    lat: Mapped[float | None]
    lon: Mapped[float | None]


class UnitTreeGeneration(Base):
    """The tree's generation (one row): bumped by a trigger on `units` whenever a unit is added,
    removed or moved, in the writer's transaction; a process keeps officials' subtrees while it
    stands (`api.units.repository.KnownSubtrees`)."""

    __tablename__ = "unit_tree_generations"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


def county_in(chain: Sequence[Unit]) -> Unit | None:
    """The county (县) of a chain up the tree (a unit and its ancestors, nearest first): cases
    are numbered, received and answered for by their county, whatever stands above it."""
    return next((u for u in chain if u.level is UnitLevel.county), None)
