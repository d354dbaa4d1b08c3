"""The S3 blob store against a real MinIO."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from wingspan.core.config import Settings
from wingspan.core.errors import NotFoundError, StorageError
from wingspan.core.storage import open_blob_store
from wingspan.core.storage.s3 import S3BlobStore

pytestmark = pytest.mark.real

MiB = 1024 * 1024


async def chunks(total: int, size: int = MiB) -> AsyncIterator[bytes]:
    """A deterministic stream: block i is the byte i % 251 repeated."""
    for i, start in enumerate(range(0, total, size)):
        yield bytes([i % 251]) * min(size, total - start)


async def test_bytes_round_trip_with_stat(s3_store: S3BlobStore) -> None:
    uri = s3_store.uri("runs", "r1", "out.bin")
    before = datetime.now(UTC) - timedelta(seconds=5)
    assert await s3_store.put(uri, b"hello") == 5
    assert await s3_store.get(uri) == b"hello"
    assert await s3_store.exists(uri)
    assert await s3_store.size(uri) == 5
    info = await s3_store.stat(uri)
    assert info.uri == uri and info.etag == hashlib.md5(b"hello").hexdigest()
    assert info.modified >= before.replace(microsecond=0)
    assert info.modified.tzinfo is not None


async def test_a_large_stream_goes_up_in_parts_and_comes_back_whole(s3_store: S3BlobStore) -> None:
    uri = s3_store.uri("big.bin")
    total = 20 * MiB + 123
    expected = hashlib.sha256()
    async for block in chunks(total):
        expected.update(block)
    assert await s3_store.put(uri, chunks(total)) == total
    info = await s3_store.stat(uri)
    assert info.size == total
    assert info.etag.endswith("-5")  # 4 parts of 5 MiB and a short last one
    got, sizes = hashlib.sha256(), []
    async for block in s3_store.stream(uri, chunk_size=MiB):
        got.update(block)
        sizes.append(len(block))
    assert got.hexdigest() == expected.hexdigest()
    assert max(sizes) <= MiB


async def test_a_small_stream_goes_up_in_one_request(s3_store: S3BlobStore) -> None:
    uri = s3_store.uri("small.bin")
    assert await s3_store.put(uri, chunks(100_000, size=7_000)) == 100_000
    assert "-" not in (await s3_store.stat(uri)).etag
    assert await s3_store.put(s3_store.uri("empty.bin"), chunks(0)) == 0
    assert await s3_store.get(s3_store.uri("empty.bin")) == b""


async def test_large_bytes_and_files_use_multipart(s3_store: S3BlobStore, tmp_path: Path) -> None:
    payload = os.urandom(11 * MiB)
    uri = s3_store.uri("bytes.bin")
    assert await s3_store.put(uri, payload) == len(payload)
    assert (await s3_store.stat(uri)).etag.endswith("-3")
    source = tmp_path / "source.bin"
    source.write_bytes(payload)
    file_uri = s3_store.uri("files", "copy.bin")
    assert await s3_store.upload_file(source, file_uri) == len(payload)
    assert (await s3_store.stat(file_uri)).etag.endswith("-3")
    target = tmp_path / "out" / "copy.bin"
    assert await s3_store.download_file(file_uri, target) == len(payload)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(payload).digest()
    assert [p.name for p in target.parent.iterdir()] == ["copy.bin"]


async def test_a_failed_stream_leaves_the_old_object(s3_store: S3BlobStore) -> None:
    uri = s3_store.uri("kept.bin")
    await s3_store.put(uri, b"old")

    async def broken() -> AsyncIterator[bytes]:
        async for block in chunks(12 * MiB):
            yield block
        raise RuntimeError("producer died")

    with pytest.raises(RuntimeError, match="producer died"):
        await s3_store.put(uri, broken())
    assert await s3_store.get(uri) == b"old"


async def test_missing_objects_raise_not_found_naming_the_uri(s3_store: S3BlobStore,
                                                              tmp_path: Path) -> None:
    uri = s3_store.uri("nope", "x.bin")
    for call in (s3_store.get(uri), s3_store.stat(uri), s3_store.delete(uri),
                 s3_store.download_file(uri, tmp_path / "x.bin")):
        with pytest.raises(NotFoundError, match=f"no blob at {uri}"):
            await call
    with pytest.raises(NotFoundError, match="no blob at"):
        async for _ in s3_store.stream(uri):
            pass
    assert not await s3_store.exists(uri)
    await s3_store.delete(uri, missing_ok=True)
    assert not (tmp_path / "x.bin").exists()


async def test_a_missing_bucket_is_named(s3_settings: Settings) -> None:
    async with S3BlobStore.from_settings(s3_settings, root="s3://no-such-bucket-here") as store:
        with pytest.raises(NotFoundError, match="bucket does not exist"):
            await store.put(store.uri("a"), b"x")


async def test_list_by_prefix_matches_text_in_key_order(s3_store: S3BlobStore) -> None:
    for key in ("a/1", "a/2/x", "a-b/1", "ab", "b/1", "a/2/y"):
        await s3_store.put(s3_store.uri(key), key.encode())

    async def listed(*parts: str) -> list[str]:
        return [s3_store.key_of(u) async for u in s3_store.list_prefix(s3_store.uri(*parts))]

    assert await listed("a/") == ["a/1", "a/2/x", "a/2/y"]
    assert await listed("a") == ["a-b/1", "a/1", "a/2/x", "a/2/y", "ab"]
    assert await listed() == ["a-b/1", "a/1", "a/2/x", "a/2/y", "ab", "b/1"]
    assert await listed("zzz/") == []


async def test_delete_and_delete_prefix(s3_store: S3BlobStore) -> None:
    for key in ("p/1", "p/2", "p/q/3", "pz"):
        await s3_store.put(s3_store.uri(key), b"x")
    await s3_store.delete(s3_store.uri("p/q/3"))
    assert not await s3_store.exists(s3_store.uri("p/q/3"))
    assert await s3_store.delete_prefix(s3_store.uri("p/")) == 2
    assert [u async for u in s3_store.list_prefix(s3_store.root)] == [s3_store.uri("pz")]


async def test_presigned_get_and_put_work_with_a_plain_http_client(s3_store: S3BlobStore) -> None:
    uri = s3_store.uri("shared", "report.txt")
    put_url = await s3_store.presigned_url(uri, method="PUT", expires_in=timedelta(minutes=5))
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.put(put_url, content=b"uploaded by url")
        assert response.status_code == 200, response.text
        assert await s3_store.get(uri) == b"uploaded by url"
        get_url = await s3_store.presigned_url(uri, expires_in=timedelta(minutes=5))
        response = await http.get(get_url)
        assert response.status_code == 200 and response.content == b"uploaded by url"
        tampered = get_url.replace("report.txt", "other.txt")
        assert (await http.get(tampered)).status_code == 403
        assert (await http.put(get_url, content=b"x")).status_code == 403


async def test_open_blob_store_gives_s3_for_an_s3_root(s3_settings: Settings) -> None:
    async with open_blob_store(s3_settings) as store:
        assert isinstance(store, S3BlobStore)
        await store.ensure_bucket()
        await store.ensure_bucket()  # idempotent
        uri = store.uri("via-settings.txt")
        await store.put(uri, b"ok")
        assert await store.get(uri) == b"ok"
        await store.delete_prefix(store.root + "/")


async def test_an_unreachable_endpoint_is_a_storage_error() -> None:
    async with S3BlobStore("s3://any-bucket", endpoint="http://127.0.0.1:9",
                           access_key="k", secret_key="secret") as store:
        with pytest.raises(StorageError, match="S3 could not read") as info:
            await asyncio.wait_for(store.get(store.uri("a")), timeout=60)
    assert info.value.__cause__ is not None


odd_keys = st.lists(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF,
                                   blacklist_categories=["Cs"], blacklist_characters="/\\"),
            min_size=1, max_size=16).filter(lambda s: s.strip(". ") != "" and s == s.strip()),
    min_size=1, max_size=3,
).map("/".join)


@hypothesis_settings(max_examples=30, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=odd_keys)
def test_odd_key_names_round_trip(s3_settings: Settings, key: str) -> None:
    async def check() -> None:
        async with S3BlobStore.from_settings(s3_settings) as store:
            await store.ensure_bucket()
            uri = store.uri(key)
            await store.put(uri, key.encode())
            assert await store.get(uri) == key.encode()
            assert [u async for u in store.list_prefix(uri)] == [uri]
            await store.delete(uri)

    asyncio.run(check())
