"""The policy document: every number from the regulations, changeable without a deploy.

A deployment has one document (the province's defaults, row id 1; none saved means the
built-in defaults) and any unit of its tree may override values for its subtree
(`policy_overrides`: a city's or a county's own arrival time, veto thresholds, reception days).
The document row's `version` is the policy's generation: every change, of the document or of
any override, bumps it, so one read of it tells a process whether what it parsed is current.
Every change is kept in `policy_changes` (who, when, what was set).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import Base, RecordModel, utcnow


class PolicyDocument(Base):
    """The deployment's policy document (row id 1) and the policy's generation."""

    __tablename__ = "policy_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    # None: the built-in defaults (only overrides were ever saved)
    document: Mapped[dict[str, Any] | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_by: Mapped[uuid.UUID | None]


class PolicyOverride(Base):
    """Values a unit sets for its subtree (a partial document: only what differs)."""

    __tablename__ = "policy_overrides"

    unit_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), primary_key=True
    )
    document: Mapped[dict[str, Any]]
    # the policy's generation when this override was last set
    version: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_by: Mapped[uuid.UUID | None]


class PolicyChange(RecordModel):
    """One change of the policy: the document or a unit's override, as set (append-only;
    `created_at` is when)."""

    __tablename__ = "policy_changes"

    # the generation this change made
    version: Mapped[int] = mapped_column(index=True)
    # None: the deployment's document
    unit_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # what was set (None: the unit's override was removed, or the document reset to defaults)
    document: Mapped[dict[str, Any] | None]
    changed_by: Mapped[uuid.UUID | None]
