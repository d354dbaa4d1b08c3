"""The test PostgreSQL answers through asyncpg and through SQLAlchemy's asyncpg dialect."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.real


async def test_asyncpg_connects_and_round_trips_rows(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn, timeout=30)
    try:
        assert await conn.fetchval("SELECT current_user") == "wingspan"
        assert await conn.fetchval("SELECT current_database()") == "wingspan_test"
        assert await conn.fetchval("SHOW fsync") == "off"  # our fast cluster, not Debian's
        await conn.execute("CREATE TEMP TABLE probe (id int PRIMARY KEY, name text NOT NULL)")
        await conn.executemany("INSERT INTO probe VALUES ($1, $2)", [(1, "a"), (2, "b")])
        rows = await conn.fetch("SELECT id, name FROM probe ORDER BY id")
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b")]
    finally:
        await conn.close()


async def test_sqlalchemy_url_works_with_the_asyncpg_dialect(pg_url: str) -> None:
    assert pg_url.startswith("postgresql+asyncpg://")
    engine = create_async_engine(pg_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 40 + 2"))).scalar_one() == 42
    finally:
        await engine.dispose()
