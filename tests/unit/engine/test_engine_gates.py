"""Gates wait for time or signals; current_context() describes the running attempt."""

from __future__ import annotations

import time
from datetime import timedelta

import anyio
import pytest

from wingspan import approve, sleep, task, wait_for_input, workflow
from wingspan._runner.run import SdkResolver, run_workflow_entity
from wingspan.core.engine import CallbackSignals, MemorySink, QueueSignals, WorkflowRun, current_context
from wingspan.core.errors import UserError
from wingspan.core.model.execution import WorkflowPhase


@task
def produce(x: int) -> int:
    return x * 10


@task
def consume(x: int) -> int:
    return x + 1


@workflow
def napping(seconds: float = 0.3) -> int:
    first = produce(x=1)
    nap = sleep(timedelta(seconds=0.3))
    second = consume(x=first)
    first >> nap >> second
    return second


def test_sleep_really_waits() -> None:
    sink = MemorySink()
    started = time.monotonic()
    result = run_workflow_entity(napping, {}, sink=sink)
    assert result.outputs == {"o0": 11}
    assert time.monotonic() - started >= 0.3
    assert sink.phases("n1") == ["QUEUED", "WAITING", "SUCCEEDED"]
    end_of_nap = sink.of("n1")[-1].at
    assert min(e.at for e in sink.of("n2")) >= end_of_nap  # consume waited for the nap


@workflow
def reviewed(x: int) -> int:
    return consume(x=approve(produce(x=x), "review", timeout=timedelta(seconds=5)))


@workflow
def asks(x: int) -> int:
    extra = wait_for_input("extra", timeout=timedelta(seconds=5), expected_type=int)
    return consume(x=produce(x=extra))


async def _run_with_signals(wf: object, inputs: dict[str, object], signals: QueueSignals,
                            answers: dict[str, object]) -> object:
    sink = MemorySink()
    run = WorkflowRun(wf.closure, inputs, SdkResolver(wf.entities), sink=sink,  # type: ignore[attr-defined]
                      signals=signals)

    async def answer() -> None:
        for name, value in answers.items():
            with anyio.fail_after(5):
                await signals.asked(name)
            signals.set(name, value)

    async with anyio.create_task_group() as group:
        group.start_soon(answer)
        with anyio.fail_after(10):
            result = await run.run()
    result.sink = sink  # type: ignore[attr-defined]
    return result


async def test_approve_passes_the_value_on() -> None:
    result = await _run_with_signals(reviewed, {"x": 4}, QueueSignals(), {"review": True})
    assert result.outputs == {"o0": 41}  # type: ignore[attr-defined]
    assert result.sink.phases("n1")[:2] == ["QUEUED", "WAITING"]  # type: ignore[attr-defined]


async def test_rejection_fails_the_run() -> None:
    result = await _run_with_signals(reviewed, {"x": 4}, QueueSignals(), {"review": False})
    assert result.phase == WorkflowPhase.FAILED  # type: ignore[attr-defined]
    assert "approval 'review' was rejected" in result.error.message  # type: ignore[attr-defined]


async def test_wait_for_input_receives_a_typed_value() -> None:
    result = await _run_with_signals(asks, {"x": 0}, QueueSignals(), {"extra": 7})
    assert result.outputs == {"o0": 71}  # type: ignore[attr-defined]


async def test_signal_of_the_wrong_type_fails_naming_it() -> None:
    result = await _run_with_signals(asks, {"x": 0}, QueueSignals(), {"extra": "seven"})
    assert result.phase == WorkflowPhase.FAILED  # type: ignore[attr-defined]
    assert "signal 'extra' expects int, got str" in result.error.message  # type: ignore[attr-defined]


def test_signals_from_a_callback() -> None:
    asked = []

    def callback(name: str, expected: object) -> object:
        asked.append(name)
        return 2

    result = run_workflow_entity(asks, {"x": 0}, signals=CallbackSignals(callback))
    assert result.outputs == {"o0": 21}
    assert asked == ["extra"]


@workflow
def impatient(x: int) -> int:
    return consume(x=wait_for_input("never", timeout=timedelta(seconds=0.2), expected_type=int))


def test_signal_timeout_times_out_the_gate() -> None:
    sink = MemorySink()
    result = run_workflow_entity(impatient, {"x": 0}, sink=sink, signals=QueueSignals())
    assert result.phase == WorkflowPhase.TIMED_OUT
    assert sink.phases("n0")[-1] == "TIMED_OUT"


def test_gate_without_a_signal_source_fails_clearly() -> None:
    result = run_workflow_entity(asks, {"x": 0})
    assert result.phase == WorkflowPhase.FAILED
    assert "no way to receive signals" in result.error.message  # type: ignore[union-attr]


@task
def introspect(x: int) -> str:
    ctx = current_context()
    ctx.scratch_dir.joinpath("note").write_text("scratch works")
    ctx.logger.info("hello from %s", ctx.node_id)
    secret = ctx.secrets.get("db", "password")
    return f"{ctx.execution_id}|{ctx.node_id}|{ctx.attempt}|{secret}|{ctx.scratch_dir.is_dir()}"


@workflow
def introspective() -> str:
    return introspect(x=1)


def test_current_context_inside_a_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINGSPAN_SECRET_DB_PASSWORD", "hunter2")
    result = run_workflow_entity(introspective, {}, execution_id="exec-1")
    assert result.outputs == {"o0": "exec-1|n0|0|hunter2|True"}


def test_current_context_outside_a_task() -> None:
    with pytest.raises(UserError, match="only inside a running task"):
        current_context()
