"""Signals from Python (issue #22 item 22): a workflow with gates called from code, its gates
answered by ``run(..., signals=...)`` locally and by ``Remote.execute(..., signals=...)`` on a
server."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from tests.unit.remote.servers import api_server
from wingspan import LaunchPlan, approve, task, wait_for_input, workflow
from wingspan._remote.client import AsyncRemote
from wingspan.core.errors import ExecutionFailedError, NotFoundError
from wingspan.core.model.execution import WorkflowPhase


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@workflow
def reviewed(x: int) -> int:
    factor = wait_for_input("factor", timeout=timedelta(seconds=30), expected_type=int)
    scaled = scale(x=x, factor=factor)
    shipped: int = scale(x=approve(scaled, "ship-it", timeout=timedelta(seconds=30)), factor=1)
    return shipped  # a promise, typed as the output it stands for


def test_a_dict_of_signals_answers_the_gates() -> None:
    assert reviewed.run(x=2, signals={"factor": 5, "ship-it": True}) == 10
    assert reviewed.run(3, signals={"factor": 2, "ship-it": True}) == 6  # positional inputs too


def test_a_handler_is_asked_for_each_signal_when_its_gate_waits() -> None:
    asked: list[str] = []
    lock = threading.Lock()

    def answer(name: str) -> object:
        with lock:
            asked.append(name)
        return 4 if name == "factor" else True

    assert reviewed.run(x=1, signals=answer) == 4
    assert asked == ["factor", "ship-it"]


def test_a_rejection_fails_the_run_at_its_gate() -> None:
    with pytest.raises(ExecutionFailedError, match="approval 'ship-it' was rejected"):
        reviewed.run(x=1, signals={"factor": 1, "ship-it": False})


def test_a_signal_left_out_is_named_with_the_fix() -> None:
    with pytest.raises(ExecutionFailedError,
                       match=r"workflow '.*reviewed' waits for signal 'ship-it', which signals= does not "
                             r"give \(it gives \['factor'\]\): add 'ship-it': VALUE"):
        reviewed.run(x=1, signals={"factor": 1})


def test_a_value_of_the_wrong_type_names_the_signal_and_both_types() -> None:
    with pytest.raises(ExecutionFailedError, match="signal 'factor' expects int, got str 'five'"):
        reviewed.run(x=1, signals={"factor": "five", "ship-it": True})


def test_signals_must_be_a_dict_or_a_function() -> None:
    with pytest.raises(TypeError, match=r"signals= takes a dict \{signal name: value\} or a function"):
        reviewed.run(x=1, signals=["factor"])  # type: ignore[arg-type]


def test_a_launch_plan_runs_with_signals_too() -> None:
    plan = LaunchPlan.get_or_create(reviewed, name="reviewed_twice", fixed_inputs={"x": 2})
    assert plan.run(signals={"factor": 7, "ship-it": True}) == 14


GATED = ("from datetime import timedelta\n"
         "from wingspan import approve, task, wait_for_input, workflow\n\n"
         "@task\ndef plus(a: int, b: int) -> int:\n    return a + b\n\n"
         "@workflow\ndef held(x: int) -> int:\n"
         "    more = wait_for_input('more', timeout=timedelta(seconds=60), expected_type=int)\n"
         "    return approve(plus(a=x, b=more), 'go', timeout=timedelta(seconds=60))\n")


async def test_remote_execute_gives_the_signals_up_front(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "signals_held.py").write_text(GATED)
    async with api_server(tmp_path / "home", engine=True) as server:
        remote = AsyncRemote(server.grpc_address)
        try:
            await remote.register(folder)
            execution = await remote.execute("signals_held.held", {"x": 1}, signals={"more": 41, "go": True})
            await execution.wait(timeout=60)
            assert (execution.phase, await execution.outputs()) == (WorkflowPhase.SUCCEEDED, {"o0": 42})

            with pytest.raises(NotFoundError, match="has no signal 'mor'"):
                await remote.execute("signals_held.held", {"x": 1}, name="typo-run", signals={"mor": 41})
            refused = await remote.execution("typo-run")
            await refused.wait(timeout=60)
            assert refused.phase == WorkflowPhase.ABORTED

            before = len(await remote.list_executions())
            with pytest.raises(TypeError, match=r"takes a dict \{signal name: value\}, given when it starts, "
                                                r"not function; to answer gates later, call set_signal"):
                handler = lambda name: 1  # noqa: E731
                await remote.execute("signals_held.held", {"x": 1}, signals=handler)  # type: ignore[arg-type]
            assert len(await remote.list_executions()) == before  # refused before any was made
        finally:
            await remote.aclose()
