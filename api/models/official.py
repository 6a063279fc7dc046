"""Officials: the people who are summoned, alerted and held responsible."""

from __future__ import annotations

import enum
import uuid
from typing import Any

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel


class Role(enum.StrEnum):
    """An official's role in their unit."""

    chief = "chief"  # 主要负责人 / 一把手
    deputy = "deputy"  # 分管领导
    petition_staff = "petition_staff"  # 信访干部
    info_officer = "info_officer"  # 信息员
    grid_worker = "grid_worker"  # 网格员
    dept_head = "dept_head"
    viewer = "viewer"
    admin = "admin"
    # 系统管理员: units, officials and service tokens of their territory; no cases, no
    # personal data
    it_admin = "it_admin"
    # 上级信访部门: a higher office's own system (市、省信访信息系统, 12345), through a service
    # token bound to that office; it hands cases down and reads back only those
    higher_office = "higher_office"


# The unit's leaders (领导班子: 主要负责人 and 分管领导): who receive petitioners, own matters
# and sign off.
LEADER_ROLES = (Role.chief, Role.deputy)


class Official(RecordModel):
    """A named person with a role in one unit and contact channels in priority order."""

    __tablename__ = "officials"

    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, name="official_role"))
    username: Mapped[str | None] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    # The higher office a `higher_office` service account speaks for.
    higher_office_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("higher_offices.id"), index=True
    )
