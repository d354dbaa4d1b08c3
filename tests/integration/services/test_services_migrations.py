"""Alembic's revisions, applied to an empty database, give exactly the models' schema."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from wingspan.server.db.engine import Database
from wingspan.server.db.migrate import current_revision, head_revision, migrate
from wingspan.server.db.models import metadata


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_every_migration_applied_to_an_empty_database_matches_the_models(db_url: str) -> None:
    db = Database(db_url)
    try:
        # the PostgreSQL database is a copy of a migrated template: start from nothing instead
        async with db.write_engine.begin() as conn:
            await conn.run_sync(lambda c: metadata.drop_all(c))
            await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        assert await current_revision(db) is None
        await migrate(db)
        assert await current_revision(db) == head_revision()
        async with db.read_engine.connect() as conn:
            differences = await conn.run_sync(_differences)
        assert differences == []
        await migrate(db)  # a second start changes nothing
        assert await current_revision(db) == head_revision()
    finally:
        await db.dispose()
