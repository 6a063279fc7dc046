"""The policy document: every number from the regulations, changeable without a deploy."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import Base, utcnow


class PolicyDocument(Base):
    """The single current policy document (row id 1), versioned on each change."""

    __tablename__ = "policy_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    document: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_by: Mapped[uuid.UUID | None]
