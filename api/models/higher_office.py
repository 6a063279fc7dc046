"""Higher petition offices (上级信访部门) that hand cases down: a registry of their own, each
mapped onto the city's or the province's unit when the deployment administers it (issue 24)."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel


class OfficeLevel(enum.StrEnum):
    """Where the office sits above the county."""

    city = "city"
    province = "province"
    national = "national"


class HigherOffice(RecordModel):
    """A petition office above the county (市信访局, 省信访局, 国家信访局 …) or a leader's office
    whose cases come down transferred (转送) or assigned (交办)."""

    __tablename__ = "higher_offices"

    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[OfficeLevel] = mapped_column(Enum(OfficeLevel, name="office_level"))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    # The administered unit this office is (a city's or a province's bureau in this
    # deployment): its officials read the cases it handed down.
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"), index=True)
