"""A File("s3://...") given to a local run is read through the S3 endpoint this process is
configured for (issue #22 item 4), while the run's own blob store stays the local folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.real.conftest import TEST_BUCKET
from wingspan import File, task, workflow
from wingspan.core.storage.s3 import S3BlobStore

pytestmark = pytest.mark.real


@task
def text_of(source: File) -> str:
    return Path(source.download()).read_text()


@workflow
def read_one(source: File) -> str:
    result: str = text_of(source=source)
    return result


@pytest.mark.parametrize("target", ["in-process", "local-process"])
async def test_an_s3_file_is_read_in_a_local_run(s3_store: S3BlobStore, minio_env: dict[str, str],
                                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 target: str) -> None:
    import anyio.to_thread

    uri = s3_store.uri("inputs", "data.txt")
    assert uri.startswith(f"s3://{TEST_BUCKET}/")
    await s3_store.put(uri, b"hello from s3")
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WINGSPAN_STORAGE", raising=False)
    monkeypatch.setenv("WINGSPAN_TASK_TARGETS", "" if target == "in-process" else target)
    monkeypatch.setenv("WINGSPAN_S3_ENDPOINT", minio_env["WINGSPAN_TEST_S3_ENDPOINT"])
    monkeypatch.setenv("WINGSPAN_S3_ACCESS_KEY", minio_env["WINGSPAN_TEST_S3_ACCESS_KEY"])
    monkeypatch.setenv("WINGSPAN_S3_SECRET_KEY", minio_env["WINGSPAN_TEST_S3_SECRET_KEY"])
    monkeypatch.setenv("WINGSPAN_S3_REGION", minio_env["WINGSPAN_TEST_S3_REGION"])
    assert await anyio.to_thread.run_sync(lambda: read_one(source=File(uri))) == "hello from s3"
