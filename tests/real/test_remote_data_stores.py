"""Remote-data helpers on each object store (issue #22 item 24): a task streams a file larger
than a part into the store (an upload in parts, one part in memory at a time) and returns it as
it is; the next task reads it in chunks and lists a folder, on a server whose store is S3
(MinIO), Azure (Azurite) or GCS (fake-gcs-server)."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio.to_thread
import pytest

from tests.unit.types import remote_data_tasks as tasks
from tests.unit.types.test_types_remote_data import expected_summary
from wingspan import File
from wingspan._remote.client import AsyncRemote
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.storage import BlobStore, open_blob_store
from wingspan.server.serve import ApiServer

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the module ``stored_remote_data`` in this session: a module name is imported once."""
    folder = tmp_path_factory.mktemp("remote-data-code")
    shutil.copy(Path(tasks.__file__), folder / "stored_remote_data.py")
    return folder


async def test_a_file_streamed_into_the_store_in_parts_and_a_listing_on_a_server(store_server: ApiServer,
                                                                                 code: Path) -> None:
    client = AsyncRemote(store_server.grpc_address)
    try:
        await client.register(code)
        # 12 MiB: on S3 three parts of its 5 MiB minimum, the last one short
        execution = await client.execute("stored_remote_data.stream_and_list", {"mib": 12, "count": 2},
                                         wait=True, timeout=180)
        assert execution.phase == WorkflowPhase.SUCCEEDED, execution.error
        assert await execution.outputs() == {"o0": expected_summary(12)}
        async with open_blob_store(store_server.settings) as store:
            prefix = store.uri("data", "default", "development", execution.name, "n0") + "/"
            written = [uri[len(prefix):] async for uri in store.list_prefix(prefix)]
            (large,) = [uri for uri in written if uri.endswith(".bin")]
            assert large.startswith("0/raw/") and await store.size(prefix + large) == 12 * tasks.MIB
    finally:
        await client.aclose()


async def test_a_stored_file_is_read_as_a_stream_from_synchronous_code(
        blob_store: BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINGSPAN_STORAGE", blob_store.root)
    for name, value in blob_store.environment().items():
        monkeypatch.setenv(name, value)
    uri = blob_store.uri("streams", "seven.bin")
    await blob_store.put(uri, tasks.pattern(7))

    def read() -> tuple[bytes, bool]:
        given = File(uri)  # a URI alone: read through the store this process is configured for
        with given.open("rb") as source:
            data = b"".join(iter(lambda: source.read(1_000_000), b""))
        return data, given.local_source is None

    data, never_downloaded = await anyio.to_thread.run_sync(read)
    assert data == tasks.pattern(7) and never_downloaded
