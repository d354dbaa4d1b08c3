"""The local catalog: one SQLite file (``$WINGSPAN_HOME/cache/catalog.sqlite``), used
through the standard library's sqlite3 in worker threads. Several processes may share
the file: a reservation is taken in an immediate transaction."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from wingspan.core.catalog.interface import CachedOutputs, CacheKey, Catalog, Reservation

__all__ = ["SqliteCatalog"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, task TEXT NOT NULL, version TEXT NOT NULL, outputs BLOB NOT NULL,
    source TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (
    key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL);
"""


class SqliteCatalog(Catalog):
    """Cached outputs in a SQLite file; safe across threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                         check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            self._connection = connection
        return self._connection

    async def _run(self, func: Any, *args: Any) -> Any:
        def locked() -> Any:
            with self._lock:
                return func(self._connect(), *args)

        return await anyio.to_thread.run_sync(locked)

    async def get(self, key: CacheKey) -> CachedOutputs | None:
        row = await self._run(_get, key.text)
        if row is None:
            return None
        return CachedOutputs(key, row[0], row[1], row[2])

    async def put(self, entry: CachedOutputs) -> None:
        await self._run(_put, entry)

    async def reserve(self, key: CacheKey, owner: str, ttl: float) -> Reservation:
        result: Reservation = await self._run(_reserve, key, owner, ttl)
        return result

    async def release(self, key: CacheKey, owner: str) -> None:
        await self._run(_release, key.text, owner)

    async def clear(self) -> int:
        count: int = await self._run(_clear)
        return count

    async def aclose(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _get(db: sqlite3.Connection, key: str) -> Any:
    return db.execute("SELECT outputs, source, created_at FROM entries WHERE key = ?", (key,)).fetchone()


def _put(db: sqlite3.Connection, entry: CachedOutputs) -> None:
    db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
               (entry.key.text, entry.key.task, entry.key.version, entry.outputs, entry.source,
                entry.created_at or time.time()))


def _reserve(db: sqlite3.Connection, key: CacheKey, owner: str, ttl: float) -> Reservation:
    now = time.time()
    db.execute("BEGIN IMMEDIATE")
    try:
        row = db.execute("SELECT owner, expires_at FROM reservations WHERE key = ?", (key.text,)).fetchone()
        if row is not None and row[0] != owner and row[1] > now:
            db.execute("COMMIT")
            return Reservation(key, row[0], row[1], acquired=False)
        db.execute("INSERT OR REPLACE INTO reservations VALUES (?, ?, ?)", (key.text, owner, now + ttl))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return Reservation(key, owner, now + ttl, acquired=True)


def _release(db: sqlite3.Connection, key: str, owner: str) -> None:
    db.execute("DELETE FROM reservations WHERE key = ? AND owner = ?", (key, owner))


def _clear(db: sqlite3.Connection) -> int:
    count = db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    db.execute("DELETE FROM entries")
    db.execute("DELETE FROM reservations")
    return int(count)
