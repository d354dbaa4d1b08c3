"""Brings a database's schema up to date with Alembic's revisions; run at every start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from wingspan.server.db.engine import Database

__all__ = ["alembic_config", "current_revision", "head_revision", "migrate"]

#: the PostgreSQL advisory lock key that serialises migrations
MIGRATION_LOCK = 0x57494E47

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str = "") -> Config:
    """Alembic's configuration without an .ini file: the scripts ship inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migration scripts found"
    return head


async def migrate(database: Database, revision: str = "head") -> None:
    """Applies every revision the database lacks, in one transaction (PostgreSQL rolls a
    failed upgrade back whole; SQLite's DDL is transactional too)."""

    def upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with database.write_engine.begin() as conn:
        if database.dialect == "postgresql":
            # replicas starting together migrate one after the other (SQLite: BEGIN IMMEDIATE)
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        await conn.run_sync(upgrade)


async def current_revision(database: Database) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with database.read_engine.connect() as conn:
        return await conn.run_sync(read)
