"""The blob-store suite every object store passes, against its real service or its provider's
emulator: S3 on MinIO, Azure Blob Storage on Azurite, Google Cloud Storage on fake-gcs-server
(``blob_store`` is parametrized over them). What only one store shows (S3's multipart etags)
is in that store's own module (test_storage_s3.py); the local folder store passes its version of
these tests in tests/unit/test_storage_local.py, its signed URLs being served by the server.

What the emulators do not check, the suite cannot: fake-gcs-server accepts a signed URL whatever
its signature (so GCS's V4 signing is checked against Google's vectors in
tests/unit/test_storage_clouds.py instead) and ignores Content-MD5.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.real.stores import PART_SIZE, TokenEndpoint
from wingspan.core.config import Settings
from wingspan.core.errors import NotFoundError, StorageError
from wingspan.core.storage import BlobStore, open_blob_store, store_for_uri
from wingspan.core.storage.azure import AzureBlobStore
from wingspan.core.storage.gcs import GcsBlobStore
from wingspan.core.storage.s3 import S3BlobStore

pytestmark = pytest.mark.real

MiB = 1024 * 1024
KIND_OF = {S3BlobStore: "s3", AzureBlobStore: "azure", GcsBlobStore: "gcs"}


async def chunks(total: int, size: int = MiB) -> AsyncIterator[bytes]:
    """A deterministic stream: block i is the byte i % 251 repeated."""
    for i, start in enumerate(range(0, total, size)):
        yield bytes([i % 251]) * min(size, total - start)


async def test_bytes_round_trip_with_stat(blob_store: BlobStore) -> None:
    uri = blob_store.uri("runs", "r1", "out.bin")
    before = datetime.now(UTC) - timedelta(seconds=5)
    assert await blob_store.put(uri, b"hello") == 5
    assert await blob_store.get(uri) == b"hello"
    assert await blob_store.exists(uri)
    assert await blob_store.size(uri) == 5
    info = await blob_store.stat(uri)
    assert info.uri == uri and info.etag
    assert info.modified >= before.replace(microsecond=0) and info.modified.tzinfo is not None
    await blob_store.put(uri, b"changed")
    assert (await blob_store.stat(uri)).etag != info.etag


async def test_a_large_stream_goes_up_in_parts_and_comes_back_whole(blob_store: BlobStore) -> None:
    uri = blob_store.uri("big.bin")
    total = 4 * PART_SIZE + 123
    expected = hashlib.sha256()
    async for block in chunks(total):
        expected.update(block)
    assert await blob_store.put(uri, chunks(total)) == total
    assert (await blob_store.stat(uri)).size == total
    got, sizes = hashlib.sha256(), []
    async for block in blob_store.stream(uri, chunk_size=MiB):
        got.update(block)
        sizes.append(len(block))
    assert got.hexdigest() == expected.hexdigest()
    assert max(sizes) <= MiB


async def test_small_and_empty_streams(blob_store: BlobStore) -> None:
    uri = blob_store.uri("small.bin")
    assert await blob_store.put(uri, chunks(100_000, size=7_000)) == 100_000
    assert await blob_store.get(uri) == b"".join([c async for c in chunks(100_000, size=7_000)])
    assert await blob_store.put(blob_store.uri("empty.bin"), chunks(0)) == 0
    assert await blob_store.get(blob_store.uri("empty.bin")) == b""
    assert await blob_store.size(blob_store.uri("empty.bin")) == 0


async def test_large_bytes_and_files_round_trip(blob_store: BlobStore, tmp_path: Path) -> None:
    payload = os.urandom(2 * PART_SIZE + 7)
    uri = blob_store.uri("bytes.bin")
    assert await blob_store.put(uri, payload) == len(payload)
    assert await blob_store.get(uri) == payload
    source = tmp_path / "source.bin"
    source.write_bytes(payload)
    file_uri = blob_store.uri("files", "copy.bin")
    assert await blob_store.upload_file(source, file_uri) == len(payload)
    target = tmp_path / "out" / "copy.bin"
    assert await blob_store.download_file(file_uri, target) == len(payload)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(payload).digest()
    assert [p.name for p in target.parent.iterdir()] == ["copy.bin"]


async def test_a_failed_stream_leaves_the_old_object(blob_store: BlobStore) -> None:
    uri = blob_store.uri("kept.bin")
    await blob_store.put(uri, b"old")

    async def broken() -> AsyncIterator[bytes]:
        async for block in chunks(2 * PART_SIZE + MiB):
            yield block
        raise RuntimeError("producer died")

    with pytest.raises(RuntimeError, match="producer died"):
        await blob_store.put(uri, broken())
    assert await blob_store.get(uri) == b"old"
    with pytest.raises(RuntimeError, match="producer died"):
        await blob_store.put(blob_store.uri("never.bin"), broken())
    assert not await blob_store.exists(blob_store.uri("never.bin"))


async def test_missing_objects_raise_not_found_naming_the_uri(blob_store: BlobStore, tmp_path: Path) -> None:
    uri = blob_store.uri("nope", "x.bin")
    for call in (blob_store.get(uri), blob_store.stat(uri), blob_store.delete(uri),
                 blob_store.download_file(uri, tmp_path / "x.bin")):
        with pytest.raises(NotFoundError, match=f"no blob at {uri}"):
            await call
    with pytest.raises(NotFoundError, match="no blob at"):
        async for _ in blob_store.stream(uri):
            pass
    assert not await blob_store.exists(uri)
    await blob_store.delete(uri, missing_ok=True)
    assert not (tmp_path / "x.bin").exists()


async def test_a_missing_bucket_is_named(store_settings: Settings) -> None:
    scheme = store_settings.storage.partition("://")[0]
    async with store_for_uri(f"{scheme}://no-such-bucket-here/a", store_settings) as store:
        with pytest.raises(NotFoundError, match=r"(bucket|container) does not exist"):
            await store.put(store.uri("a"), b"x")


async def test_list_by_prefix_matches_text_in_key_order(blob_store: BlobStore) -> None:
    for key in ("a/1", "a/2/x", "a-b/1", "ab", "b/1", "a/2/y"):
        await blob_store.put(blob_store.uri(key), key.encode())

    async def listed(*parts: str) -> list[str]:
        return [blob_store.key_of(u) async for u in blob_store.list_prefix(blob_store.uri(*parts))]

    assert await listed("a/") == ["a/1", "a/2/x", "a/2/y"]
    assert await listed("a") == ["a-b/1", "a/1", "a/2/x", "a/2/y", "ab"]
    assert await listed() == ["a-b/1", "a/1", "a/2/x", "a/2/y", "ab", "b/1"]
    assert await listed("zzz/") == []


async def test_delete_and_delete_prefix(blob_store: BlobStore) -> None:
    for key in ("p/1", "p/2", "p/q/3", "pz"):
        await blob_store.put(blob_store.uri(key), b"x")
    await blob_store.delete(blob_store.uri("p/q/3"))
    assert not await blob_store.exists(blob_store.uri("p/q/3"))
    assert await blob_store.delete_prefix(blob_store.uri("p/")) == 2
    assert [u async for u in blob_store.list_prefix(blob_store.root)] == [blob_store.uri("pz")]


async def test_presigned_get_and_put_work_with_a_plain_http_client(blob_store: BlobStore) -> None:
    """fake-gcs-server takes a GCS URL whatever its signature: there the refusal of an altered
    URL is not checked (Google's vectors check the signature, tests/unit/test_storage_clouds.py)."""
    uri = blob_store.uri("shared", "report one.txt")
    put_url = await blob_store.presigned_url(uri, method="PUT", expires_in=timedelta(minutes=5))
    body = b"uploaded by url"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    headers = {**blob_store.upload_headers(), "Content-MD5": md5}
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.put(put_url, content=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        assert await blob_store.get(uri) == body
        get_url = await blob_store.presigned_url(uri, expires_in=timedelta(minutes=5))
        response = await http.get(get_url)
        assert response.status_code == 200 and response.content == body
        if isinstance(blob_store, GcsBlobStore):
            return
        assert (await http.get(get_url.replace("report", "other"))).status_code == 403
        assert (await http.put(get_url, content=b"x", headers=blob_store.upload_headers())).status_code == 403
        wrong_md5 = {**headers, "Content-MD5": base64.b64encode(hashlib.md5(b"other").digest()).decode()}
        assert (await http.put(put_url, content=body, headers=wrong_md5)).status_code == 400
        assert await blob_store.get(uri) == body


async def test_open_blob_store_gives_the_store_of_the_root(store_settings: Settings, store_kind: str) -> None:
    async with open_blob_store(store_settings) as store:
        assert KIND_OF[type(store)] == store_kind
        await store.ensure_bucket()
        await store.ensure_bucket()  # idempotent
        uri = store.uri("via-settings.txt")
        await store.put(uri, b"ok")
        assert await store.get(uri) == b"ok"
        # a child process opens the same store from the environment alone
        child = Settings.load(env={"WINGSPAN_STORAGE": store.root, **store.environment()})
        async with open_blob_store(child) as again:
            assert await again.get(uri) == b"ok"
        await store.delete_prefix(store.root + "/")


async def test_a_store_is_used_on_one_event_loop(blob_store: BlobStore) -> None:
    await blob_store.put(blob_store.uri("loop.txt"), b"x")

    def elsewhere() -> None:
        asyncio.run(blob_store.get(blob_store.uri("loop.txt")))

    with pytest.raises(Exception, match="open one store per event loop"):
        await asyncio.to_thread(elsewhere)


@pytest.mark.parametrize("kind", ["azure", "gcs"])
async def test_an_unreachable_endpoint_is_a_storage_error(kind: str, tmp_path: Path,
                                                          gcs_token_endpoint: TokenEndpoint) -> None:
    store: BlobStore
    if kind == "azure":
        store = AzureBlobStore("abfs://any-container", account="a", account_key="a2V5",
                               endpoint="http://127.0.0.1:9/a")
    else:
        store = GcsBlobStore("gs://any-bucket", endpoint="http://127.0.0.1:9")
    async with store:
        provider = "Azure" if kind == "azure" else "GCS"
        with pytest.raises(StorageError, match=f"{provider} could not read") as info:
            await asyncio.wait_for(store.get(store.uri("a")), timeout=60)
    assert info.value.__cause__ is not None


async def test_gcs_requests_carry_a_token_from_the_service_account(
        fakegcs_env: dict[str, str], gcs_token_endpoint: TokenEndpoint, tmp_path: Path) -> None:
    """The token endpoint checks the JWT grant as Google documents it; one token serves many calls
    until it nears its expiry. (fake-gcs-server accepts the token without checking it.)"""
    issued, refused = gcs_token_endpoint.issued, len(gcs_token_endpoint.refused)
    store = GcsBlobStore(f"gs://token-test-{os.getpid()}", endpoint=fakegcs_env["WINGSPAN_TEST_GCS_ENDPOINT"],
                         credentials_file=str(gcs_token_endpoint.credentials_file), project="p")
    async with store:
        async with anyio.create_task_group() as group:  # the first calls at once: one renewal
            for i in range(3):
                group.start_soon(store.exists, store.uri(f"t{i}"))
        await store.ensure_bucket()
        for i in range(3):
            await store.put(store.uri(f"t{i}"), b"x")
        assert await store.delete_prefix(store.root) == 3
    assert gcs_token_endpoint.issued == issued + 1 and gcs_token_endpoint.refused[refused:] == []
    wrong = tmp_path / "wrong.json"
    wrong.write_text(gcs_token_endpoint.credentials_file.read_text().replace(
        "test-iam-credentials@", "someone-else@"))
    async with GcsBlobStore("gs://any-bucket", endpoint=fakegcs_env["WINGSPAN_TEST_GCS_ENDPOINT"],
                            credentials_file=str(wrong)) as store:
        with pytest.raises(StorageError, match="refused the service account someone-else@"):
            await store.get(store.uri("a"))


odd_keys = st.lists(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF,
                                   blacklist_categories=["Cs"], blacklist_characters="/\\"),
            min_size=1, max_size=16).filter(lambda s: s.strip(". ") != "" and s == s.strip()),
    min_size=1, max_size=3,
).map("/".join)


@hypothesis_settings(max_examples=30, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=odd_keys)
def test_odd_key_names_round_trip(store_settings: Settings, key: str) -> None:
    async def check() -> None:
        async with open_blob_store(store_settings) as store:
            await store.ensure_bucket()
            uri = store.uri(key)
            await store.put(uri, key.encode())
            assert await store.get(uri) == key.encode()
            assert [u async for u in store.list_prefix(uri)] == [uri]
            await store.delete(uri)

    asyncio.run(check())
