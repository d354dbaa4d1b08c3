"""Every RPC over real gRPC and real HTTP on loopback, against SQLite and a local blob folder."""

from __future__ import annotations

import pytest

from tests.unit.api.scenario import run_every_method
from tests.unit.api.transports import GrpcClient, HttpClient
from wingspan.server.api.methods import methods
from wingspan.server.serve import ApiServer


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_every_method_answers_over_the_transport(api_server: ApiServer, transport: str) -> None:
    client = (GrpcClient("127.0.0.1", api_server.grpc_port) if transport == "grpc"
              else HttpClient(api_server.http_url))
    try:
        called = await run_every_method(client, api_server)
    finally:
        await client.aclose()
    assert called == {m.name for m in methods()}
