"""The local folder blob store, and opening stores from settings."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

import wingspan.core.storage as storage
from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError, NotFoundError, StorageError
from wingspan.core.storage import (
    InvalidUriError,
    LocalBlobStore,
    UrlSigner,
    open_blob_store,
    store_for_uri,
)
from wingspan.core.storage.local import TEMP_PREFIX
from wingspan.core.storage.signing import load_signing_key, verify

MiB = 1024 * 1024


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


async def chunks(total: int, size: int = MiB) -> AsyncIterator[bytes]:
    """A deterministic stream: block i is the byte i % 251 repeated."""
    for i, start in enumerate(range(0, total, size)):
        yield bytes([i % 251]) * min(size, total - start)


def test_public_names_are_pinned() -> None:
    assert sorted(storage.__all__) == sorted([
        "DEFAULT_CHUNK_SIZE", "BlobInfo", "BlobSource", "BlobStore", "BlobUri", "InvalidUriError",
        "LocalBlobStore", "SignatureError", "UrlSigner", "join_uri", "open_blob_store",
        "parse_uri", "relative_key", "store_for_uri",
    ])


def test_importing_storage_loads_no_s3_client() -> None:
    code = ("import sys, wingspan.core.storage; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('miniopy_async', 'aiohttp')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_bytes_round_trip_with_stat(store: LocalBlobStore) -> None:
    uri = store.uri("runs", "r1", "out.bin")
    before = datetime.now(UTC) - timedelta(seconds=2)
    assert await store.put(uri, b"hello") == 5
    assert await store.get(uri) == b"hello"
    assert await store.exists(uri)
    assert await store.size(uri) == 5
    info = await store.stat(uri)
    assert (info.uri, info.size) == (uri, 5)
    assert info.modified >= before and info.modified.tzinfo is not None
    assert await store.put(uri, bytearray(b"replaced")) == 8
    assert await store.get(uri) == b"replaced"


async def test_a_large_object_streams_in_and_out_in_chunks(store: LocalBlobStore) -> None:
    uri = store.uri("big.bin")
    total = 20 * MiB + 123
    expected = hashlib.sha256()
    async for block in chunks(total):
        expected.update(block)
    assert await store.put(uri, chunks(total)) == total
    got, sizes = hashlib.sha256(), []
    async for block in store.stream(uri, chunk_size=4 * MiB):
        got.update(block)
        sizes.append(len(block))
    assert got.hexdigest() == expected.hexdigest()
    assert max(sizes) <= 4 * MiB and sum(sizes) == total


async def test_upload_and_download_files(store: LocalBlobStore, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(3 * MiB))
    uri = store.uri("files", "copy.bin")
    assert await store.upload_file(source, uri) == 3 * MiB
    assert await store.put(store.uri("files", "again.bin"), source) == 3 * MiB
    target = tmp_path / "out" / "copy.bin"
    assert await store.download_file(uri, target) == 3 * MiB
    assert target.read_bytes() == source.read_bytes()
    with pytest.raises(NotFoundError, match="no local file"):
        await store.upload_file(tmp_path / "missing.bin", uri)


async def test_missing_objects_raise_not_found_naming_the_uri(store: LocalBlobStore,
                                                              tmp_path: Path) -> None:
    uri = store.uri("nope", "x.bin")
    for call in (store.get(uri), store.stat(uri), store.delete(uri),
                 store.download_file(uri, tmp_path / "x")):
        with pytest.raises(NotFoundError, match=f"no blob at {uri}"):
            await call
    with pytest.raises(NotFoundError, match="no blob at"):
        async for _ in store.stream(uri):
            pass
    assert not await store.exists(uri)
    await store.delete(uri, missing_ok=True)
    assert not (tmp_path / "x").exists()


async def test_a_folder_is_not_an_object(store: LocalBlobStore) -> None:
    await store.put(store.uri("dir", "a.bin"), b"a")
    assert not await store.exists(store.uri("dir"))
    with pytest.raises(NotFoundError):
        await store.get(store.uri("dir"))


async def test_list_by_prefix_matches_text_in_key_order(store: LocalBlobStore) -> None:
    for key in ("a/1", "a/2/x", "a-b/1", "ab", "b/1", "a/2/y"):
        await store.put(store.uri(key), key.encode())

    async def listed(*parts: str) -> list[str]:
        return [store.key_of(u) async for u in store.list_prefix(store.uri(*parts))]

    assert await listed("a/") == ["a/1", "a/2/x", "a/2/y"]
    assert await listed("a") == ["a-b/1", "a/1", "a/2/x", "a/2/y", "ab"]
    assert await listed() == ["a-b/1", "a/1", "a/2/x", "a/2/y", "ab", "b/1"]
    assert await listed("zzz/") == []
    with pytest.raises(InvalidUriError, match="not below"):
        async for _ in store.list_prefix("file:///etc/"):
            pass


async def test_delete_and_delete_prefix(store: LocalBlobStore) -> None:
    for key in ("p/1", "p/2", "p/q/3", "pz"):
        await store.put(store.uri(key), b"x")
    await store.delete(store.uri("p/q/3"))
    assert not (store.folder / "p" / "q").exists()  # emptied folders go too
    assert await store.delete_prefix(store.uri("p/")) == 2
    assert [u async for u in store.list_prefix(store.root)] == [store.uri("pz")]
    assert store.folder.is_dir()  # never the root itself


async def test_a_failed_write_leaves_the_old_object_and_no_temp_file(
        store: LocalBlobStore) -> None:
    uri = store.uri("atomic.bin")
    await store.put(uri, b"old")

    async def broken() -> AsyncIterator[bytes]:
        yield b"new data that never completes"
        raise RuntimeError("producer died")

    with pytest.raises(RuntimeError, match="producer died"):
        await store.put(uri, broken())
    assert await store.get(uri) == b"old"
    assert os.listdir(store.path_for(uri).parent) == ["atomic.bin"]


async def test_readers_see_whole_objects_while_writers_race(store: LocalBlobStore) -> None:
    uri = store.uri("raced.bin")
    payloads = [bytes([i]) * (2 * MiB) for i in range(6)]
    await store.put(uri, payloads[0])
    seen: list[bytes] = []

    async def read_many() -> None:
        for _ in range(20):
            seen.append(await store.get(uri))

    async with anyio.create_task_group() as tg:
        for payload in payloads:
            tg.start_soon(store.put, uri, payload)
        tg.start_soon(read_many)
    assert all(data in payloads for data in seen)
    assert await store.get(uri) in payloads
    assert not [n for n in os.listdir(store.path_for(uri).parent) if n.startswith(TEMP_PREFIX)]


async def test_names_that_escape_or_look_temporary_are_refused(store: LocalBlobStore) -> None:
    with pytest.raises(InvalidUriError):
        await store.put(store.root + "a/../../etc/passwd", b"x")
    with pytest.raises(InvalidUriError, match="not below"):
        await store.put("file:///tmp/elsewhere.bin", b"x")
    with pytest.raises(InvalidUriError, match=TEMP_PREFIX):
        await store.put(store.uri(TEMP_PREFIX + "x"), b"x")


async def test_a_path_given_as_text_is_refused_with_the_choices(store: LocalBlobStore) -> None:
    with pytest.raises(TypeError, match=r"cannot store a str .* pass bytes, an async iterable"):
        await store.put(store.uri("a.bin"), "/tmp/a.bin")  # type: ignore[arg-type]


async def test_other_filesystem_failures_are_storage_errors(store: LocalBlobStore) -> None:
    await store.put(store.uri("file.bin"), b"x")
    with pytest.raises(StorageError, match="cannot write") as info:
        await store.put(store.uri("file.bin", "child.bin"), b"y")  # parent is a file
    assert isinstance(info.value.__cause__, OSError)


async def test_presigned_urls_verify_with_the_settings_key(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    async with open_blob_store(settings) as store:
        assert isinstance(store, LocalBlobStore)
        assert store.root == (tmp_path / "blobs").resolve().as_uri()
        uri = store.uri("runs", "r 1", "out.bin")
        await store.put(uri, b"data")
        url = await store.presigned_url(uri, method="PUT", expires_in=timedelta(minutes=1))
    assert url.startswith("http://127.0.0.1:8080/api/v1/blobs/runs/r%201/out.bin?method=PUT")
    granted = verify(url, load_signing_key(settings), request_method="PUT")
    assert store.uri_for_key(granted.key) == uri
    with pytest.raises(ConfigError, match="no URL signer"):
        await LocalBlobStore(tmp_path).presigned_url(uri)


def test_open_blob_store_picks_s3_for_an_s3_root(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, storage="s3://bucket/prefix/", s3_endpoint="127.0.0.1:1")
    store = open_blob_store(settings)
    assert type(store).__name__ == "S3BlobStore" and store.root == "s3://bucket/prefix"


def test_store_for_uri_serves_uris_outside_the_configured_root(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, s3_endpoint="127.0.0.1:1")
    inside = store_for_uri((tmp_path / "blobs" / "x").resolve().as_uri(), settings)
    assert inside.root == (tmp_path / "blobs").resolve().as_uri()
    assert store_for_uri("file:///etc/hosts", settings).root == "file:///"
    assert store_for_uri("s3://data-bkt/a/b", settings).root == "s3://data-bkt/"


def test_a_signer_needs_a_long_enough_secret() -> None:
    with pytest.raises(ConfigError):
        UrlSigner(b"short", "http://x")
