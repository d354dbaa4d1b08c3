"""A task version is accepted only with the code bundle that was uploaded for it (issue #17,
item 3), over gRPC and HTTP: the bundle is read and checked before the version is stored."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.integration.services import flows
from tests.integration.services.builders import ident
from tests.unit.api.transports import CallError, GrpcClient, HttpClient
from wingspan._registration.bundle import build_bundle
from wingspan.core.bundles import fetch_bundle
from wingspan.core.config import Settings
from wingspan.core.errors import InvalidArgumentError
from wingspan.core.model import codec
from wingspan.core.model.record import replace
from wingspan.protos import v1
from wingspan.server.serve import ApiServer


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0, max_bundle_members=20)
    async with ApiServer(settings, grace=2, engine=False) as running:
        yield running


@pytest.fixture(params=["grpc", "http"])
async def client(request: pytest.FixtureRequest, server: ApiServer) -> AsyncIterator[GrpcClient | HttpClient]:
    made = (GrpcClient("127.0.0.1", server.grpc_port) if request.param == "grpc"
            else HttpClient(server.http_url))
    try:
        yield made
    finally:
        await made.aclose()


def good_bundle(tmp_path: Path) -> bytes:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "tasks.py").write_text("def add(a, b):\n    return a + b\n")
    return build_bundle(code).data


async def upload(client: GrpcClient | HttpClient, data: bytes, filename: str = "bundle-1.tar.gz") -> str:
    """Uploads as `wingspan register` does; returns the bundle's URI."""
    location = await client.call("CreateUploadLocation", v1.CreateUploadLocationRequest(
        project="default", domain="development", filename=filename, content_md5=hashlib.md5(data).digest()))
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.put(location.signed_url, content=data)).status_code == 200
    return str(location.native_url)


async def register(client: GrpcClient | HttpClient, bundle_uri: str, version: str) -> v1.RegisterResponse:
    template = flows.add.template
    assert template.code is not None
    template = replace(template, code=replace(template.code, bundle_uri=bundle_uri))
    response: v1.RegisterResponse = await client.call("RegisterTask", v1.RegisterTaskRequest(
        id=ident(1, flows.add.name, version), template=codec.to_proto(template)))
    return response


async def refused(client: GrpcClient | HttpClient, bundle_uri: str, match: str) -> None:
    with pytest.raises(CallError) as caught:
        await register(client, bundle_uri, "v-refused")
    assert caught.value.code == "INVALID_ARGUMENT" and match in caught.value.message, caught.value.message
    with pytest.raises(CallError, match="NOT_FOUND"):
        await client.call("GetTask", v1.GetEntityRequest(id=ident(1, flows.add.name, "v-refused")))


async def test_an_uploaded_bundle_registers(client: GrpcClient | HttpClient, tmp_path: Path) -> None:
    uri = await upload(client, good_bundle(tmp_path))
    assert (await register(client, uri, "v1")).created
    assert not (await register(client, uri, "v1")).created  # the same again: a no-op


async def test_a_bundle_replaced_after_upload_is_refused_and_never_run(
        server: ApiServer, client: GrpcClient | HttpClient, tmp_path: Path) -> None:
    """What an S3 presigned PUT allows (the local store refuses such an upload itself): the
    object at a registered bundle's location is replaced by other code."""
    uri = await upload(client, good_bundle(tmp_path))
    assert (await register(client, uri, "v1")).created
    other = tmp_path / "other"
    other.mkdir()
    (other / "tasks.py").write_text("import os\nos.system('evil')\n")
    path = server.admin.store.path_for(uri)
    path.unlink()
    path.write_bytes(build_bundle(other).data)
    await refused(client, uri, "not the " + hashlib.md5(good_bundle(tmp_path)).hexdigest())
    with pytest.raises(InvalidArgumentError, match="replaced after registration and is not run"):
        await fetch_bundle(server.admin.store, uri, tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


async def test_a_bundle_that_was_not_uploaded_is_refused(client: GrpcClient | HttpClient,
                                                         server: ApiServer) -> None:
    uri = server.admin.store.uri("uploads", "default", "development", "0" * 32, "bundle-1.tar.gz")
    await refused(client, uri, "was not uploaded")


@pytest.mark.parametrize(("uri", "match"), [
    ("file:///etc/passwd", "is not an object of this server's store"),
    ("s3://elsewhere/bundle.tar.gz", "is not an object of this server's store"),
])
async def test_a_bundle_outside_the_store_is_refused(client: GrpcClient | HttpClient, uri: str,
                                                    match: str) -> None:
    await refused(client, uri, match)


async def test_a_bundle_at_a_location_named_by_no_digest_is_refused(client: GrpcClient | HttpClient,
                                                                   tmp_path: Path) -> None:
    data = good_bundle(tmp_path)
    location = await client.call("CreateUploadLocation", v1.CreateUploadLocationRequest(
        project="default", domain="development", filename="bundle-1.tar.gz"))
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.put(location.signed_url, content=data)).status_code == 200
    await refused(client, str(location.native_url), "not at a location named by its MD5")


def tar_of(*members: tuple[str, bytes], link: str = "") -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        if link:
            info = tarfile.TarInfo("escape")
            info.type, info.linkname = tarfile.SYMTYPE, link
            tar.addfile(info)
    return gzip.compress(raw.getvalue())


@pytest.mark.parametrize(("data", "match"), [
    (tar_of(("tasks.py", b"x = 1\n"), link="/etc"), "is a symbolic link"),
    (tar_of(("../../escape.py", b"x = 1\n")), "climbs out of the bundle"),
    (tar_of(*((f"m{i}.py", b"") for i in range(21))), "more than 20 members (setting max_bundle_members)"),
    (b"not a bundle", "not a gzipped tar archive"),
])
async def test_a_malicious_bundle_is_refused_at_registration(client: GrpcClient | HttpClient, data: bytes,
                                                             match: str) -> None:
    await refused(client, await upload(client, data), match)


async def test_the_tasks_of_one_registration_read_their_bundle_once(
        server: ApiServer, client: GrpcClient | HttpClient, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import anyio

    uri = await upload(client, good_bundle(tmp_path))
    store = server.admin.entities.bundles.store
    reads: list[str] = []
    real_get = store.get
    another = anyio.Event()

    async def counted_get(what: str) -> bytes:
        reads.append(what)
        if len(reads) == 1:  # the first read lingers, so that reads at once would overlap it
            with anyio.move_on_after(1):
                await another.wait()
        else:
            another.set()
        data: bytes = await real_get(what)
        return data

    monkeypatch.setattr(store, "get", counted_get)
    async with anyio.create_task_group() as group:
        for n in range(8):  # what `wingspan register` does: every task at once
            group.start_soon(register, client, uri, f"v{n}")
    assert reads == [uri]
