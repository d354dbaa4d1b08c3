"""The server's engine on both databases: a workflow and a lone task run to their outputs;
an execution the engine cannot run (an unknown target) ends FAILED saying why, once."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    closure_of,
    ident,
    literals,
    register_workflow_with_tasks,
    some,
)
from wingspan.core.config import Settings
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.serve import ApiServer

pytestmark = [pytest.mark.slow]

TASK, WORKFLOW = 1, 2


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[ApiServer]:
    async with ApiServer(dataclasses.replace(settings, http_port=0, grpc_port=0), grace=2) as running:
        await register_workflow_with_tasks(running.admin, flows.pipeline, "v1")
        try:
            yield running
        finally:
            for plugin in running.engine.registry.plugins:
                await plugin.aclose()


async def run(server: ApiServer, kind: int, name: str, python_target: str = "", **inputs: Any) -> Any:
    admin = server.admin
    created = await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, spec=v1.ExecutionSpec(
            entity_id=ident(kind, name, "v1"), inputs=literals(**inputs), python_target=python_target)))
    with anyio.fail_after(90):
        while True:
            execution = await AdminRpcs(admin).get_execution(v1.GetExecutionRequest(id=created.id))
            if int(closure_of(execution).phase) in (3, 4, 5, 7, 8):
                return execution
            await anyio.sleep(0.05)


async def outputs(server: ApiServer, execution: Any) -> Any:
    data = await AdminRpcs(server.admin).get_execution_data(v1.GetExecutionRequest(id=execution.id))
    return some(data.outputs).literals


async def test_a_workflow_runs_to_its_outputs(server: ApiServer) -> None:
    done = await run(server, WORKFLOW, "tests.integration.services.flows.pipeline", x=2, y=3)
    assert done.closure.phase == v1.WorkflowPhase.SUCCEEDED, done.closure.error
    assert (await outputs(server, done))["o0"].integer == flows.pipeline(x=2, y=3)


async def test_a_task_runs_alone(server: ApiServer) -> None:
    done = await run(server, TASK, "tests.integration.services.flows.add", a=20, b=22)
    assert done.closure.phase == v1.WorkflowPhase.SUCCEEDED, done.closure.error
    assert (await outputs(server, done))["o0"].integer == 42


async def test_an_unknown_target_fails_the_execution_naming_it(server: ApiServer) -> None:
    done = await run(server, WORKFLOW, "tests.integration.services.flows.pipeline", python_target="nowhere",
                     x=1, y=1)
    assert done.closure.phase == v1.WorkflowPhase.FAILED
    assert "nowhere" in done.closure.error.message
