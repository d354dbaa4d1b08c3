"""GetTaskLogs on PostgreSQL with the blob store on MinIO: a log kept as an object is served
from an offset, a log file is followed until its attempt ends, a pruned object says so."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import asyncpg
import pytest

from tests.unit.remote.logged import RUN, Served, serve_logs
from wingspan._remote.client import AsyncRemote
from wingspan.core.config import Settings
from wingspan.core.errors import NotFoundError
from wingspan.core.storage.s3 import S3BlobStore
from wingspan.protos import v1

pytestmark = pytest.mark.real


@pytest.fixture
async def served(pg_url: str, pg_dsn: str, s3_settings: Settings, tmp_path: Path) -> AsyncIterator[Served]:
    name = f"wingspan_logs_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_dsn.rsplit("/", 1)[0] + "/postgres", timeout=30)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        settings = dataclasses.replace(s3_settings, db_url=pg_url.rsplit("/", 1)[0] + f"/{name}")
        async with serve_logs(settings) as running:
            yield running
        async with S3BlobStore.from_settings(settings) as store:
            await store.delete_prefix(store.root + "/")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def remote(served: Served) -> AsyncIterator[AsyncRemote]:
    client = AsyncRemote(served.address)
    try:
        yield client
    finally:
        await client.aclose()


async def test_a_log_in_the_blob_store_from_an_offset(served: Served, remote: AsyncRemote) -> None:
    store = served.admin.store
    uri = store.uri("executions", "default", "development", RUN, "n0-1.log")
    assert uri.startswith("s3://")
    await store.put(uri, b"kept on minio\n")
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log=uri)
    assert b"".join([c.data async for c in remote.logs(RUN, "n0")]) == b"kept on minio\n"
    node = v1.NodeExecutionId(execution_id=v1.ExecutionId(project="default", domain="development", name=RUN),
                              node_id="n0")
    request = v1.GetTaskLogsRequest(node_execution_id=node, attempt=1, offset=8)
    [chunk] = [c async for c in remote.transport.stream("get_task_logs", request, "logs")]
    assert (bytes(chunk.data), chunk.next_offset, chunk.complete) == (b"minio\n", 14, True)
    await store.delete(uri)
    with pytest.raises(NotFoundError, match=r"its log s3://.*n0-1\.log is gone \(pruned\)"):
        _ = [c async for c in remote.logs(RUN, "n0")]


async def test_follow_on_postgres_wakes_with_the_events(served: Served, remote: AsyncRemote) -> None:
    served.admin.logs.poll_interval = 60  # only the wake-up by recorded events can deliver in time
    log = served.folder / "n1.log"
    await served.attempt("n1", 1, v1.TaskPhase.RUNNING, log=log)
    got: list[bytes] = []
    arrived = anyio.Event()

    async def follow() -> None:
        async for chunk in remote.logs(RUN, "n1", follow=True):
            got.append(chunk.data)
            arrived.set()

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(follow)
            log.write_text("working\n")
            await served.attempt("n1", 1, v1.TaskPhase.RUNNING, log=log, handle={"step": "still"})
            await arrived.wait()
            with log.open("a") as file:
                file.write("done\n")
            await served.attempt("n1", 1, v1.TaskPhase.SUCCEEDED, log=log)
    assert b"".join(got) == b"working\ndone\n"
