"""A File("s3://..."), File("abfs://...") or File("gs://...") given to a local run is read through
the object store this process is configured for (issue #22 item 4), while the run's own blob
store stays the local folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.real.stores import TEST_BUCKET
from wingspan import File, task, workflow
from wingspan.core.storage import BlobStore

pytestmark = pytest.mark.real


@task
def text_of(source: File) -> str:
    return Path(source.download()).read_text()


@workflow
def read_one(source: File) -> str:
    result: str = text_of(source=source)
    return result


@pytest.mark.parametrize("target", ["in-process", "local-process"])
async def test_an_object_store_file_is_read_in_a_local_run(blob_store: BlobStore,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path, target: str) -> None:
    import anyio.to_thread

    uri = blob_store.uri("inputs", "data.txt")
    assert uri.startswith(blob_store.root.partition("://")[0] + f"://{TEST_BUCKET}/")
    await blob_store.put(uri, b"hello from the store")
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WINGSPAN_STORAGE", raising=False)
    monkeypatch.setenv("WINGSPAN_TASK_TARGETS", "" if target == "in-process" else target)
    for name, value in blob_store.environment().items():  # the endpoint and keys, as a user sets them
        monkeypatch.setenv(name, value)
    assert await anyio.to_thread.run_sync(lambda: read_one(source=File(uri))) == "hello from the store"
