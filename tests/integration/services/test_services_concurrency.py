"""A launch plan's concurrency policy: at most ``max`` running, and when full the new
execution waits (held, released when a slot frees), is skipped, or replaces the oldest;
race-free under concurrent creates from several clients."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import anyio
import pytest

from tests.integration.services import flows
from tests.integration.services.builders import (
    DOMAIN,
    PROJECT,
    TEST_ENGINE,
    closure_of,
    ident,
    launch_plan_request,
    literals,
    name_of,
    register_workflow_with_tasks,
    some,
    take_lease,
)
from wingspan import ConcurrencyPolicy, LaunchPlan
from wingspan.core.config import Settings
from wingspan.core.model.interface import ExecutionId
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs, EngineRpcs
from wingspan.server.db.models import ExecutionRow
from wingspan.server.services.admin import AdminService

PLANS = {
    policy: LaunchPlan.get_or_create(
        flows.pipeline, name=f"limited_{policy}", concurrency=ConcurrencyPolicy(max=2, when_full=policy)
    )
    for policy in ("wait", "skip", "replace")
}
_sequence = itertools.count(1)


@pytest.fixture
async def registered(admin: AdminService) -> AdminService:
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    for plan in PLANS.values():
        await AdminRpcs(admin).register_launch_plan(launch_plan_request(plan, "v1"))
    return admin


async def create(admin: AdminService, policy: str, name: str = "") -> v1.Execution:
    response = await AdminRpcs(admin).create_execution(
        v1.CreateExecutionRequest(
            project=PROJECT, domain=DOMAIN, name=name,
            spec=v1.ExecutionSpec(entity_id=ident(3, f"limited_{policy}", "v1"), inputs=literals(x=1)),
        )
    )
    execution = some(response.execution)
    return execution


async def move(admin: AdminService, name: str, phase: v1.WorkflowPhase) -> None:
    execution_id = v1.ExecutionId(project=PROJECT, domain=DOMAIN, name=name)
    await take_lease(admin, execution_id)
    await EngineRpcs(admin.events).create_workflow_event(
        v1.WorkflowExecutionEvent(
            execution_id=execution_id, producer_id=TEST_ENGINE,
            phase=phase, sequence=next(_sequence),
        )
    )


async def row(admin: AdminService, name: str) -> ExecutionRow:
    return await admin.executions.row(ExecutionId(PROJECT, DOMAIN, name))


async def held(admin: AdminService, *names: str) -> list[bool]:
    return [(await row(admin, n)).held for n in names]


async def test_wait_holds_the_new_one_until_a_running_one_ends(registered: AdminService) -> None:
    a, b = await create(registered, "wait", "a"), await create(registered, "wait", "b")
    c = await create(registered, "wait", "c")
    assert [closure_of(a).reason, closure_of(b).reason] == ["", ""]
    assert closure_of(c).phase == v1.WorkflowPhase.QUEUED
    assert closure_of(c).reason == "waiting for a slot of launch plan limited_wait (max 2)"
    d = await create(registered, "wait", "d")
    assert await held(registered, "a", "b", "c", "d") == [False, False, True, True]
    await move(registered, "a", v1.WorkflowPhase.RUNNING)
    assert await held(registered, "c", "d") == [True, True]  # a still takes its slot
    await move(registered, "a", v1.WorkflowPhase.SUCCEEDED)
    assert await held(registered, "c", "d") == [False, True]  # the oldest waiting goes first
    assert (await row(registered, "c")).reason == ""
    await move(registered, "b", v1.WorkflowPhase.FAILED)
    assert await held(registered, "d") == [False]
    assert name_of(d) == "d"


async def test_a_forced_terminate_frees_the_slot_and_a_held_one_leaves_without_freeing_one(
    registered: AdminService,
) -> None:
    for name in "abcd":
        await create(registered, "wait", name)
    await AdminRpcs(registered).terminate_execution(v1.TerminateExecutionRequest(
        id=v1.ExecutionId(project=PROJECT, domain=DOMAIN, name="d"), reason="not needed", force=True))
    assert await held(registered, "c") == [True]  # d was waiting: no slot freed
    await AdminRpcs(registered).terminate_execution(v1.TerminateExecutionRequest(
        id=v1.ExecutionId(project=PROJECT, domain=DOMAIN, name="a"), reason="stop", force=True))
    assert await held(registered, "c") == [False]


async def test_an_aborting_execution_gives_up_its_slot(registered: AdminService) -> None:
    for name in "abc":
        await create(registered, "wait", name)
    await AdminRpcs(registered).terminate_execution(v1.TerminateExecutionRequest(
        id=v1.ExecutionId(project=PROJECT, domain=DOMAIN, name="a"), reason="stop"))
    assert (await row(registered, "a")).phase == int(v1.WorkflowPhase.ABORTING)
    assert await held(registered, "c") == [False]


async def test_skip_records_the_new_one_as_skipped_with_a_reason(registered: AdminService) -> None:
    await create(registered, "skip", "a")
    await create(registered, "skip", "b")
    c = await create(registered, "skip", "c")
    assert closure_of(c).phase == v1.WorkflowPhase.SKIPPED
    assert closure_of(c).reason == "skipped: launch plan limited_skip (max 2) already runs 2 executions"
    await move(registered, "a", v1.WorkflowPhase.SUCCEEDED)
    d = await create(registered, "skip", "d")
    assert closure_of(d).phase == v1.WorkflowPhase.QUEUED


async def test_replace_aborts_the_oldest_running_one(registered: AdminService) -> None:
    await create(registered, "replace", "a")
    await create(registered, "replace", "b")
    await move(registered, "a", v1.WorkflowPhase.RUNNING)
    c = await create(registered, "replace", "c")
    assert closure_of(c).phase == v1.WorkflowPhase.QUEUED and not (await row(registered, "c")).held
    oldest = await row(registered, "a")
    assert oldest.phase == int(v1.WorkflowPhase.ABORTING)
    assert oldest.reason == "replaced by execution c: launch plan limited_replace (max 2) was full"
    assert oldest.abort_requested == oldest.reason
    assert (await row(registered, "b")).phase == int(v1.WorkflowPhase.QUEUED)


async def test_executions_of_other_entities_are_not_limited(registered: AdminService) -> None:
    for _ in range(3):
        execution = (await AdminRpcs(registered).create_execution(v1.CreateExecutionRequest(
            project=PROJECT, domain=DOMAIN,
            spec=v1.ExecutionSpec(entity_id=ident(2, flows.pipeline.name, "v1"), inputs=literals(x=1)),
        ))).execution
        assert closure_of(some(execution)).reason == ""
    await create(registered, "skip")
    await create(registered, "skip")


async def _clients(settings: Settings, count: int) -> list[AdminService]:
    return [await AdminService.open(settings) for _ in range(count)]


@pytest.mark.parametrize("policy", ["wait", "skip", "replace"])
async def test_concurrent_creates_from_several_clients_never_exceed_the_limit(
    registered: AdminService, settings: Settings, policy: str
) -> None:
    clients = await _clients(settings, 4)
    try:
        names = [f"r{i}" for i in range(24)]
        await asyncio.gather(*(create(clients[i % 4], policy, name) for i, name in enumerate(names)))
        rows = [await row(registered, name) for name in names]
        active = [r for r in rows if r.phase in (1, 2) and not r.held]
        assert len(active) == 2
        if policy == "wait":
            assert sum(r.held for r in rows) == 22
        elif policy == "skip":
            assert sum(r.phase == int(v1.WorkflowPhase.SKIPPED) for r in rows) == 22
        else:
            assert sum(r.phase == int(v1.WorkflowPhase.ABORTING) for r in rows) == 22
        if policy == "wait":
            # ending the running ones from all clients at once releases held ones, one per slot
            for _ in range(5):
                running = [r.name for r in rows if r.phase in (1, 2) and not r.held]
                await asyncio.gather(*(move(clients[i % 4], name, v1.WorkflowPhase.SUCCEEDED)
                                       for i, name in enumerate(running)))
                rows = [await row(registered, name) for name in names]
                assert len([r for r in rows if r.phase in (1, 2) and not r.held]) == 2
    finally:
        for client in clients:
            await client.aclose()


async def test_a_new_version_with_a_higher_limit_releases_the_waiting_ones_first(
    registered: AdminService,
) -> None:
    for name in "abcd":
        await create(registered, "wait", name)
    request = launch_plan_request(PLANS["wait"], "v2")
    request.spec.concurrency.max = 4
    request.spec.workflow_id.version = "v1"
    await AdminRpcs(registered).register_launch_plan(request)
    newer = await AdminRpcs(registered).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name="e",
        spec=v1.ExecutionSpec(entity_id=ident(3, "limited_wait", "v2"), inputs=literals(x=1))))
    # c and d waited longer than e: they take the two new slots, e waits
    assert await held(registered, "a", "b", "c", "d", "e") == [False, False, False, False, True]
    assert closure_of(some(newer.execution)).reason == (
        "waiting for a slot of launch plan limited_wait (max 4)")
    await move(registered, "a", v1.WorkflowPhase.SUCCEEDED)  # released up to the new limit
    assert await held(registered, "e") == [False]


async def test_a_waiting_execution_asked_to_abort_ends_at_once(registered: AdminService) -> None:
    for name in "abc":
        await create(registered, "wait", name)
    ended = await AdminRpcs(registered).terminate_execution(v1.TerminateExecutionRequest(
        id=v1.ExecutionId(project=PROJECT, domain=DOMAIN, name="c"), reason="not needed"))
    # no engine takes a held execution: ABORTING would never end
    assert closure_of(some(ended.execution)).phase == v1.WorkflowPhase.ABORTED
    assert closure_of(some(ended.execution)).reason == "not needed"
    c = await row(registered, "c")
    assert not c.held and c.finished_at is not None
    await create(registered, "wait", "d")
    assert await held(registered, "d") == [True]  # c's end freed no slot


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.real)], indirect=True)
async def test_replace_does_not_deadlock_with_an_event_ending_the_oldest(
    registered: AdminService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wingspan.server.db.queries import execution_row
    from wingspan.server.services import concurrency

    await create(registered, "replace", "a")
    await create(registered, "replace", "b")
    waiting = anyio.Event()
    original = concurrency._wait_briefly

    async def announced(session: Any, statement: Any) -> list[ExecutionRow]:
        waiting.set()  # the create holds the plan's slots row and wants a locked execution
        return await original(session, statement)

    monkeypatch.setattr(concurrency, "_wait_briefly", announced)
    # two events ending a and b: each holds its execution row, then wants the slots row
    async with anyio.create_task_group() as group, registered.db.write() as session:
        for name in "ab":
            execution_id = v1.ExecutionId(project=PROJECT, domain=DOMAIN, name=name)
            ended = await execution_row(session, execution_id, lock=True)
            assert ended is not None
            ended.phase = int(v1.WorkflowPhase.SUCCEEDED)
        group.start_soon(create, registered, "replace", "c")
        with anyio.fail_after(10):
            await waiting.wait()
        assert ended is not None
        await concurrency.release(session, PROJECT, DOMAIN, "limited_replace", ended.updated_at)
    c = await row(registered, "c")
    assert c.phase == int(v1.WorkflowPhase.QUEUED) and not c.held
    assert [(await row(registered, n)).phase for n in "ab"] == [int(v1.WorkflowPhase.SUCCEEDED)] * 2
