"""Alert storage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.models import Alert, AlertChannel, AlertStatus
from api.alerts.schemas import AlertQuery
from api.pagination import fetch_page


class AlertRepository:
    """Reads and writes alerts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, alert: Alert) -> None:
        """Stage a new alert."""
        self.session.add(alert)

    async def get(self, alert_id: uuid.UUID, *, for_update: bool = False) -> Alert | None:
        """The alert; locked for this transaction when `for_update`."""
        stmt = select(Alert).where(Alert.id == alert_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def count_recent(self, channel: AlertChannel, recipient: str, since: datetime) -> int:
        """Alerts that went (or go) out alone to this recipient since `since`."""
        stmt = select(func.count()).where(
            Alert.channel == channel,
            Alert.recipient == recipient,
            Alert.created_at >= since,
            Alert.status != AlertStatus.bundled,
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def claim_bundled(self, channel: AlertChannel, recipient: str) -> Sequence[Alert]:
        """Alerts held for this recipient and not yet in a bundle, locked, oldest first."""
        stmt = (
            select(Alert)
            .where(
                Alert.channel == channel,
                Alert.recipient == recipient,
                Alert.status == AlertStatus.bundled,
                Alert.bundle_id.is_(None),
            )
            .order_by(Alert.created_at)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def oldest_pending(self) -> datetime | None:
        """Creation time of the oldest alert still waiting for delivery."""
        stmt = select(func.min(Alert.created_at)).where(Alert.status == AlertStatus.pending)
        return (await self.session.execute(stmt)).scalar_one()

    async def claim_stale_pending(self, older_than: datetime, limit: int) -> Sequence[Alert]:
        """Pending alerts untouched since `older_than`, locked, skipping held rows."""
        stmt = (
            select(Alert)
            .where(Alert.status == AlertStatus.pending, Alert.updated_at < older_than)
            .order_by(Alert.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def list(self, query: AlertQuery) -> tuple[list[Alert], str | None]:
        """A page of alerts matching the query, newest first."""
        return await fetch_page(self.session, select(Alert), Alert, query)
