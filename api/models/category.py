"""The category vocabulary (信访事项分类): what a petition is about, as codes with Chinese names."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import Base, utcnow

CODE_PATTERN = r"^[a-z][a-z0-9_]{0,30}(\.[a-z][a-z0-9_]{0,30})?$"
"""A top-level code (`land`) or one below it (`land.acquisition`): two levels, no more."""


class Category(Base):
    """One class of petition matters. A second-level code is its parent's code, a dot and its
    own part, so a filter on a top-level class is a prefix. Codes are never deleted or renamed
    once used: a class no longer offered is retired (`active` false) and keeps its name."""

    __tablename__ = "categories"
    __table_args__ = (
        CheckConstraint(f"code ~ '{CODE_PATTERN}'", name="code_shape"),
        CheckConstraint(
            "(parent IS NULL AND position('.' in code) = 0)"
            " OR (parent IS NOT NULL AND code LIKE parent || '.%')",
            name="code_under_parent",
        ),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    parent: Mapped[str | None] = mapped_column(String(64), ForeignKey("categories.code"))
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=func.now()
    )
