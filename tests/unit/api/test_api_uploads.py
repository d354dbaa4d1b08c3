"""Uploads through the data proxy as an outsider makes them (issue #17, items 3, 6 and 8): a
location asked for over gRPC or HTTP, then plain HTTP on the signed URL of the local store.
Too large a body is refused while it streams, an upload cannot replace what a location
holds, and HEAD answers like GET without the body."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.unit.api.transports import GrpcClient, HttpClient
from wingspan.core.config import Settings
from wingspan.core.storage.local import TEMP_PREFIX
from wingspan.core.storage.signing import UrlSigner
from wingspan.protos import v1
from wingspan.server.serve import ApiServer

BUNDLE_LIMIT = 64 * 1024
DATA_LIMIT = 256 * 1024


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0,
                        max_bundle_upload_bytes=BUNDLE_LIMIT, max_data_upload_bytes=DATA_LIMIT)
    async with ApiServer(settings, grace=2, engine=False) as running:
        yield running


async def location(server: ApiServer, transport: str, filename: str, content: bytes | None = None) -> str:
    """A signed upload URL asked for over ``transport``, named by the content's MD5 if given."""
    client = (GrpcClient("127.0.0.1", server.grpc_port) if transport == "grpc"
              else HttpClient(server.http_url))
    try:
        answer = await client.call("CreateUploadLocation", v1.CreateUploadLocationRequest(
            project="default", domain="development", filename=filename,
            content_md5=hashlib.md5(content).digest() if content is not None else b""))
    finally:
        await client.aclose()
    return str(answer.signed_url)


def stored(server: ApiServer) -> list[Path]:
    """Every file below the blob folder's uploads, temporary ones included."""
    return sorted(p for p in (server.settings.home / "blobs" / "uploads").rglob("*") if p.is_file())


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield bytes(min(size, total - sent))
        sent += size


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_a_body_over_the_limit_of_its_kind_is_refused_with_413(server: ApiServer,
                                                                     transport: str) -> None:
    bundle_url = await location(server, transport, "bundle-0123.tar.gz")
    data_url = await location(server, transport, "data.bin")
    async with httpx.AsyncClient(timeout=30) as http:
        too_big = await http.put(bundle_url, content=os.urandom(BUNDLE_LIMIT + 1))
        assert too_big.status_code == 413
        body = too_big.json()
        assert body["code"] == "RESOURCE_EXHAUSTED"
        assert f"over the limit of {BUNDLE_LIMIT} bytes" in body["message"]
        assert "max_bundle_upload_bytes" in body["message"]
        # data has its own, larger limit
        fits = await http.put(data_url, content=os.urandom(BUNDLE_LIMIT + 1))
        assert fits.status_code == 200, fits.text
        assert (await http.put(await location(server, transport, "more.bin"),
                               content=os.urandom(DATA_LIMIT + 1))).status_code == 413
    assert [p.name for p in stored(server)] == ["data.bin"]


async def test_a_streamed_body_without_a_length_stops_at_the_limit(server: ApiServer) -> None:
    """Chunked, with no Content-Length to refuse up front: the server counts as it streams
    and answers 413 once past the limit, keeping nothing (a 200 MB body was accepted before)."""
    url = await location(server, "http", "data.bin")
    async with httpx.AsyncClient(timeout=60) as http:
        try:
            answer = await http.put(url, content=chunks(16 * DATA_LIMIT))
        except httpx.TransportError:  # the server may close before the client has sent it all
            answer = None
    if answer is not None:
        assert answer.status_code == 413 and "max_data_upload_bytes" in answer.json()["message"]
    assert stored(server) == []


async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(
        server: ApiServer) -> None:
    url = urlsplit(await location(server, "http", "bundle.tar.gz"))
    import anyio

    async with await anyio.connect_tcp(url.hostname or "", url.port or 80) as stream:
        target = f"{url.path}?{url.query}"
        await stream.send((f"PUT {target} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                           f"Content-Length: {200 * 1024 * 1024}\r\n\r\n").encode())
        with anyio.fail_after(10):  # it answers without waiting for the 200 MB
            head = await stream.receive()
    assert head.startswith(b"HTTP/1.1 413 ")
    assert stored(server) == []


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_a_location_named_by_a_digest_takes_only_that_content(server: ApiServer,
                                                                    transport: str) -> None:
    """The issue's swap: a second upload to a registered bundle's location with other code."""
    code = b"the registered code" * 100
    url = await location(server, transport, "bundle-0123.tar.gz", code)
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.put(url, content=code)).status_code == 200
        # the attacker asks for the same location (same MD5, same name) and uploads other code
        again = await location(server, transport, "bundle-0123.tar.gz", code)
        swap = await http.put(again, content=b"import os; os.system('evil')")
        assert swap.status_code == 400 and "was issued for content with MD5" in swap.json()["message"]
        # a retried upload of the same bytes is fine
        assert (await http.put(again, content=code)).status_code == 200
    [only] = stored(server)
    assert only.read_bytes() == code


async def test_an_upload_never_replaces_other_content(server: ApiServer) -> None:
    """Write-once even where the location names no digest (a URL signed for a fixed key)."""
    signer = UrlSigner.from_settings(server.settings, base_url=server.http_url)
    url = signer.sign("uploads/default/development/fixed/data.bin", method="PUT")
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.put(url, content=b"first")).status_code == 200
        second = await http.put(url, content=b"second")
        assert second.status_code == 409 and "write-once" in second.json()["message"]
        assert (await http.put(url, content=b"first")).status_code == 200
    [only] = stored(server)
    assert only.read_bytes() == b"first" and not only.name.startswith(TEMP_PREFIX)


async def test_the_size_limit_is_signed_into_the_url(server: ApiServer) -> None:
    url = await location(server, "http", "bundle.tar.gz")
    assert f"max_bytes={BUNDLE_LIMIT}" in url
    raised = url.replace(f"max_bytes={BUNDLE_LIMIT}", f"max_bytes={BUNDLE_LIMIT * 1000}")
    removed = url.replace(f"&max_bytes={BUNDLE_LIMIT}", "")
    async with httpx.AsyncClient(timeout=30) as http:
        for altered in (raised, removed):
            answer = await http.put(altered, content=b"x")
            assert answer.status_code == 403 and "wrong signature" in answer.json()["message"]


async def test_head_on_a_signed_download_answers_like_get_without_the_body(server: ApiServer) -> None:
    content = os.urandom(5000)
    url = await location(server, "http", "data.bin", content)
    signer = UrlSigner.from_settings(server.settings, base_url=server.http_url)
    key = urlsplit(url).path.split("/api/v1/blobs/", 1)[1]
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.put(url, content=content)).status_code == 200
        got = await http.get(signer.sign(key))
        headed = await http.head(signer.sign(key))
        assert headed.status_code == 200 and got.status_code == 200
        assert headed.headers["content-length"] == got.headers["content-length"] == "5000"
        assert headed.content == b""
        assert (await http.head(signer.sign(key + "-absent"))).status_code == 404
        assert (await http.head(signer.sign(key, method="PUT"))).status_code == 403


async def test_of_two_racing_uploads_of_other_content_one_wins_whole(server: ApiServer) -> None:
    import anyio

    signer = UrlSigner.from_settings(server.settings, base_url=server.http_url)
    url = signer.sign("uploads/default/development/fixed/raced.bin", method="PUT")
    bodies = [bytes([n]) * DATA_LIMIT for n in (1, 2)]
    statuses: dict[int, int] = {}

    async def send(http: httpx.AsyncClient, n: int) -> None:
        statuses[n] = (await http.put(url, content=chunks_of(bodies[n]))).status_code

    async with httpx.AsyncClient(timeout=30) as http, anyio.create_task_group() as group:
        for n in (0, 1):
            group.start_soon(send, http, n)
    assert sorted(statuses.values()) == [200, 409]
    [only] = stored(server)
    assert only.read_bytes() == bodies[next(n for n, s in statuses.items() if s == 200)]


async def chunks_of(data: bytes, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]
