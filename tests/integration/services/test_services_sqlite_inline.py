"""The SQLite writer's and single statements' connections run their calls on the event loop's
thread (server/db/inline_sqlite.py): what they must still do that aiosqlite's threads did."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
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


def _traced(session_connection: object) -> sqlite3.Connection:
    """The sqlite3 connection under the writer's pooled connection (pool of one: every write's)."""
    raw = session_connection.sync_connection  # type: ignore[attr-defined]
    driver = raw.connection.driver_connection
    assert isinstance(driver, inline_sqlite.InlineConnection)
    return driver._connection


async def test_a_writer_cancelled_while_it_waits_for_the_lock_leaves_no_transaction_behind(
    database: tuple[Database, Path],
) -> None:
    """asyncio's own cancellation (a stopping server's ``Task.cancel``) of a writer waiting for
    another process's lock: once that lock is let go, the writer's connection holds no lock and
    no transaction, and the next write goes through (the abandoned wait used to take the lock
    after its caller had gone: the next write then failed, or another writer waited in vain)."""
    db, path = database
    begins = 0
    waiting = anyio.Event()
    loop = asyncio.get_running_loop()

    def statement(sql: str) -> None:  # called on whichever thread runs the statement
        nonlocal begins
        if sql == "BEGIN IMMEDIATE":
            begins += 1
            if begins == 2:  # the first try found the lock taken; the second waits for it
                loop.call_soon_threadsafe(waiting.set)

    async with db.write() as session:
        _traced(await session.connection()).set_trace_callback(statement)
    begins = 0
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        async def write() -> None:
            async with db.write() as session:
                await session.execute(text("INSERT INTO items VALUES (4)"))

        writer = asyncio.create_task(write())
        with anyio.fail_after(20):
            await waiting.wait()
        writer.cancel()
        other.execute("ROLLBACK")
        with pytest.raises(asyncio.CancelledError):
            await writer
        # the lock is free for another process at once, and this writer writes again
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        probe.close()
        async with db.write() as session:
            await session.execute(text("INSERT INTO items VALUES (5)"))
    finally:
        other.close()
    assert [row[0] for row in await db.query(text("SELECT value FROM items"))] == [5]


async def test_a_writer_cancelled_in_its_commit_hears_of_it_once_the_commit_has_ended(
    database: tuple[Database, Path],
) -> None:
    """The commit runs on a worker thread: a writer cancelled meanwhile is told so only once the
    commit has ended (committed), never while its connection is still committing on that thread
    (the next write would then share the connection with it)."""
    db, _ = database
    armed, go_on = threading.Event(), threading.Event()
    loop = asyncio.get_running_loop()
    in_commit = anyio.Event()

    def statement(sql: str) -> None:
        if sql == "COMMIT" and armed.is_set() and not go_on.is_set():
            loop.call_soon_threadsafe(in_commit.set)
            go_on.wait(10)  # holds the commit on its thread until the test lets it go

    async with db.write() as session:
        _traced(await session.connection()).set_trace_callback(statement)
    armed.set()

    async def write() -> None:
        async with db.write() as session:
            await session.execute(text("INSERT INTO items VALUES (6)"))

    writer = asyncio.create_task(write())
    with anyio.fail_after(20):
        await in_commit.wait()
    writer.cancel()
    paused = time.monotonic()
    await anyio.sleep(0.05)  # room for a writer that would leave at once (none must)
    paused = time.monotonic() - paused
    ended_early = writer.done()
    go_on.set()
    with pytest.raises(asyncio.CancelledError):
        await writer
    assert not ended_early, "the cancelled writer left while its commit still ran"
    # a writer that left would have rolled back on the loop's thread, waiting there for the
    # connection its commit still held: the whole loop stood still
    assert paused < 5, f"the event loop stood still for {paused:.1f} s while the commit ran"
    assert [row[0] for row in await db.query(text("SELECT value FROM items"))] == [6]
    async with db.write() as session:
        await session.execute(text("INSERT INTO items VALUES (7)"))
    assert [row[0] for row in await db.query(text("SELECT value FROM items ORDER BY value"))] == [6, 7]


async def test_a_write_in_a_cancelled_scope_commits_nothing(database: tuple[Database, Path]) -> None:
    """The writer's statements run without a checkpoint between them: the commit is where a
    cancelled caller stops, before the commit is made."""
    db, _ = database
    with anyio.CancelScope() as scope:
        scope.cancel()
        async with db.write() as session:
            await session.execute(text("INSERT INTO items VALUES (8)"))
    assert scope.cancelled_caught
    assert await db.query(text("SELECT value FROM items")) == []
