"""A migrated SQLite database and the key ring over it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wingspan.server.auth.keys import KeyRing
from wingspan.server.db.engine import Database
from wingspan.server.db.migrate import migrate

ISSUER = "http://127.0.0.1:8080"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'auth.sqlite'}")
    await migrate(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def keys(db: Database) -> KeyRing:
    return KeyRing(db, sign_seconds=3600, token_seconds=900)
