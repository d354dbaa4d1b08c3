"""What only the S3 store shows, against a real MinIO: S3's etags tell single uploads (the MD5
of the body) from multipart ones (``-<parts>``). Everything every store does is the shared
suite's (test_blob_stores.py), which runs on MinIO too."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wingspan.core.errors import StorageError
from wingspan.core.storage.s3 import S3BlobStore

pytestmark = pytest.mark.real

MiB = 1024 * 1024


async def chunks(total: int, size: int = MiB) -> AsyncIterator[bytes]:
    for i, start in enumerate(range(0, total, size)):
        yield bytes([i % 251]) * min(size, total - start)


async def test_a_single_upload_has_the_md5_etag(s3_store: S3BlobStore) -> None:
    uri = s3_store.uri("runs", "r1", "out.bin")
    await s3_store.put(uri, b"hello")
    assert (await s3_store.stat(uri)).etag == hashlib.md5(b"hello").hexdigest()
    await s3_store.put(s3_store.uri("small.bin"), chunks(100_000, size=7_000))
    assert "-" not in (await s3_store.stat(s3_store.uri("small.bin"))).etag


async def test_a_large_stream_goes_up_in_parts(s3_store: S3BlobStore) -> None:
    uri = s3_store.uri("big.bin")
    assert await s3_store.put(uri, chunks(20 * MiB + 123)) == 20 * MiB + 123
    assert (await s3_store.stat(uri)).etag.endswith("-5")  # 4 parts of 5 MiB and a short last one


async def test_large_bytes_and_files_use_multipart(s3_store: S3BlobStore, tmp_path: Path) -> None:
    payload = os.urandom(11 * MiB)
    uri = s3_store.uri("bytes.bin")
    await s3_store.put(uri, payload)
    assert (await s3_store.stat(uri)).etag.endswith("-3")
    source = tmp_path / "source.bin"
    source.write_bytes(payload)
    file_uri = s3_store.uri("files", "copy.bin")
    await s3_store.upload_file(source, file_uri)
    assert (await s3_store.stat(file_uri)).etag.endswith("-3")


async def test_an_unreachable_endpoint_is_a_storage_error() -> None:
    async with S3BlobStore("s3://any-bucket", endpoint="http://127.0.0.1:9",
                           access_key="k", secret_key="secret") as store:
        with pytest.raises(StorageError, match="S3 could not read") as info:
            await asyncio.wait_for(store.get(store.uri("a")), timeout=60)
    assert info.value.__cause__ is not None
