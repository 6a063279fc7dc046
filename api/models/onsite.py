"""On-site reception duties (赴现场接待): a visit lodged at the province or in Beijing sends the
officials of the unit concerned to receive the petitioners in person, and brings the matter
home to be settled (事要解决). The duty records what the officials did, never where the
petitioners went or whether they returned."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel
from api.models.case import LodgedLevel


class OnsiteDuty(RecordModel):
    """One case's duty: who must go are its arrival deadlines (each official reports reaching
    the office where the petitioners are and receiving them: 到位); the settlement deadline
    is met once the case is assigned at home with an owner leader (交办、包案)."""

    __tablename__ = "onsite_duties"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), unique=True)
    level: Mapped[LodgedLevel] = mapped_column(Enum(LodgedLevel, name="lodged_level"))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    opened_at: Mapped[datetime]
    settle_deadline_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deadlines.id"))
    settled_at: Mapped[datetime | None]
