# workflow bodies return promises, typed as what they stand for
# mypy: disable-error-code="no-any-return"
"""A workflow's failure node (on_failure, issue #22 item 17) is kept by registration over
both transports, and a failure node that reads other nodes' outputs is refused by both."""

from __future__ import annotations

import pytest

from tests.integration.services.builders import ident, task_request, workflow_request
from tests.unit.api.transports import CallError, GrpcClient, HttpClient
from wingspan import WorkflowFailure, task, workflow
from wingspan.core.model import codec
from wingspan.server.serve import ApiServer


@task
def tidy(name: str, err: WorkflowFailure | None = None) -> None: ...


@task
def shout(name: str) -> str:
    return name.upper()


@workflow(on_failure=tidy)
def tidied(name: str) -> str:
    return shout(name=name)


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_registration_keeps_the_failure_node(api_server: ApiServer, transport: str) -> None:
    client = (GrpcClient("127.0.0.1", api_server.grpc_port) if transport == "grpc"
              else HttpClient(api_server.http_url))
    version = f"v-{transport}"
    try:
        for each in (tidy, shout):
            await client.call("RegisterTask", task_request(each, version))
        await client.call("RegisterWorkflow", workflow_request(tidied, version))
        got = await client.call("GetWorkflow", _get(tidied.name, version))
        kept = got.closure.primary.template.failure_node
        sent = codec.to_proto(tidied.template).failure_node
        assert (kept.id, kept.inputs) == ("on-failure", sent.inputs)
        # its task reference completed like any node's
        assert (kept.task_node.task_id.name, kept.task_node.task_id.version) == (tidy.name, version)

        # a failure node reading n0's output: refused, nothing stored
        bad = workflow_request(tidied, version + "-bad")
        bad.template.failure_node.inputs[0].binding.promise.node_id = "n0"
        bad.template.failure_node.inputs[0].binding.promise.var = "o0"
        with pytest.raises(CallError, match=r"may use only the workflow's inputs and the error") as caught:
            await client.call("RegisterWorkflow", bad)
        assert caught.value.code == "INVALID_ARGUMENT"
        with pytest.raises(CallError) as missing:
            await client.call("GetWorkflow", _get(tidied.name, version + "-bad"))
        assert missing.value.code == "NOT_FOUND"
    finally:
        await client.aclose()


def _get(name: str, version: str) -> object:
    from wingspan.protos import v1

    return v1.GetEntityRequest(id=ident(2, name, version))
