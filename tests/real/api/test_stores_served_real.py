"""A server on each object store (S3 on MinIO, Azure on Azurite, GCS on fake-gcs-server), used
by a client that holds none of the store's keys: the code bundle and a large input go up
through the data proxy's signed URLs, the workers (separate processes, told the store by its
``environment()``) offload a large value between tasks, and the outputs come down through the
data proxy again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import pytest

from tests.unit.api.transports import HttpClient
from wingspan._registration.discovery import load_entities
from wingspan._remote.client import AsyncRemote
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.storage import open_blob_store
from wingspan.core.types.files import File
from wingspan.protos import v1
from wingspan.server.serve import ApiServer

pytestmark = pytest.mark.real

BIG = 5 * 1024 * 1024  # over the 4 MiB offload threshold

FLOWS = '''
from wingspan import File, task, workflow

@task
def make(n: int) -> str:
    return "y" * n

@task
def measure(a: str, b: str) -> int:
    return len(a) + len(b)

@task
def write(total: int) -> File:
    with open("total.txt", "w") as out:
        out.write(str(total))
    return File("total.txt")

@workflow
def sizes(text: str, n: int) -> tuple[int, File, str]:
    made = make(n=n)
    total = measure(a=text, b=made)
    return total, write(total=total), made
'''


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the module ``served_sizes`` in this session: a module name is imported once."""
    folder = tmp_path_factory.mktemp("served-code")
    (folder / "served_sizes.py").write_text(FLOWS)
    return folder


async def test_a_run_whose_values_travel_through_the_store(store_server: ApiServer, code: Path) -> None:
    entities = load_entities(code / "served_sizes.py")
    client = AsyncRemote(store_server.grpc_address)  # only the endpoint: no store keys here
    scheme = store_server.settings.storage.partition("://")[0]
    try:
        await client.register(code)
        run = await client.execute(entities["served_sizes.sizes"], {"text": "x" * BIG, "n": BIG},
                                   wait=True, timeout=180)
        assert run.phase == WorkflowPhase.SUCCEEDED, run.error
        total, stored, made = (await run.outputs()).values()
        assert total == 2 * BIG and made == "y" * BIG
        assert isinstance(stored, File) and (stored.uri or "").startswith(f"{scheme}://")
        assert await anyio.Path(await stored.download_async()).read_text() == str(2 * BIG)
    finally:
        await client.aclose()
    async with open_blob_store(store_server.settings) as store:
        sizes = {uri: await store.size(uri) async for uri in store.list_prefix(store.root + "/")}
    # the bundle and the input came up through the proxy; the made string was offloaded
    assert any("/uploads/" in uri and uri.endswith(".tar.gz") for uri in sizes)
    assert sum(1 for uri, size in sizes.items() if size > BIG) >= 2, sizes


async def test_upload_locations_over_http_name_the_headers_to_send(store_server: ApiServer) -> None:
    http = HttpClient(store_server.http_url)
    md5 = hashlib.md5(b"data").digest()
    try:
        location = await http.call("CreateUploadLocation", v1.CreateUploadLocationRequest(
            project="default", domain="development", filename="data.bin", content_md5=md5))
    finally:
        await http.aclose()
    async with open_blob_store(store_server.settings) as store:
        assert dict(location.headers) == store.upload_headers()
        assert location.native_url == store.uri("uploads", "default", "development", md5.hex(), "data.bin")
