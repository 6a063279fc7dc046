"""Alert storage."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.schemas import AlertQuery
from api.kit.db import among
from api.kit.pagination import fetch_page
from api.models.alert import Alert, AlertChannel, AlertStatus
from api.models.case import Case, Reader, hidden_case
from api.models.official import Official
from api.models.subscription import WebhookSubscription


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

    async def count_recent_in_two_windows(
        self,
        keys: Collection[tuple[AlertChannel, str]],
        since: datetime,
        numbers: Collection[tuple[AlertChannel, str]],
        numbers_since: datetime,
    ) -> tuple[dict[tuple[AlertChannel, str], int], dict[tuple[AlertChannel, str], int]]:
        """`count_recent` of many (channel, recipient) pairs in one query: of `keys` since
        `since` and of `numbers` since `numbers_since` (the rate limit's window and the SMS
        cap's); absent pairs are 0."""
        pairs = set(keys) | set(numbers)
        if not pairs:
            return {}, {}
        stmt = (
            select(
                Alert.channel,
                Alert.recipient,
                func.count().filter(Alert.created_at >= since),
                func.count().filter(Alert.created_at >= numbers_since),
            )
            .where(
                tuple_(Alert.channel, Alert.recipient).in_(list(pairs)),
                Alert.created_at >= min(since, numbers_since),
                Alert.status != AlertStatus.bundled,
            )
            .group_by(Alert.channel, Alert.recipient)
        )
        counts = {key: 0 for key in keys}
        capped = {key: 0 for key in numbers}
        for channel, recipient, in_window, in_cap_window in await self.session.execute(stmt):
            if (channel, recipient) in counts:
                counts[(channel, recipient)] = int(in_window)
            if (channel, recipient) in capped:
                capped[(channel, recipient)] = int(in_cap_window)
        return counts, capped

    async def lock_many(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Alert]:
        """These alerts, locked in id order (two batches cannot deadlock)."""
        if not ids:
            return {}
        stmt = select(Alert).where(among(Alert.id, ids)).order_by(Alert.id).with_for_update()
        return {a.id: a for a in (await self.session.execute(stmt)).scalars()}

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

    async def get_many(self, ids: Collection[uuid.UUID]) -> list[Alert]:
        """The alerts with these ids (unknown ids are left out)."""
        if not ids:
            return []
        stmt = select(Alert).where(among(Alert.id, ids))
        return list((await self.session.execute(stmt)).scalars())

    async def subscriptions(
        self, ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, WebhookSubscription]:
        """The subscriptions events were delivered to, by id."""
        if not ids:
            return {}
        stmt = select(WebhookSubscription).where(among(WebhookSubscription.id, ids))
        return {s.id: s for s in (await self.session.execute(stmt)).scalars()}

    async def case_numbers(self, case_ids: Collection[uuid.UUID]) -> set[str]:
        """The numbers of these cases (named in a bundle's text)."""
        if not case_ids:
            return set()
        stmt = select(Case.number).where(among(Case.id, case_ids))
        return set((await self.session.execute(stmt)).scalars())

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

    async def list(self, query: AlertQuery, reader: Reader) -> tuple[list[Alert], str | None]:
        """A page of the alerts the official may see (to officials of their territory, or to
        them; none of a case that complains about them), matching the query, newest first."""
        stmt = select(Alert).where(not_(hidden_case(reader, Alert.case_id)))
        if reader.reach is not None:
            in_territory = select(Official.id).where(among(Official.unit_id, reader.reach))
            stmt = stmt.where(
                or_(Alert.official_id.in_(in_territory), Alert.official_id == reader.id)
            )
        return await fetch_page(self.session, stmt, Alert, query)
