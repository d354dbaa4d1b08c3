"""A caller never reads the server's own file paths in an error, over either transport."""

from __future__ import annotations

import httpx
import pytest
from grpclib.client import Channel
from grpclib.exceptions import GRPCError

from wingspan.protos import v1
from wingspan.server.serve import ApiServer


@pytest.mark.parametrize("native_url", ["file:///etc/passwd", "s3://x/y", "BLOBS/missing.bin"])
async def test_store_errors_name_no_server_path(api_server: ApiServer, native_url: str) -> None:
    home = str(api_server.settings.home)
    blobs = api_server.settings.storage_root
    native_url = native_url.replace("BLOBS", blobs)
    async with httpx.AsyncClient(base_url=api_server.http_url, timeout=30) as http:
        answer = await http.post("/api/v1/CreateDownloadLocation", json={"nativeUrl": native_url})
    assert answer.status_code in (400, 404), answer.text
    message = answer.json()["message"]
    channel = Channel("127.0.0.1", api_server.grpc_port)
    try:
        with pytest.raises(GRPCError) as info:
            await v1.AdminServiceStub(channel).create_download_location(
                v1.CreateDownloadLocationRequest(native_url=native_url))
    finally:
        channel.close()
    for said in (message, info.value.message or ""):
        shown = said.replace(native_url, "") if native_url.startswith(("s3:", "file:///etc")) else said
        assert home not in shown and "/tmp" not in shown, said
        assert "<blob store>" in said, said
