"""Retention on PostgreSQL and MinIO (issue #25, item 3): the scenario of
tests/unit/remote/retention_scenario.py, with the deleted objects really gone from the bucket
(listed by a client of its own) and the rows gone from PostgreSQL."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.unit.remote.retention_scenario import retention_deletes_what_expired_executions_own, write_code
from tests.unit.remote.servers import api_server
from wingspan.core.config import Settings
from wingspan.core.storage.s3 import S3BlobStore

pytestmark = pytest.mark.real


async def _admin(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres", timeout=30)


@pytest.fixture
async def fresh_pg(pg_url: str, pg_dsn: str) -> AsyncIterator[tuple[str, str]]:
    name = f"wingspan_retention_{uuid.uuid4().hex[:12]}"
    conn = await _admin(pg_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield pg_url.rsplit("/", 1)[0] + f"/{name}", pg_dsn.rsplit("/", 1)[0] + f"/{name}"
    conn = await _admin(pg_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_code(tmp_path_factory)


async def test_retention_on_postgres_and_minio(fresh_pg: tuple[str, str], s3_settings: Settings, code: Path,
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, dsn = fresh_pg
    settings = dataclasses.replace(s3_settings, db_url=url)
    # the server's worker processes read the store's settings from the environment
    for name in ("s3_endpoint", "s3_access_key", "s3_secret_key", "s3_region"):
        monkeypatch.setenv(f"WINGSPAN_{name.upper()}", str(getattr(s3_settings, name)))
    async with S3BlobStore.from_settings(settings) as bucket:
        try:
            async with api_server(tmp_path / "home", engine=True, settings=settings) as server:
                assert server.settings.storage.startswith("s3://")
                await retention_deletes_what_expired_executions_own(server, code)
            # listed by a client of its own: the objects of the two executions are gone
            keys = [uri async for uri in bucket.list_prefix(bucket.root + "/")]
            assert keys and not [k for k in keys if "/alone/" in k or "/executions/short/" in k], keys
            assert all("/old/n0/" in k for k in keys if "/short/development/old/" in k)
            conn = await asyncpg.connect(dsn, timeout=30)
            try:
                names = [r["name"] for r in await conn.fetch("SELECT name FROM executions ORDER BY name")]
                tables = ("node_executions", "task_executions", "events")
                counts = {table: await conn.fetchval(
                    f"SELECT count(*) FROM {table} t JOIN executions e ON e.id = t.execution_id "
                    "WHERE e.project = 'short'") for table in tables}
                orphans = await conn.fetchval("SELECT count(*) FROM events WHERE execution_id NOT IN "
                                              "(SELECT id FROM executions)")
            finally:
                await conn.close()
            assert names == ["user"] and counts == dict.fromkeys(counts, 0) and orphans == 0
        finally:
            await bucket.delete_prefix(bucket.root + "/")
