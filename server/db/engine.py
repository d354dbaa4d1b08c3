"""The async database: an engine per backend, and sessions for reading and for writing.

SQLite (the default, a file under ``$WINGSPAN_HOME/db``) runs in WAL mode with a busy
timeout; its writes take the write lock when they begin (``BEGIN IMMEDIATE``), so two
writers never deadlock upgrading a read lock, and writers of one process queue on a
one-connection pool instead of spinning on the lock. Single statements that a caller repeats
often (:meth:`Database.query`) run outside any transaction. PostgreSQL (asyncpg) needs none
of this: one engine serves reads and writes.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, overload

from sqlalchemy import Executable, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.server.db import inline_sqlite

__all__ = ["DATABASE_ERRORS", "Database", "is_unique_violation", "now", "utc"]

#: what a statement raises when the database is away or refuses it (the driver's errors come
#: wrapped in SQLAlchemy's; a connection that cannot be made may surface as an OSError)
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, OSError)

#: how long a SQLite writer waits for another process's write lock, in milliseconds
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: SQLite read connections each pool keeps open (reading sessions, and single statements)
SQLITE_READ_POOL = 15
#: PostgreSQL connections a process keeps open (reads and writes share them)
POSTGRESQL_POOL = 30


def now() -> datetime:
    return datetime.now(UTC)


@overload
def utc(value: datetime) -> datetime: ...


@overload
def utc(value: None) -> None: ...


def utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime (SQLite returns stored datetimes without their zone)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _is_plain_file(url: str) -> bool:
    """Whether a SQLite URL names a file by its path alone (not an in-memory database, nor a URI
    with options for the driver)."""
    parsed = make_url(url)
    return bool(parsed.database) and parsed.database != ":memory:" and not parsed.query


def is_unique_violation(exc: IntegrityError) -> bool:
    """Whether the database refused a row because a unique key already holds it."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code is not None:
        return str(code) == "23505"
    text = str(orig or exc)
    return "UNIQUE constraint failed" in text or "duplicate key" in text


class Database:
    """Engines and sessions for one database URL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.read_engine = self._sqlite_engine(url, echo, immediate=False)
            self.write_engine = self._sqlite_engine(url, echo, immediate=True)
            self.statement_engine = self._sqlite_engine(url, echo, immediate=False, transactions=False)
        elif self.dialect == "postgresql":
            if parsed.get_driver_name() != "asyncpg":
                raise ConfigError(
                    f"database URL {parsed.render_as_string()}: use the asyncpg driver "
                    "(postgresql+asyncpg://...)"
                )
            # no pre-ping (a round trip per checkout): a dropped connection fails one statement and
            # the pool replaces it. As many connections at once as before (10, and 20 more closed
            # as each came back), none closed: a new one costs the startup, the password exchange
            # and the driver's type set-up, and loses its prepared statements (40 clients reopened
            # one every seven task executions)
            engine = create_async_engine(url, echo=echo, pool_size=POSTGRESQL_POOL, max_overflow=0,
                                         pool_recycle=1800, hide_parameters=True)
            self.read_engine = self.write_engine = engine
            # the same pool; asyncpg sets autocommit on its side, no statement sent
            self.statement_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        else:
            raise ConfigError(
                f"unsupported database URL {parsed.render_as_string()}: use "
                "sqlite+aiosqlite:///PATH or postgresql+asyncpg://..."
            )
        self._reads = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._writes = async_sessionmaker(self.write_engine, expire_on_commit=False)
        #: told how long each session was held ("read", "write" or "statement"; a writer's wait
        #: for SQLite's one write connection included): the server's metrics
        self.on_transaction: Callable[[str, float], None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(settings.database_url)

    @staticmethod
    def _sqlite_engine(url: str, echo: bool, *, immediate: bool, transactions: bool = True) -> AsyncEngine:
        # hide_parameters: logs and errors show statements, never the values (task data, secrets)
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True,
                                  "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
        if not transactions:
            # no BEGIN, and no ROLLBACK when a connection goes back to the pool: each costs
            # aiosqlite a hop to its thread and back
            kwargs.update(isolation_level="AUTOCOMMIT", skip_autocommit_rollback=True)
        if immediate:
            # one writer connection per process: writers queue here, asynchronously
            kwargs.update(pool_size=1, max_overflow=0, pool_timeout=300)
        else:
            # readers keep their connections: the default pool (5, and 10 more closed as each is
            # returned) opened one every ten task executions under 40 clients, and opening one
            # (a thread for aiosqlite, the pragmas) cost more than the reads it served. As many
            # at once as before; a reader past them waits for one to come back (30 s at most, as
            # before)
            kwargs.update(pool_size=SQLITE_READ_POOL, max_overflow=0)
        inline = (immediate or not transactions) and _is_plain_file(url)
        if inline:
            # the writer's and single statements' calls run on the loop's thread: see inline_sqlite
            kwargs["async_creator"] = functools.partial(
                inline_sqlite.connect, make_url(url).database or "", busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS)
        engine = create_async_engine(url, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # the driver's own implicit BEGIN is off: the "begin" hook below says how to begin
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(connection: Any) -> None:
            if inline and immediate:
                connection.connection.dbapi_connection.run_async(lambda raw: raw.begin_immediate())
            elif transactions:
                connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries; nothing it does is committed."""
        started = time.perf_counter()
        try:
            async with self._reads() as session:
                yield session
        finally:
            self._held("read", started)

    async def query(self, statement: Executable, parameters: Mapping[str, Any] | None = None) -> list[Any]:
        """The rows of one read-only statement, run outside any transaction: a statement sees one
        snapshot by itself, so nothing begins or rolls back around it (the reads a follower
        repeats often)."""
        started = time.perf_counter()
        try:
            async with self.statement_engine.connect() as connection:
                return list((await connection.execute(statement, parameters)).all())
        finally:
            self._held("statement", started)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed when the block ends, rolled back if it raises."""
        started = time.perf_counter()
        try:
            async with self._writes() as session, session.begin():
                yield session
        finally:
            self._held("write", started)

    def _held(self, access: str, started: float) -> None:
        if self.on_transaction is not None:
            self.on_transaction(access, time.perf_counter() - started)

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.statement_engine.sync_engine.pool is not self.read_engine.sync_engine.pool:
            await self.statement_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.dispose()
