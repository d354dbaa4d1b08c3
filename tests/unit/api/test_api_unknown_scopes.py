"""Lists in a project or domain that does not exist say so (NOT_FOUND), over both transports,
instead of answering an empty list a script cannot tell from "nothing there yet"."""

from __future__ import annotations

import pytest

from tests.unit.api.transports import CallError, GrpcClient, HttpClient
from wingspan.protos import v1
from wingspan.server.serve import ApiServer

LISTS = ["ListExecutions", "ListTasks", "ListWorkflows", "ListLaunchPlans"]


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_lists_in_an_unknown_project_or_domain_are_not_found(api_server: ApiServer,
                                                                  transport: str) -> None:
    client = (GrpcClient("127.0.0.1", api_server.grpc_port) if transport == "grpc"
              else HttpClient(api_server.http_url))
    try:
        for method in LISTS:
            with pytest.raises(CallError, match=r"^NOT_FOUND: project 'nope' does not exist$"):
                await client.call(method, v1.ListRequest(project="nope", domain="development", limit=10))
            with pytest.raises(CallError, match=r"^NOT_FOUND: domain 'nodomain' does not exist"):
                await client.call(method, v1.ListRequest(project="default", domain="nodomain", limit=10))
            known = v1.ListRequest(project="default", domain="development", limit=10)
            assert await client.call(method, known) is not None  # empty, and no error
        with pytest.raises(CallError, match="NOT_FOUND: project 'nope' does not exist"):
            await client.call("ListNames", v1.ListNamesRequest(
                resource_type=v1.ResourceType.WORKFLOW,
                list=v1.ListRequest(project="nope", domain="development", limit=10)))
    finally:
        await client.aclose()
