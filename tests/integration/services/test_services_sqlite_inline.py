"""The SQLite writer's and single statements' connections run their calls on the event loop's
thread (server/db/inline_sqlite.py): what they must still do that aiosqlite's threads did."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
from sqlalchemy import text

from wingspan.server.db import inline_sqlite
from wingspan.server.db.engine import Database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[Database, Path]]:
    path = tmp_path / "inline.sqlite"
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.write() as session:
        await session.execute(text("CREATE TABLE items (value INTEGER)"))
    try:
        yield db, path
    finally:
        await db.dispose()


async def test_the_writer_and_statements_run_on_inline_connections(database: tuple[Database, Path]) -> None:
    db, _ = database
    async with db.write() as session:
        await session.execute(text("INSERT INTO items VALUES (1), (2)"))
        raw = (await session.connection()).sync_connection
        assert raw is not None
        assert isinstance(raw.connection.driver_connection, inline_sqlite.InlineConnection)
    async with db.statement_engine.connect() as connection:
        assert isinstance((await connection.get_raw_connection()).driver_connection,
                          inline_sqlite.InlineConnection)
    assert [row[0] for row in await db.query(text("SELECT value FROM items ORDER BY value"))] == [1, 2]
    # read sessions stay on aiosqlite's threads: a long query must not stop the event loop
    async with db.read() as session:
        raw = (await session.connection()).sync_connection
        assert raw is not None
        assert not isinstance(raw.connection.driver_connection, inline_sqlite.InlineConnection)


async def test_a_write_rolled_back_leaves_nothing(database: tuple[Database, Path]) -> None:
    db, _ = database
    with pytest.raises(RuntimeError, match="stop"):
        async with db.write() as session:
            await session.execute(text("INSERT INTO items VALUES (7)"))
            raise RuntimeError("stop")
    assert await db.query(text("SELECT value FROM items")) == []


async def test_a_writer_waits_for_another_process_lock_without_stopping_the_loop(
    database: tuple[Database, Path],
) -> None:
    """Another process holds SQLite's write lock: the writer waits for it on a worker thread
    while the event loop goes on, then writes once the lock is released."""
    db, path = database
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    written = anyio.Event()

    async def write() -> None:
        async with db.write() as session:
            await session.execute(text("INSERT INTO items VALUES (3)"))
        written.set()

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while not written.is_set():
            ticks += 1
            await anyio.lowlevel.checkpoint()
            if ticks > 50:
                return

    try:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                group.start_soon(write)
                # the loop turns while the writer waits: were it blocked in SQLite's busy handler,
                # this task would not run until the writer gave up ("database is locked")
                await tick()
                assert ticks > 50 and not written.is_set()
                other.execute("COMMIT")
                await written.wait()
    finally:
        other.close()
    assert [row[0] for row in await db.query(text("SELECT value FROM items"))] == [3]
