"""Retries, timeouts, killed processes, failure policies, parallelism limits and abort."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from wingspan import NonRetryableError, task, workflow
from wingspan._authoring.workflow import Workflow, single_node_workflow
from wingspan._runner.run import SdkResolver, run_workflow_entity
from wingspan.core.engine import MemorySink, RetryPolicy, WorkflowRun
from wingspan.core.errors import ExecutionFailedError
from wingspan.core.model.execution import WorkflowPhase

FAST = RetryPolicy(first_delay=0.05, factor=2.0, max_delay=1.0)
attempts: dict[str, int] = {}


@task(retries=3)
def flaky(key: str, failures: int) -> str:
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] <= failures:
        raise ConnectionError(f"attempt {attempts[key]} failed")
    return f"ok after {attempts[key]}"


@task(retries=3)
def refuses(key: str) -> str:
    attempts[key] = attempts.get(key, 0) + 1
    raise NonRetryableError("bad input, retrying cannot help")


def test_retries_with_growing_backoff_then_success() -> None:
    sink = MemorySink()
    result = run_workflow_entity(single_node_workflow(flaky), {"key": "a", "failures": 2},
                                 sink=sink, retry=FAST)
    assert result.outputs == {"o0": "ok after 3"}
    task_events = [e for e in sink.events if e.kind == "task"]
    assert [(e.phase.name, e.attempt) for e in task_events] == [
        ("RUNNING", 0), ("RETRYABLE_FAILURE", 0), ("RUNNING", 1), ("RETRYABLE_FAILURE", 1),
        ("RUNNING", 2), ("SUCCEEDED", 2)]
    first_wait = task_events[2].at - task_events[1].at
    second_wait = task_events[4].at - task_events[3].at
    assert 0.05 <= first_wait < 1.0
    assert second_wait >= 0.1  # doubled


def test_retries_run_out() -> None:
    sink = MemorySink()
    result = run_workflow_entity(single_node_workflow(flaky), {"key": "b", "failures": 10},
                                 sink=sink, retry=FAST)
    assert result.phase == WorkflowPhase.FAILED
    assert attempts["b"] == 4
    assert result.error is not None and "attempt 4 failed" in result.error.message


def test_non_retryable_error_is_not_retried() -> None:
    with pytest.raises(NonRetryableError):
        refuses(key="c")
    assert attempts["c"] == 1


def test_default_backoff_starts_under_a_second_and_grows() -> None:
    policy = RetryPolicy()
    assert policy.delay(1) < 1.0 < policy.delay(4)
    assert policy.delay(50) == policy.max_delay


@task(timeout=timedelta(seconds=0.5))
def sleepy(seconds: float, marker: str) -> str:
    time.sleep(seconds)
    Path(marker).write_text("finished")
    return "done"


def test_timeout_stops_the_task_at_the_deadline(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    started = time.monotonic()
    with pytest.raises(ExecutionFailedError, match=r"timeout of 0\.5s") as info:
        sleepy(seconds=5.0, marker=str(marker))
    elapsed = time.monotonic() - started
    assert info.value.phase == "TIMED_OUT"
    assert elapsed < 3.0
    time.sleep(0.2)
    assert not marker.exists(), "the task kept running after its deadline"
    assert sleepy(seconds=0.0, marker=str(marker)) == "done"


@task(timeout=30)
def killed(how: int) -> int:
    os.kill(os.getpid(), how)
    time.sleep(5)
    return 0


def test_a_killed_task_process_fails_with_its_signal() -> None:
    with pytest.raises(ExecutionFailedError) as info:
        killed(how=int(signal.SIGKILL))
    assert info.value.code == "SIGKILL"
    assert "killed by SIGKILL" in str(info.value)


side_effects: list[str] = []


@task
def fail(x: int) -> int:
    raise ValueError("boom")


@task
def slow_mark(name: str, seconds: float) -> str:
    time.sleep(seconds)
    side_effects.append(name)
    return name


@task
def after(x: int) -> int:
    side_effects.append("after")
    return x


@workflow
def fail_fast(seconds: float = 2.0) -> str:
    after(x=fail(x=1))
    return slow_mark(name="fast-sibling", seconds=seconds)


@workflow(failure_policy="fail_after_executable_nodes_complete")
def finish_what_can(seconds: float = 0.2) -> str:
    after(x=fail(x=1))
    return slow_mark(name="patient-sibling", seconds=seconds)


def test_fail_immediately_stops_siblings() -> None:
    sink = MemorySink()
    started = time.monotonic()
    result = run_workflow_entity(fail_fast, {}, sink=sink)
    assert result.phase == WorkflowPhase.FAILED
    assert time.monotonic() - started < 1.5
    assert "fast-sibling" not in side_effects
    assert sink.phases("n1")[-1] == "SKIPPED"  # after(): its upstream failed
    assert sink.phases("n2")[-1] == "ABORTED"


def test_fail_after_executable_nodes_complete_lets_others_finish() -> None:
    sink = MemorySink()
    result = run_workflow_entity(finish_what_can, {}, sink=sink)
    assert result.phase == WorkflowPhase.FAILED
    assert "patient-sibling" in side_effects
    assert sink.phases("n2")[-1] == "SUCCEEDED"
    assert sink.phases("n1") == ["SKIPPED"]
    assert "after" not in side_effects


concurrent = {"now": 0, "peak": 0}
lock = threading.Lock()


@task
def busy(i: int) -> int:
    with lock:
        concurrent["now"] += 1
        concurrent["peak"] = max(concurrent["peak"], concurrent["now"])
    time.sleep(0.1)
    with lock:
        concurrent["now"] -= 1
    return i


@workflow
def four_at_once() -> list[int]:
    return [busy(i=0), busy(i=1), busy(i=2), busy(i=3)]


def test_max_parallelism_bounds_running_nodes() -> None:
    concurrent["peak"] = 0
    result = run_workflow_entity(four_at_once, {}, max_parallelism=2)
    assert result.outputs["o0"] == [0, 1, 2, 3]
    assert concurrent["peak"] == 2
    concurrent["peak"] = 0
    run_workflow_entity(four_at_once, {})
    assert concurrent["peak"] == 4


@workflow
def long_running(seconds: float = 30.0) -> str:
    return slow_mark(name="never", seconds=seconds)


async def test_abort_stops_a_running_execution_within_bounded_time() -> None:
    task_started = anyio.Event()
    sink = MemorySink(lambda e: task_started.set() if e.kind == "task" else None)
    run = WorkflowRun(long_running.closure, {"seconds": 30.0}, _resolver(long_running), sink=sink)

    async def abort_once_running() -> None:
        with anyio.fail_after(5):
            await task_started.wait()
        run.abort("stop please")

    async with anyio.create_task_group() as group:
        group.start_soon(abort_once_running)
        with anyio.fail_after(5):
            result = await run.run()
    assert result.phase == WorkflowPhase.ABORTED
    assert result.error is not None and result.error.message == "stop please"
    assert sink.phases("n0")[-1] == "ABORTED"
    assert [e.phase.name for e in sink.events if e.kind == "workflow"] == ["RUNNING", "ABORTED"]


def _resolver(wf: Workflow) -> SdkResolver:
    return SdkResolver(wf.entities)



@task
def step(x: int) -> int:
    if x == 0:
        raise NonRetryableError("the head of the chain fails")
    return x


@workflow
def long_chain(x: int = 0) -> int:
    for _ in range(3000):
        x = step(x=x)
    return x


def test_a_failure_at_the_head_of_a_long_chain_skips_the_rest() -> None:
    sink = MemorySink()
    result = run_workflow_entity(long_chain, {}, sink=sink)
    assert result.phase == WorkflowPhase.FAILED
    skipped = [e for e in sink.events if e.kind == "node" and e.phase.name == "SKIPPED"]
    assert len(skipped) == 2999
