"""The service suite runs on both backends: SQLite in tmp_path (fast tier) and a real
PostgreSQL (marker ``real``; a fresh database per test, copied from a migrated template).

``admin`` is an open AdminService with a small inline limit, so that payloads above
4 KiB go through the blob store (a local folder under tmp_path).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.real.conftest import postgres_env  # noqa: F401 - the session fixture, shared
from wingspan.core.config import Settings
from wingspan.server.db import migrate as migrate_module
from wingspan.server.db.engine import Database
from wingspan.server.db.migrate import migrate
from wingspan.server.services.admin import AdminService

INLINE_LIMIT = 4096
MIGRATIONS = Path(migrate_module.__file__).resolve().parent / "migrations" / "versions"
# one migrated template per schema: named by the digest of the revisions, kept between runs
_TEMPLATE = (
    "wingspan_svc_"
    + hashlib.sha256(b"".join(p.read_bytes() for p in sorted(MIGRATIONS.glob("*.py")))).hexdigest()[:16]
)
_template_ready: list[bool] = []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.real)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _admin_connection(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres", timeout=30)


async def _ensure_template(dsn: str, url: str) -> None:
    """Makes the migrated template once for all test processes (xdist workers, other worktrees):
    the first one to take the advisory lock migrates a scratch database and renames it into
    place, so a template is never seen half-migrated (nor copied while it is being migrated:
    PostgreSQL refuses to copy a database others are connected to)."""
    if _template_ready:
        return
    conn = await _admin_connection(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", _TEMPLATE)
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", _TEMPLATE):
            scratch = f"{_TEMPLATE}_making"
            await conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')  # an interrupted one
            await conn.execute(f'CREATE DATABASE "{scratch}"')
            db = Database(url.rsplit("/", 1)[0] + f"/{scratch}")
            try:
                await migrate(db)
            finally:
                await db.dispose()
            await conn.execute(f'ALTER DATABASE "{scratch}" RENAME TO "{_TEMPLATE}"')
    finally:
        await conn.close()  # and with it the advisory lock
    _template_ready.append(True)


@pytest.fixture
async def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'db' / 'wingspan.sqlite'}"
        return
    env = request.getfixturevalue("postgres_env")
    dsn, url = env["WINGSPAN_TEST_PG_DSN"], env["WINGSPAN_TEST_PG_URL"]
    await _ensure_template(dsn, url)
    name = f"wingspan_svc_{uuid.uuid4().hex[:12]}"
    conn = await _admin_connection(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_TEMPLATE}"')
    finally:
        await conn.close()
    yield url.rsplit("/", 1)[0] + f"/{name}"
    conn = await _admin_connection(dsn)
    try:
        for attempt in range(5):
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except asyncpg.InsufficientPrivilegeError:
                # a server-owned worker (autovacuum on a cluster started without our
                # settings) is in the database; it leaves within moments
                if attempt == 4:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
    finally:
        await conn.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", db_url=db_url)


@pytest.fixture
async def admin(settings: Settings) -> AsyncIterator[AdminService]:
    service = await AdminService.open(settings, inline_limit=INLINE_LIMIT)
    try:
        yield service
    finally:
        await service.aclose()
