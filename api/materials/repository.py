"""Materials storage: rows of files attached to cases (the bytes are in the blob store)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.models.case import Case, CaseEvent, Reader, readable_by
from api.models.material import Material, MaterialUpload


class MaterialRepository:
    """Reads and writes materials and resumable uploads."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Material | MaterialUpload) -> None:
        """Stage a new row."""
        self.session.add(row)

    async def get(self, material_id: uuid.UUID) -> Material | None:
        """The material, whoever may read it (a signed link was checked when issued)."""
        return await self.session.get(Material, material_id)

    async def readable(
        self, material_id: uuid.UUID, reader: Reader, *, for_update: bool = False
    ) -> tuple[Material, Case] | None:
        """The material and its case when the reader may see the case (None otherwise: no
        existence leak); both locked when `for_update`."""
        stmt = (
            select(Material, Case)
            .join(Case, Case.id == Material.case_id)
            .where(Material.id == material_id, readable_by(reader))
        )
        if for_update:
            stmt = stmt.with_for_update(of=[Case, Material])
        row = (await self.session.execute(stmt)).one_or_none()
        return (row[0], row[1]) if row is not None else None

    async def for_case(self, case_id: uuid.UUID) -> Sequence[Material]:
        """The case's materials, withdrawn ones too, oldest first."""
        stmt = (
            select(Material)
            .where(Material.case_id == case_id)
            .order_by(Material.created_at, Material.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def by_key(self, case_id: uuid.UUID, uploaded_by: uuid.UUID, key: str) -> Material | None:
        """The material this uploader already attached under this Idempotency-Key."""
        stmt = select(Material).where(
            Material.case_id == case_id,
            Material.uploaded_by == uploaded_by,
            Material.idempotency_key == key,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_hash(self, case_id: uuid.UUID, sha256: str) -> Material | None:
        """The case's material (not withdrawn) with this content."""
        stmt = (
            select(Material)
            .where(
                Material.case_id == case_id,
                Material.sha256 == sha256,
                Material.withdrawn_at.is_(None),
            )
            .order_by(Material.created_at)
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def case_bytes(self, case_id: uuid.UUID) -> int:
        """What the case's materials (not withdrawn) hold together."""
        stmt = select(func.coalesce(func.sum(Material.size), 0)).where(
            Material.case_id == case_id, Material.withdrawn_at.is_(None)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def event_of_case(self, event_id: uuid.UUID, case_id: uuid.UUID) -> bool:
        """Whether the event is one of the case's timeline."""
        stmt = select(CaseEvent.id).where(CaseEvent.id == event_id, CaseEvent.case_id == case_id)
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def upload(
        self, upload_id: uuid.UUID, uploaded_by: uuid.UUID, *, for_update: bool = False
    ) -> MaterialUpload | None:
        """A resumable upload of this uploader (None for anyone else's)."""
        stmt = select(MaterialUpload).where(
            MaterialUpload.id == upload_id, MaterialUpload.uploaded_by == uploaded_by
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()
