"""What readiness asks the database."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection


class HealthRepository:
    """Cheap questions on a bare connection (no session, no transaction left open)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def schema_revision(self) -> str | None:
        """The migration the database is at (alembic's `alembic_version`); None when the
        database was never migrated."""
        try:
            found = await self.conn.execute(text("SELECT version_num FROM alembic_version"))
        except ProgrammingError:  # no such table
            return None
        return found.scalar_one_or_none()
