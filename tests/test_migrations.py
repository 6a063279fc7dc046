"""The Alembic migrations produce exactly the schema the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from api.models import Base
from api.models.audit import not_a_partition


async def test_models_match_migrations(database_url: str) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"include_object": not_a_partition})
        return list(compare_metadata(context, Base.metadata))

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            changes = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert changes == [], "models and migrations differ: add an Alembic revision"


async def test_enum_types_hold_every_python_value(database_url: str) -> None:
    """Autogenerate does not see new enum values; this does."""
    from sqlalchemy import Enum, text

    wanted: dict[str, set[str]] = {}
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, Enum) and column.type.name:
                wanted[column.type.name] = set(column.type.enums)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT t.typname, e.enumlabel FROM pg_type t "
                    "JOIN pg_enum e ON e.enumtypid = t.oid"
                )
            )
            have: dict[str, set[str]] = {}
            for name, label in rows:
                have.setdefault(name, set()).add(label)
    finally:
        await engine.dispose()
    for name, values in wanted.items():
        assert values <= have.get(name, set()), (
            f"enum {name} lacks {values - have.get(name, set())}"
        )
