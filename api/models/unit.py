"""Territory and department tree (属地管理)."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel


class UnitLevel(enum.StrEnum):
    """Level of an administered unit: county > town > area > village; departments hang below."""

    county = "county"
    town = "town"
    area = "area"
    village = "village"
    department = "department"


class Unit(RecordModel):
    """A county, town (镇/乡/街道), management area (管理区), village (村/居) or department."""

    __tablename__ = "units"

    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[UnitLevel] = mapped_column(Enum(UnitLevel, name="unit_level"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), index=True
    )
    lat: Mapped[float | None]
    lon: Mapped[float | None]
