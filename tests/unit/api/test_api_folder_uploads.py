"""Several uploads under one folder (a Directory input from the console's multi-file picker,
issue #19): a key the client chose names the folder, each file's name may be a path inside it,
and nothing lands outside it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.unit.api.transports import CallError, GrpcClient, HttpClient
from wingspan.core.config import Settings
from wingspan.protos import v1
from wingspan.server.serve import ApiServer

FOLDER = "f00d" * 8


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    async with ApiServer(Settings(home=tmp_path / "home", http_port=0, grpc_port=0), grace=2,
                         engine=False) as running:
        yield running


async def place(server: ApiServer, transport: str, filename: str,
                folder: str = FOLDER) -> v1.CreateUploadLocationResponse:
    client = (GrpcClient("127.0.0.1", server.grpc_port) if transport == "grpc"
              else HttpClient(server.http_url))
    try:
        answer: v1.CreateUploadLocationResponse = await client.call(
            "CreateUploadLocation", v1.CreateUploadLocationRequest(
                project="default", domain="development", filename=filename, folder=folder))
    finally:
        await client.aclose()
    return answer


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_the_files_of_one_folder_key_land_together_at_their_paths(server: ApiServer,
                                                                       transport: str) -> None:
    first = await place(server, transport, "a.txt")
    nested = await place(server, transport, "deeper/b.txt")
    root = first.native_url.rsplit("/", 1)[0]
    assert root.endswith(f"/uploads/default/development/d-{FOLDER}")
    assert nested.native_url == f"{root}/deeper/b.txt"
    async with httpx.AsyncClient(timeout=30) as http:
        for answer, content in ((first, b"alpha"), (nested, b"beta")):
            assert (await http.put(answer.signed_url, content=content)).status_code in (200, 201, 204)
    folder = server.settings.home / "blobs" / "uploads" / "default" / "development" / f"d-{FOLDER}"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "a.txt", "deeper/b.txt"]
    assert (folder / "deeper" / "b.txt").read_bytes() == b"beta"


@pytest.mark.parametrize("transport", ["grpc", "http"])
@pytest.mark.parametrize(("filename", "folder", "says"), [
    ("../escape.txt", FOLDER, "no '.' or '..' parts"),
    ("deeper/../../escape.txt", FOLDER, "no '.' or '..' parts"),
    ("/absolute.txt", FOLDER, "relative path"),
    ("a//b.txt", FOLDER, "relative path"),
    ("a.txt", "short", "folder"),
    ("a.txt", "UPPERCASE0123456789", "folder"),
    ("deeper/b.txt", "", "filename"),  # a path only inside a folder
])
async def test_a_path_out_of_its_folder_or_a_bad_key_is_refused(
        server: ApiServer, transport: str, filename: str, folder: str, says: str) -> None:
    with pytest.raises(CallError, match=says) as refused:
        await place(server, transport, filename, folder)
    assert refused.value.code in ("INVALID_ARGUMENT", "InvalidArgument", "invalid_argument"), refused.value
    assert not (server.settings.home / "blobs" / "uploads").exists() or not any(
        p.is_file() for p in (server.settings.home / "blobs").rglob("*"))
