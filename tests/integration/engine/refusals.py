"""A database that refuses some writes for a while, as one does when a disk fills or a
constraint is broken: a trigger on ``executions`` that raises, on SQLite or PostgreSQL,
installed and dropped by the test (no stand-in for the database)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import text

from wingspan.server.db.engine import Database

__all__ = ["refusing"]


@contextlib.asynccontextmanager
async def refusing(db: Database, name: str, *, column: str, when: str) -> AsyncIterator[None]:
    """While inside: every update of ``column`` on ``executions`` for which ``when`` (an SQL
    condition over ``OLD`` and ``NEW``) holds fails with an error of the database."""
    async with db.write() as session:
        if db.dialect == "postgresql":
            await session.execute(text(
                "CREATE OR REPLACE FUNCTION wingspan_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"))
            await session.execute(text(
                f"CREATE TRIGGER {name} BEFORE UPDATE OF {column} ON executions FOR EACH ROW "
                f"WHEN ({when}) EXECUTE FUNCTION wingspan_test_refuse()"))
        else:
            await session.execute(text(
                f"CREATE TRIGGER {name} BEFORE UPDATE OF {column} ON executions WHEN {when} "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"))
    try:
        yield
    finally:
        async with db.write() as session:
            on = " ON executions" if db.dialect == "postgresql" else ""
            await session.execute(text(f"DROP TRIGGER {name}{on}"))
