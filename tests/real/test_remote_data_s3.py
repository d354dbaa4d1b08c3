"""Remote-data helpers on MinIO (issue #22 item 24): a task streams a file larger than an S3
part into the store (a multipart upload, one part in memory at a time) and returns it as it
is; the next task reads it in chunks and lists a folder, on a server whose store is S3."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio.to_thread
import pytest

from tests.unit.types import remote_data_tasks as tasks
from tests.unit.types.test_types_remote_data import expected_summary
from wingspan import File
from wingspan._remote.client import AsyncRemote
from wingspan.core.config import Settings
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.storage.s3 import S3BlobStore
from wingspan.server.serve import ApiServer

pytestmark = pytest.mark.real


async def test_a_file_streamed_into_s3_in_parts_and_a_listing_on_a_server(s3_server: ApiServer,
                                                                          tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(Path(tasks.__file__), code / "s3_remote_data.py")
    client = AsyncRemote(s3_server.grpc_address)
    try:
        await client.register(code)
        # 12 MiB: three parts of S3's 5 MiB minimum, the last one short
        execution = await client.execute("s3_remote_data.stream_and_list", {"mib": 12, "count": 2},
                                         wait=True, timeout=180)
        assert execution.phase == WorkflowPhase.SUCCEEDED, execution.error
        assert await execution.outputs() == {"o0": expected_summary(12)}
        async with S3BlobStore.from_settings(s3_server.settings) as store:
            prefix = store.uri("data", "default", "development", execution.name, "n0") + "/"
            written = [uri[len(prefix):] async for uri in store.list_prefix(prefix)]
            (large,) = [uri for uri in written if uri.endswith(".bin")]
            assert large.startswith("0/raw/") and await store.size(prefix + large) == 12 * tasks.MIB
    finally:
        await client.aclose()


async def test_a_stored_s3_file_is_read_as_a_stream_from_synchronous_code(
        s3_store: S3BlobStore, s3_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("storage", "s3_endpoint", "s3_access_key", "s3_secret_key", "s3_region"):
        monkeypatch.setenv(f"WINGSPAN_{name.upper()}", str(getattr(s3_settings, name)))
    uri = s3_store.uri("streams", "seven.bin")
    await s3_store.put(uri, tasks.pattern(7))

    def read() -> tuple[bytes, bool]:
        given = File(uri)  # a URI alone: read through the store this process is configured for
        with given.open("rb") as source:
            data = b"".join(iter(lambda: source.read(1_000_000), b""))
        return data, given.local_source is None

    data, never_downloaded = await anyio.to_thread.run_sync(read)
    assert data == tasks.pattern(7) and never_downloaded
