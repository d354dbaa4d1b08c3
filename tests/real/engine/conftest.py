"""A fresh PostgreSQL database per test for the engine replicas' tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest


@pytest.fixture
async def database(postgres_env: dict[str, str]) -> AsyncIterator[tuple[str, str]]:
    """A fresh, empty database: (SQLAlchemy URL, libpq DSN)."""
    dsn, url = postgres_env["WINGSPAN_TEST_PG_DSN"], postgres_env["WINGSPAN_TEST_PG_URL"]
    name = f"wingspan_replicas_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres", timeout=30)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}", dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres", timeout=30)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
