"""Code bundles on each object store (issue #17, items 3 and 6): a presigned PUT (S3), a SAS URL
(Azure) or a V4 signed URL (GCS) can neither be made write-once nor bounded in size, so the
server checks a bundle when a version names it and a worker checks it again when it fetches it.
These tests perform the swap through the store itself (MinIO, Azurite, fake-gcs-server)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.integration.services import flows
from tests.integration.services.builders import ident
from tests.unit.api.transports import CallError, GrpcClient
from tests.unit.remote.servers import api_server
from wingspan._registration.bundle import build_bundle
from wingspan.core.bundles import fetch_bundle
from wingspan.core.config import Settings
from wingspan.core.errors import InvalidArgumentError
from wingspan.core.model import codec
from wingspan.core.model.record import replace
from wingspan.core.storage import open_blob_store
from wingspan.protos import v1
from wingspan.server.serve import ApiServer

pytestmark = pytest.mark.real

BUNDLE_LIMIT = 64 * 1024


# what each store's signed URL carries as its signature
SIGNATURE = {"s3": "X-Amz-Signature=", "azure": "&sig=", "gcs": "X-Goog-Signature="}


@pytest.fixture
async def server(store_settings: Settings, tmp_path: Path) -> AsyncIterator[ApiServer]:
    settings = dataclasses.replace(store_settings, max_bundle_upload_bytes=BUNDLE_LIMIT)
    async with api_server(tmp_path / "home", settings=settings) as running:
        yield running
    async with open_blob_store(store_settings) as store:
        await store.delete_prefix(store.root + "/")


@pytest.fixture
async def client(server: ApiServer) -> AsyncIterator[GrpcClient]:
    made = GrpcClient("127.0.0.1", server.grpc_port)
    try:
        yield made
    finally:
        await made.aclose()


def bundle_of(tmp_path: Path, name: str, source: str) -> bytes:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "tasks.py").write_text(source)
    return build_bundle(folder).data


async def put(client: GrpcClient, filename: str, md5: bytes, data: bytes) -> tuple[str, int]:
    location = await client.call("CreateUploadLocation", v1.CreateUploadLocationRequest(
        project="default", domain="development", filename=filename, content_md5=md5))
    kind = {"s3": "s3", "abfs": "azure", "gs": "gcs"}[location.native_url.partition("://")[0]]
    assert location.signed_url.startswith("http") and SIGNATURE[kind] in location.signed_url
    async with httpx.AsyncClient(timeout=60) as http:
        answer = await http.put(location.signed_url, content=data, headers=location.headers)
    return str(location.native_url), answer.status_code


async def register(client: GrpcClient, bundle_uri: str, version: str) -> v1.RegisterResponse:
    template = flows.add.template
    assert template.code is not None
    template = replace(template, code=replace(template.code, bundle_uri=bundle_uri))
    response: v1.RegisterResponse = await client.call("RegisterTask", v1.RegisterTaskRequest(
        id=ident(1, flows.add.name, version), template=codec.to_proto(template)))
    return response


async def test_a_swapped_bundle_is_refused_at_registration_and_never_run(
        server: ApiServer, client: GrpcClient, tmp_path: Path) -> None:
    good = bundle_of(tmp_path, "good", "def add(a, b):\n    return a + b\n")
    md5 = hashlib.md5(good).digest()
    uri, status = await put(client, "bundle-1.tar.gz", md5, good)
    assert status in (200, 201) and uri.startswith(server.settings.storage.partition("://")[0])
    assert (await register(client, uri, "v1")).created
    # the attacker asks for the same location and the store takes the other code: it cannot refuse
    evil = bundle_of(tmp_path, "evil", "import os\nos.system('evil')\n")
    again, status = await put(client, "bundle-1.tar.gz", md5, evil)
    assert again == uri and status in (200, 201)
    with pytest.raises(CallError) as caught:
        await register(client, uri, "v2")
    assert caught.value.code == "INVALID_ARGUMENT" and f"not the {md5.hex()}" in caught.value.message
    with pytest.raises(InvalidArgumentError, match="replaced after registration and is not run"):
        await fetch_bundle(server.admin.store, uri, tmp_path / "cache")


async def test_a_bundle_over_the_limit_is_refused_at_registration(client: GrpcClient, tmp_path: Path) -> None:
    big = os.urandom(BUNDLE_LIMIT + 1)  # a signed PUT carries no size limit: the store takes it
    uri, status = await put(client, "bundle-2.tar.gz", hashlib.md5(big).digest(), big)
    assert status in (200, 201)
    with pytest.raises(CallError) as caught:
        await register(client, uri, "v1")
    assert caught.value.code == "INVALID_ARGUMENT"
    assert f"over the limit of {BUNDLE_LIMIT} (setting max_bundle_upload_bytes)" in caught.value.message
