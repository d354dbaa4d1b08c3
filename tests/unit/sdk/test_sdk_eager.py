# task calls are typed Any: what they return depends on where they are called
# mypy: disable-error-code="no-any-return"
"""``@eager`` (issue #22 item 16): an async body that awaits tasks as it needs them, with real
control flow; each awaited task is a child node of the eager node, recorded like any node."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from wingspan import eager, task, workflow
from wingspan._authoring.workflow import single_node_workflow
from wingspan._registration.discovery import load_entities
from wingspan._runner.run import run_workflow_entity
from wingspan.core.errors import CompilationError, ExecutionFailedError
from wingspan.core.model.execution import NodePhase, WorkflowPhase


@task
def add_one(x: int) -> int:
    return x + 1


@task
def double(x: int) -> int:
    return x * 2


@task
def fragile(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x


@task
def plus_two(x: int) -> int:
    # a task calling a task: a local run of its own, not a call of the eager body
    return add_one(x=add_one(x=x))


@eager
async def branching(x: int) -> int:
    y = await add_one(x=x)
    if y > 10:
        return await double(x=y)
    parts = await asyncio.gather(*(add_one(x=i) for i in range(y)))
    return sum(parts)


def test_real_control_flow_and_parallel_awaits() -> None:
    assert branching(x=20) == 42
    assert branching(x=3) == 1 + 2 + 3 + 4


def test_each_awaited_task_is_a_child_node_of_the_eager_node() -> None:
    result = run_workflow_entity(single_node_workflow(branching), {"x": 2})
    assert result.phase == WorkflowPhase.SUCCEEDED
    ended = [(e.node_id, e.parent) for e in result.events
             if e.kind == "node" and e.phase == NodePhase.SUCCEEDED]
    children = sorted(node for node, parent in ended if parent == "n0")
    assert children == ["n0/add_one-0", "n0/add_one-1", "n0/add_one-2", "n0/add_one-3"]
    # the eager node ends after all of them
    assert ended[-1] == ("n0", "")
    assert result.outputs == {"o0": 1 + 2 + 3}


def test_an_eager_workflow_is_a_node_of_a_workflow() -> None:
    @workflow
    def around(x: int) -> int:
        return double(x=branching(x=x))

    assert around(x=20) == 84


def test_a_failed_task_raises_in_the_body_which_may_handle_it() -> None:
    @eager
    async def careful(x: int) -> int:
        try:
            return await fragile(x=x)
        except ExecutionFailedError as failed:
            assert failed.node_id == "n0/fragile-0"
            assert isinstance(failed.__cause__, ValueError)
            return await fragile(x=-x)

    assert careful(x=-5) == 5

    @eager
    async def careless(x: int) -> int:
        return await fragile(x=x)

    result = run_workflow_entity(single_node_workflow(careless), {"x": -1})
    assert result.phase == WorkflowPhase.FAILED and result.error is not None
    assert result.error.node_id == "n0"
    assert "task 'fragile' (node n0/fragile-0) failed: ValueError: negative: -1" in result.error.message
    assert ("n0/fragile-0", NodePhase.FAILED) in [(e.node_id, e.phase) for e in result.events]


def test_tasks_the_children_call_are_theirs() -> None:
    @eager
    async def nested(x: int) -> int:
        return await plus_two(x=x)

    result = run_workflow_entity(single_node_workflow(nested), {"x": 1})
    assert result.outputs == {"o0": 3}
    assert {e.node_id for e in result.events if e.kind == "node"} == {"n0", "n0/plus_two-0"}


@workflow
def branching_flow(x: int) -> int:
    return double(x=add_one(x=x))


def test_an_eager_body_awaits_a_workflow_run_as_a_child_node() -> None:
    @eager
    async def awaits_a_workflow(x: int) -> int:
        first = await branching_flow(x=x)
        return await branching_flow(x=first) if first < 10 else first

    result = run_workflow_entity(single_node_workflow(awaits_a_workflow), {"x": 1})
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert result.outputs == {"o0": ((1 + 1) * 2 + 1) * 2}
    ended = {e.node_id for e in result.events if e.kind == "node" and e.phase == NodePhase.SUCCEEDED}
    assert {"n0/branching_flow-0", "n0/branching_flow-0/n0", "n0/branching_flow-0/n1",
            "n0/branching_flow-1/n1"} <= ended


def test_an_awaited_launch_plan_runs_its_workflow_with_the_plans_inputs() -> None:
    from wingspan import LaunchPlan

    plan = LaunchPlan.get_or_create(branching_flow, name="test_sdk_eager.branching_plan",
                                    default_inputs={"x": 3})

    @eager
    async def awaits_a_launch_plan(x: int) -> int:
        return await plan(x=x) + await plan()

    # a fixed input cannot be given, as when the plan is called anywhere else
    fixed = LaunchPlan.get_or_create(branching_flow, name="test_sdk_eager.fixed_plan", fixed_inputs={"x": 3})

    @eager
    async def overrides_a_fixed_input(x: int) -> int:
        return await fixed(x=x)

    assert awaits_a_launch_plan(x=1) == (1 + 1) * 2 + (3 + 1) * 2
    with pytest.raises(TypeError, match="fixes inputs"):
        overrides_a_fixed_input(x=1)


def test_mistakes_say_what_to_write() -> None:
    with pytest.raises(CompilationError, match="must be an async def"):
        @eager
        def not_async(x: int) -> int:
            return x

    from wingspan import map_task

    @eager
    async def awaits_a_map(x: int) -> list[int]:
        return await map_task(add_one)(x=[x, x])

    with pytest.raises(TypeError, match=r"For a map, gather the task over the items: await asyncio.gather"):
        awaits_a_map(x=1)

    @eager
    async def forgets_await(x: int) -> int:
        y = add_one(x=x)
        return await double(x=y)

    with pytest.raises(TypeError, match=r"input 'x' .* is a call that was not awaited; write y = await"):
        forgets_await(x=1)


def test_children_run_in_worker_processes_with_a_target(tmp_path: Path) -> None:
    module = tmp_path / "eager_flows_mod.py"
    module.write_text(textwrap.dedent("""
        import asyncio, os

        from wingspan import eager, task

        @task
        def pid_of(x: int) -> int:
            return os.getpid()

        @eager
        async def spread(n: int) -> list[int]:
            return list(await asyncio.gather(*(pid_of(x=i) for i in range(n))))
    """))
    spread = load_entities(module)["eager_flows_mod.spread"]
    result = run_workflow_entity(single_node_workflow(spread), {"n": 2}, target="local-process")
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    import os

    assert os.getpid() not in result.outputs["o0"]


runs: list[str] = []


@task
def counted(x: int) -> int:
    runs.append(f"counted {x}")
    return x


def test_a_retried_body_does_not_run_its_finished_tasks_again() -> None:
    runs.clear()
    attempts: list[int] = []

    @eager(retries=1)
    async def flaky(x: int) -> int:
        first = await counted(x=x)
        attempts.append(first)
        if len(attempts) == 1:
            raise RuntimeError("the body failed once")
        return first + await counted(x=x + 1)

    result = run_workflow_entity(single_node_workflow(flaky), {"x": 1})
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert result.outputs == {"o0": 1 + 2}
    # the second attempt got counted-0's outputs back; only counted-1 ran then
    assert runs == ["counted 1", "counted 2"]
    tasks = [(e.node_id, e.phase.name, e.attempt) for e in result.events if e.kind == "task"]
    assert ("n0", "RETRYABLE_FAILURE", 0) in tasks and ("n0", "SUCCEEDED", 1) in tasks


def test_a_body_past_its_timeout_times_out() -> None:
    @eager(timeout=0.2)
    async def slow(x: int) -> int:
        await asyncio.sleep(30)
        return x

    result = run_workflow_entity(single_node_workflow(slow), {"x": 1})
    assert result.phase == WorkflowPhase.TIMED_OUT
    assert result.error is not None and result.error.node_id == "n0"


def test_a_resumed_run_reuses_the_children_an_earlier_run_recorded() -> None:
    # what a server does after a restart: the body runs again, and a child whose success was
    # recorded gives its recorded outputs back instead of running
    from wingspan._runner.run import SdkResolver
    from wingspan.core.engine import WorkflowRun
    from wingspan.core.engine.journal import Journal, RecordedAttempt
    from wingspan.core.types.purity import to_literal_now

    runs.clear()

    @eager
    async def twice(x: int) -> int:
        return await counted(x=x) + await counted(x=x + 1)

    wrapper = single_node_workflow(twice)
    journal = Journal(outputs={"n0/counted-0": {"o0": to_literal_now(10, int)}},
                      attempts={"n0": 1}, running={"n0": RecordedAttempt(1)})
    run = WorkflowRun(wrapper.closure, {"x": 1}, SdkResolver(wrapper.entities), journal=journal)
    result = asyncio.run(run.run())
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert result.outputs == {"o0": 10 + 2}
    assert runs == ["counted 2"]
    # the attempt the stopped engine left running is recorded as interrupted, the next one runs
    tasks = [(e.node_id, e.phase.name, e.attempt) for e in result.events if e.kind == "task"]
    assert tasks[:2] == [("n0", "RETRYABLE_FAILURE", 1), ("n0", "RUNNING", 2)]


@eager
async def inner_eager(x: int) -> int:
    return await add_one(x=x) + 100


def test_an_eager_body_awaits_another_eager_task_and_a_dynamic_one() -> None:
    from wingspan import dynamic

    @dynamic
    def doubled_all(xs: list[int]) -> list[int]:
        return [double(x=x) for x in xs]

    @eager
    async def outer(x: int) -> list[int]:
        nested = await inner_eager(x=x)
        return await doubled_all(xs=[x, nested])

    result = run_workflow_entity(single_node_workflow(outer), {"x": 1})
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert result.outputs == {"o0": [2, 204]}
    nodes = {e.node_id for e in result.events if e.kind == "node"}
    assert {"n0/inner_eager-0", "n0/inner_eager-0/add_one-0", "n0/doubled_all-0",
            "n0/doubled_all-0/n0", "n0/doubled_all-0/n1"} <= nodes


@task
async def waits(x: int) -> int:
    await asyncio.sleep(30)
    return x


async def test_an_aborted_run_aborts_the_child_the_body_waits_for() -> None:
    import anyio

    from wingspan._runner.run import SdkResolver
    from wingspan.core.engine import MemorySink, WorkflowRun

    @eager
    async def patient(x: int) -> int:
        return await waits(x=x)

    wrapper = single_node_workflow(patient)
    child_running = anyio.Event()

    def listen(event: object) -> None:
        if getattr(event, "node_id", "") == "n0/waits-0" and getattr(event, "kind", "") == "task":
            child_running.set()

    sink = MemorySink(listen)
    run = WorkflowRun(wrapper.closure, {"x": 1}, SdkResolver(wrapper.entities), sink=sink)
    async with anyio.create_task_group() as group:
        group.start_soon(run.run)
        with anyio.fail_after(10):
            await child_running.wait()
        run.abort("stop it")
    phases = {(e.node_id, e.phase) for e in sink.events if e.kind == "node"}
    assert ("n0/waits-0", NodePhase.ABORTED) in phases
    assert ("n0", NodePhase.ABORTED) in phases


@task(cache=True, cache_version="1")
def cached_count(x: int) -> int:
    runs.append(f"cached {x}")
    return x


def test_cached_children_and_a_cached_eager_node_hit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    runs.clear()

    @eager
    async def uses_a_cached_task(x: int) -> int:
        runs.append("body")
        return await cached_count(x=x)

    assert uses_a_cached_task(x=5) == 5
    assert uses_a_cached_task(x=5) == 5
    # the body ran twice; the cached task it awaits ran once
    assert runs == ["body", "cached 5", "body"]

    runs.clear()

    @eager(cache=True, cache_version="1")
    async def cached_body(x: int) -> int:
        runs.append("cached body")
        return await counted(x=x)

    first = run_workflow_entity(single_node_workflow(cached_body), {"x": 7})
    second = run_workflow_entity(single_node_workflow(cached_body), {"x": 7})
    assert first.outputs == second.outputs == {"o0": 7}
    assert runs == ["cached body", "counted 7"]
    assert [e.cache.name for e in second.events if e.kind == "node" and e.node_id == "n0"][-1] == "HIT"


async def test_a_runner_asked_to_run_an_eager_body_as_a_plain_task_refuses() -> None:
    from wingspan._runner.run import SdkResolver, SdkTaskRunner

    runner = SdkTaskRunner(branching, SdkResolver({}))
    with pytest.raises(RuntimeError, match="was run as a plain task; an eager body runs where"):
        await runner.call_async({"x": 1})
