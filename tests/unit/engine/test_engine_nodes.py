"""Every node kind runs end to end through the engine, with its events recorded."""

from __future__ import annotations

import functools
import threading
import tracemalloc
from pathlib import Path
from typing import NamedTuple

import anyio
import anyio.lowlevel
import pytest

from wingspan import File, conditional, dynamic, map_task, task, workflow
from wingspan._runner.run import SdkResolver, run_workflow_entity
from wingspan.core.engine import MemorySink, RetryPolicy, WorkflowRun, nodes
from wingspan.core.errors import ExecutionFailedError, TypeTransformerError
from wingspan.core.model.execution import WorkflowPhase

FAST = RetryPolicy(first_delay=0.001, max_delay=0.01)


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def double(x: int) -> int:
    return 2 * x


class Split(NamedTuple):
    low: int
    high: int


@task
def split(x: int) -> Split:
    return Split(x // 2, x - x // 2)


@workflow
def chain(x: int = 3) -> int:
    return add(a=double(x=x), b=1)


@workflow
def diamond(x: int) -> tuple[int, int]:
    parts = split(x=x)
    return double(x=parts.low), add(a=parts.low, b=parts.high)


def test_task_called_directly_runs_through_the_engine() -> None:
    assert add(a=1, b=2) == 3
    assert add(1, 2) == 3


def test_chain_and_defaults() -> None:
    assert chain(x=2) == 5
    assert chain() == 7


def test_diamond_returns_a_tuple() -> None:
    assert diamond(x=5) == (4, 5)


def test_every_node_records_its_phases_in_order() -> None:
    sink = MemorySink()
    result = run_workflow_entity(chain, {"x": 2}, sink=sink)
    assert result.phase == WorkflowPhase.SUCCEEDED
    for node_id in ("n0", "n1"):
        assert sink.phases(node_id) == ["QUEUED", "RUNNING", "SUCCEEDED"]
        assert sink.phases(node_id, "task") == ["RUNNING", "SUCCEEDED"]
    workflow_phases = [e.phase.name for e in sink.events if e.kind == "workflow"]
    assert workflow_phases == ["RUNNING", "SUCCEEDED"]
    times = [e.at for e in sink.events]
    assert times == sorted(times)
    assert [e.sequence for e in sink.events] == list(range(1, len(sink.events) + 1))


@task
def positive(x: int) -> str:
    return "positive"


@task
def negative(x: int) -> str:
    return "negative"


@workflow
def sign(x: int) -> str:
    return (conditional("sign")
            .if_(x > 0).then(positive(x=x))
            .elif_(x < 0).then(negative(x=x))
            .else_().fail("zero has no sign"))


def test_branch_runs_only_the_chosen_arm() -> None:
    sink = MemorySink()
    result = run_workflow_entity(sign, {"x": 4}, sink=sink)
    assert result.outputs == {"o0": "positive"}
    branch, arm_positive, arm_negative = "n0", "n1", "n2"
    assert sink.phases(arm_positive)[-1] == "SUCCEEDED"
    assert sink.phases(arm_negative) == ["SKIPPED"]
    assert [e.parent for e in sink.of(arm_positive) if e.kind == "node"] == [branch] * 3
    assert sign(x=-1) == "negative"


def test_branch_fail_arm_fails_with_its_message() -> None:
    with pytest.raises(ExecutionFailedError, match="zero has no sign") as info:
        sign(x=0)
    assert info.value.node_id == "n0"


@task
def is_big(x: int) -> bool:
    return x > 10


@workflow
def bool_branch(x: int) -> str:
    big = is_big(x=x)
    return (conditional("big")
            .if_(big.is_true() & (x > 100)).then(positive(x=x))
            .else_().then(negative(x=x)))


def test_conditions_combine_with_and() -> None:
    assert bool_branch(x=1000) == "positive"
    assert bool_branch(x=50) == "negative"


@task
def scale(x: int, factor: int) -> int:
    if x < 0:
        raise ValueError(f"negative item {x}")
    return x * factor


@workflow
def mapped(xs: list[int]) -> list[int]:
    return map_task(functools.partial(scale, factor=10), concurrency=3)(x=xs)


@workflow
def tolerant_map(xs: list[int]) -> list[int | None]:
    return map_task(functools.partial(scale, factor=1), min_success_ratio=0.5)(x=xs)


def test_map_returns_results_in_order() -> None:
    sink = MemorySink()
    result = run_workflow_entity(mapped, {"xs": list(range(20))}, sink=sink)
    assert result.outputs["o0"] == [10 * i for i in range(20)]
    for i in range(20):
        assert sink.phases(f"n0/{i}") == ["RUNNING", "SUCCEEDED"]
        assert {e.parent for e in sink.of(f"n0/{i}")} == {"n0"}


def test_map_min_success_ratio() -> None:
    assert tolerant_map(xs=[1, -1, 2, 3]) == [1, None, 2, 3]
    with pytest.raises(ExecutionFailedError, match="3 of 4 items failed"):
        tolerant_map(xs=[-1, -2, -3, 4])
    with pytest.raises(ExecutionFailedError, match="negative item -1"):
        mapped(xs=[1, -1])


@task
def square(x: int) -> int:
    return x * x


@task
def total(values: list[int]) -> int:
    return sum(values)


@dynamic
def squares(n: int) -> int:
    return total(values=[square(x=i) for i in range(n)])


@workflow
def fan_out(n: int) -> int:
    return squares(n=n)


def test_dynamic_sub_graph_runs_with_visible_nodes() -> None:
    sink = MemorySink()
    result = run_workflow_entity(fan_out, {"n": 4}, sink=sink)
    assert result.outputs == {"o0": 14}
    children = {e.node_id for e in sink.events if e.parent == "n0" and e.kind == "node"}
    assert children == {"n0/n0", "n0/n1", "n0/n2", "n0/n3", "n0/n4"}
    assert sink.phases("n0/n4") == ["QUEUED", "RUNNING", "SUCCEEDED"]


@workflow
def inner(x: int) -> int:
    return double(x=x)


@workflow
def outer(x: int) -> list[int]:
    return [inner(x=x), inner(x=add(a=x, b=1))]


def test_subworkflows_run_as_nested_graphs() -> None:
    sink = MemorySink()
    result = run_workflow_entity(outer, {"x": 1}, sink=sink)
    assert result.outputs["o0"] == [2, 4]
    assert sink.phases("n0/n0")[-1] == "SUCCEEDED"
    assert {e.parent for e in sink.of("n0/n0") if e.kind == "node"} == {"n0"}


def test_launch_plan_applies_defaults_and_fixed_inputs() -> None:
    from wingspan import LaunchPlan

    @workflow
    def combine(a: int, b: int) -> int:
        return add(a=a, b=b)

    plan = LaunchPlan.get_or_create(combine, name="engine_combine", default_inputs={"a": 5},
                                    fixed_inputs={"b": 100})
    assert plan() == 105
    assert plan(a=1) == 101
    with pytest.raises(TypeError, match="fixes inputs"):
        plan(b=1)

    @workflow
    def calls_plan(a: int) -> int:
        return double(x=plan(a=a))

    assert calls_plan(a=2) == 204


def test_wrong_input_type_is_rejected_before_running() -> None:
    with pytest.raises(TypeTransformerError, match=r"input 'x': expected int, got str"):
        chain(x="3")


@task
def liar(x: int) -> int:
    return str(x)  # type: ignore[return-value]


def test_wrong_output_type_fails_naming_the_output() -> None:
    with pytest.raises(TypeTransformerError, match="returned str '1' for output 'o0'"):
        liar(x=1)


async def test_workflow_runs_from_a_running_event_loop() -> None:
    assert chain(x=1) == 3


@task
async def async_add(a: int, b: int) -> int:
    return a + b


def test_async_task() -> None:
    assert async_add(a=2, b=3) == 5


@task
def line_count(source: File) -> int:
    return len(Path(source.download()).read_text().splitlines())


@dynamic
def count_each(sources: list[File]) -> list[int]:
    return [line_count(source=s) for s in sources]


@workflow
def count_files(sources: list[File]) -> list[int]:
    return count_each(sources=sources)


def test_dynamic_graph_passes_local_files_on(tmp_path: Path) -> None:
    files = []
    for lines in (1, 3):
        path = tmp_path / f"f{lines}.txt"
        path.write_text("x\n" * lines)
        files.append(File(str(path)))
    assert count_files(sources=files) == [1, 3]


# A map given no concurrency (as users write it) runs as cheaply as a tuned one: a few lanes pull
# its items and its state stays compact; an abort stops a map starting items.


@task
def same(x: int) -> int:
    return x


@workflow
def plain_map(xs: list[int]) -> list[int]:
    return map_task(same)(x=xs)


def test_a_map_given_no_concurrency_keeps_under_a_kibibyte_per_item() -> None:
    plain_map(xs=[1])  # imports and caches outside the measure
    items = list(range(20_000))
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        assert plain_map(xs=items) == items
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the run's events (two per item, kept by the local run) are counted in
    assert (peak - before) / len(items) < 1024


in_flight = [0, 0]  # items running now, the most at once


@task
async def counted(x: int) -> int:
    in_flight[0] += 1
    in_flight[1] = max(in_flight[1], in_flight[0])
    for _ in range(5):  # the other lanes' items start meanwhile, if they may
        await anyio.lowlevel.checkpoint()
    in_flight[0] -= 1
    return x


@workflow
def executor_map(xs: list[int]) -> list[int]:
    return map_task(counted)(x=xs)


def test_a_map_through_an_executor_given_no_concurrency_runs_a_bounded_number_of_items_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # each item started holds its attempt and events until it ends: 100,000 at once held gigabytes
    monkeypatch.setattr(nodes, "EXECUTOR_MAP_LANES", 4)
    in_flight[:] = [0, 0]
    assert executor_map(xs=list(range(30))) == list(range(30))
    assert in_flight[1] == 4


started: list[int] = []
after_abort = threading.Event()
running_run: list[WorkflowRun] = []


@task
def aborts_at_five(x: int) -> int:
    started.append(x)
    if x == 5:
        running_run[0].abort("enough")
    elif x > 5:
        after_abort.set()
    return x


@workflow
def aborted_map(xs: list[int]) -> list[int]:
    return map_task(aborts_at_five, concurrency=1)(x=xs)


async def test_an_aborted_map_starts_no_more_items() -> None:
    started.clear()
    after_abort.clear()
    run = WorkflowRun(aborted_map.closure, {"xs": list(range(1000))}, SdkResolver(aborted_map.entities),
                      sink=MemorySink())
    running_run[:] = [run]
    with anyio.fail_after(10):
        result = await run.run()
    assert result.phase == WorkflowPhase.ABORTED
    # the lane's thread outlives the cancelled wait for it: it must stop on its own
    assert not after_abort.wait(timeout=0.5), f"{len(started)} items started, after the abort too"
    assert started == [0, 1, 2, 3, 4, 5]



reached_five = threading.Event()
release_five = threading.Event()
after_cancel = threading.Event()


@task
def waits_at_five(x: int) -> int:
    if x == 5:
        reached_five.set()
        release_five.wait(timeout=10)
    elif x > 5:
        after_cancel.set()
    return x


@workflow
def cancelled_map(xs: list[int]) -> list[int]:
    return map_task(waits_at_five, concurrency=1)(x=xs)


async def test_a_cancelled_map_starts_no_more_items() -> None:
    # a run cancelled (its lease lost, its server stopping) abandons the lane's thread, which
    # went on through every item left, running user code for a run nobody follows
    for flag in (reached_five, release_five, after_cancel):
        flag.clear()
    run = WorkflowRun(cancelled_map.closure, {"xs": list(range(1000))}, SdkResolver(cancelled_map.entities),
                      sink=MemorySink())
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(run.run)
            assert await anyio.to_thread.run_sync(reached_five.wait, 10)
            group.cancel_scope.cancel()
    release_five.set()
    assert not after_cancel.wait(timeout=0.5), "the lane went on after the run was cancelled"
