"""Every RPC over real gRPC and real HTTP on loopback, against PostgreSQL and MinIO: the data
proxy hands out presigned S3 URLs, which a plain HTTP client uses."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.unit.api.scenario import run_every_method
from tests.unit.api.transports import GrpcClient, HttpClient
from wingspan.core.config import Settings
from wingspan.core.storage.s3 import S3BlobStore
from wingspan.server.api.methods import methods
from wingspan.server.serve import ApiServer

pytestmark = pytest.mark.real


async def _admin(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres", timeout=30)


@pytest.fixture
async def fresh_pg_url(pg_url: str, pg_dsn: str) -> AsyncIterator[str]:
    name = f"wingspan_api_{uuid.uuid4().hex[:12]}"
    conn = await _admin(pg_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    conn = await _admin(pg_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def real_server(fresh_pg_url: str, s3_settings: Settings, tmp_path: Path) -> AsyncIterator[ApiServer]:
    settings = dataclasses.replace(s3_settings, db_url=fresh_pg_url, http_port=0, grpc_port=0)
    # without the engine: the scenario writes the execution's events itself, as an engine would
    async with ApiServer(settings, grace=2, engine=False) as server:
        yield server
    async with S3BlobStore.from_settings(settings) as store:
        await store.delete_prefix(store.root + "/")


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_every_method_on_postgres_and_minio(real_server: ApiServer, transport: str) -> None:
    assert real_server.settings.storage.startswith("s3://")
    assert real_server.settings.database_url.startswith("postgresql")
    client = (GrpcClient("127.0.0.1", real_server.grpc_port) if transport == "grpc"
              else HttpClient(real_server.http_url))
    try:
        called = await run_every_method(client, real_server)
    finally:
        await client.aclose()
    assert called == {m.name for m in methods()}
