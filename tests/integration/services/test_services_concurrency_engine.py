"""Concurrency policies on a running server with its engine: ``replace`` aborts the running
execution (the engine ends it ABORTED) and runs the new one; ``skip`` never runs the new one."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import anyio
import pytest

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    closure_of,
    ident,
    launch_plan_request,
    literals,
    register_workflow_with_tasks,
    some,
)
from wingspan import ConcurrencyPolicy, LaunchPlan
from wingspan.core.config import Settings
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.serve import ApiServer
from wingspan.server.services.admin import AdminService

SOLO = {policy: LaunchPlan.get_or_create(flows.gated, name=f"solo_{policy}",
                                         concurrency=ConcurrencyPolicy(max=1, when_full=policy))
        for policy in ("replace", "skip")}


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[ApiServer]:
    async with ApiServer(dataclasses.replace(settings, http_port=0, grpc_port=0), grace=2) as running:
        await register_workflow_with_tasks(running.admin, flows.gated, "v1")
        for plan in SOLO.values():
            await AdminRpcs(running.admin).register_launch_plan(launch_plan_request(plan, "v1"))
        yield running


async def start(admin: AdminService, policy: str, name: str) -> v1.ExecutionId:
    created = await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name=name,
        spec=v1.ExecutionSpec(entity_id=ident(3, f"solo_{policy}", "v1"), inputs=literals(x=1))))
    execution_id = some(created.id)
    return execution_id


async def until(admin: AdminService, execution_id: v1.ExecutionId, *phases: v1.WorkflowPhase) -> v1.Execution:
    """Follows the execution's events until it is in one of ``phases``."""
    with anyio.fail_after(60):
        while True:
            execution = await AdminRpcs(admin).get_execution(v1.GetExecutionRequest(id=execution_id))
            if closure_of(execution).phase in phases:
                return execution
            async for stored in AdminRpcs(admin).watch_execution(v1.WatchExecutionRequest(id=execution_id)):
                event = stored.message()
                if event.workflow is not None and event.workflow.phase in phases:
                    break


async def test_replace_aborts_the_running_one_and_runs_the_new_one(server: ApiServer) -> None:
    admin = server.admin
    first = await start(admin, "replace", "first")
    await until(admin, first, v1.WorkflowPhase.RUNNING)  # waiting at its gate
    second = await start(admin, "replace", "second")
    ended = await until(admin, first, v1.WorkflowPhase.ABORTED)
    assert closure_of(ended).reason == (
        "replaced by execution second: launch plan solo_replace (max 1) was full")
    await until(admin, second, v1.WorkflowPhase.RUNNING)
    await AdminRpcs(admin).set_signal(v1.SetSignalRequest(
        id=v1.SignalId(execution_id=second, signal_id="factor"), value=v1.Literal(integer=2)))
    done = await until(admin, second, v1.WorkflowPhase.SUCCEEDED, v1.WorkflowPhase.FAILED)
    assert closure_of(done).phase == v1.WorkflowPhase.SUCCEEDED


async def test_skip_never_runs_the_new_one(server: ApiServer) -> None:
    admin = server.admin
    first = await start(admin, "skip", "first")
    await until(admin, first, v1.WorkflowPhase.RUNNING)
    skipped = await start(admin, "skip", "second")
    await AdminRpcs(admin).set_signal(v1.SetSignalRequest(
        id=v1.SignalId(execution_id=first, signal_id="factor"), value=v1.Literal(integer=2)))
    await until(admin, first, v1.WorkflowPhase.SUCCEEDED)
    events = await AdminRpcs(admin).list_events(v1.ListEventsRequest(execution_id=skipped))
    assert events.events == []  # no engine touched it
    execution = await AdminRpcs(admin).get_execution(v1.GetExecutionRequest(id=skipped))
    assert closure_of(execution).phase == v1.WorkflowPhase.SKIPPED
