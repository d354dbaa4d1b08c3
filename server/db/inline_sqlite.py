"""SQLite connections that run each call on the caller's thread, for SQLAlchemy's aiosqlite
dialect (its ``async_creator``).

aiosqlite runs every call of a connection on that connection's own thread: a statement costs
three or four hops there and back (cursor, execute, fetch, close), each a queue put, a thread
wake-up, a write to the event loop's self-pipe and a loop turn. On a local SQLite file in WAL
mode a statement itself takes microseconds, so the hops were most of the server's database CPU.
These connections answer at once instead, on the event loop's thread.

The event loop must never wait on them: :class:`~wingspan.server.db.engine.Database` uses them
for its writer and for its single-statement reads, not for its read sessions (a console list
over 100,000 executions may take a while; on aiosqlite's thread the loop goes on meanwhile).
A read in WAL mode never waits for a writer. A write transaction waits only for another
process's write lock, in its ``BEGIN IMMEDIATE`` (:meth:`InlineConnection.begin_immediate`
tries at once and waits on a worker thread if it must), and does its disk I/O in ``COMMIT``
(an automatic checkpoint copies the log into the database file and syncs it), which runs on a
worker thread too: two hops a transaction instead of three or four a statement.

A call on a worker thread goes on there whatever happens to the task that made it, so that task
waits for its end even when cancelled meanwhile (:func:`_to_completion`): a caller that left early
would have left its pooled connection committing under the next user's feet, or holding a write
lock that it took after its caller had gone (a server stopping then waited for that lock in
vain: "database is locked").
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio
import anyio.lowlevel

_T = TypeVar("_T")

__all__ = ["InlineConnection", "connect"]


class InlineCursor:
    """aiosqlite's cursor interface over a sqlite3 cursor, each call run at once."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None


class _Immediate:
    """Stands in for aiosqlite's call queue, which SQLAlchemy's dialect uses directly to set
    the isolation level: the call runs at once."""

    __slots__ = ()

    @staticmethod
    def put_nowait(item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting caller, as aiosqlite does
            if future is not None:
                future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection:
    """aiosqlite's connection interface over a sqlite3 connection, each call run at once on the
    caller's thread but a commit and a wait for the write lock (see the module's note)."""

    _tx = _Immediate()

    def __init__(self, connection: sqlite3.Connection, busy_timeout_ms: int) -> None:
        self._conn = connection
        self._busy_timeout_ms = busy_timeout_ms

    @property
    def _connection(self) -> sqlite3.Connection:  # what the dialect checks before commit/rollback
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        # on a worker thread: a commit may run a checkpoint, which writes and syncs the file. A
        # caller cancelled meanwhile hears of it once the commit has ended (committed, then)
        await _to_completion(self._conn.commit)

    async def begin_immediate(self) -> None:
        """``BEGIN IMMEDIATE``: tried at once; if another process holds the write lock, waited
        for on a worker thread (up to the busy timeout), never on the event loop's."""
        self._conn.execute("PRAGMA busy_timeout=0")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
        finally:
            self._conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        try:
            await _to_completion(self._conn.execute, "BEGIN IMMEDIATE")
        except asyncio.CancelledError:
            # begun all the same, for a caller that has gone: the lock goes back at once
            if self._conn.in_transaction:
                self._conn.rollback()
            raise

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


async def _to_completion(function: Callable[..., _T], *args: Any) -> _T:
    """``function(*args)`` on a worker thread, waited for until it ends; a cancellation that came
    meanwhile (anyio's, or asyncio's own ``Task.cancel``, which anyio's shield does not hold off)
    is raised then, after the call. A caller cancelled already does not make it (as before a
    commit of a cancelled scope's transaction)."""
    await anyio.lowlevel.checkpoint_if_cancelled()
    call = asyncio.get_running_loop().run_in_executor(None, function, *args)
    cancelled: asyncio.CancelledError | None = None
    with anyio.CancelScope(shield=True):  # anyio's cancellation is not delivered again and again
        while not call.done():
            try:
                await asyncio.shield(call)
            except asyncio.CancelledError as exc:
                cancelled = exc
    if cancelled is not None:
        raise cancelled
    return call.result()


async def connect(path: str, *, busy_timeout_ms: int) -> InlineConnection:
    """A connection to the SQLite file ``path`` whose calls run on the caller's thread."""
    connection = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, check_same_thread=False,
                                 isolation_level=None)
    return InlineConnection(connection, busy_timeout_ms)
