"""A map's items on the local-process target go to its workers in chunks (many items per
round trip), yet each item keeps its own outcome: a retry runs that item again, not its
chunk; an item over its timeout, or one that kills its worker, fails alone and the items
after it in the chunk still run; a chunk whose target fails fails each of its attempts."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.core.engine import Event
from wingspan.core.engine.interfaces import AttemptRequest
from wingspan.core.model.execution import ExecutionError, NodePhase, TaskPhase, WorkflowPhase
from wingspan.core.model.literals import Literal, LiteralMap
from wingspan.core.plugins.contract import TaskContext, TaskStatus
from wingspan.core.plugins.executor import PluginExecutor
from wingspan.core.plugins.inprocess_target import InProcessTarget
from wingspan.core.plugins.localproc.target import LocalProcessTarget
from wingspan.core.plugins.registry import TaskPluginRegistry

if TYPE_CHECKING:
    from tests.unit.plugins import localproc_chunk_tasks as tasks
else:
    import localproc_chunk_tasks as tasks

TARGET = "local-process"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
    yield tmp_path / "home"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "runs"
    made.mkdir()
    return made


def runs(folder: Path, x: int) -> int:
    path = folder / f"item-{x}"
    return len(path.read_text().split()) if path.exists() else 0


def item_events(events: list[Event], kind: str) -> list[tuple[str, str, int]]:
    return [(e.node_id, e.phase.name, e.attempt) for e in events
            if e.kind == kind and e.node_id.startswith("n0/")]


def node_failure(events: list[Event], node_id: str) -> ExecutionError:
    (failed,) = [e.error for e in events
                 if e.kind == "node" and e.node_id == node_id and e.phase == NodePhase.FAILED]
    assert failed is not None
    return failed


def test_a_maps_items_go_to_the_workers_in_chunks(folder: Path, home: Path) -> None:
    xs = list(range(300))
    result = run_workflow_entity(tasks.doubled, {"folder": str(folder), "xs": xs}, target=TARGET)
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert outputs_of(tasks.doubled, result) == [x * 2 for x in xs]
    assert [runs(folder, x) for x in xs] == [1] * 300
    # a log per chunk, not per item; each item's attempt recorded as started before its chunk
    chunks = list(home.rglob("*-chunk-*.log"))
    assert 1 < len(chunks) <= 8
    attempts = item_events(result.events, "task")
    assert sorted(attempts) == sorted((f"n0/{x}", phase, 0) for x in xs for phase in ("RUNNING", "SUCCEEDED"))
    assert sorted(item_events(result.events, "node")) == sorted(
        (f"n0/{x}", phase, 0) for x in xs for phase in ("RUNNING", "SUCCEEDED"))
    # an item's log is its chunk's, its part headed by a line naming it
    (log,) = {uri for e in result.events if e.kind == "task" and e.node_id == "n0/7"
              and e.phase == TaskPhase.SUCCEEDED for _, uri in e.logs}
    assert "--- n0/7, attempt 0\n" in Path(log).read_text()
    processes = {line for x in xs for line in (folder / f"item-{x}").read_text().split()}
    assert len(processes) <= len(chunks)


def test_a_retried_item_runs_again_alone_not_its_chunk(folder: Path) -> None:
    result = run_workflow_entity(tasks.partly, {"folder": str(folder), "xs": list(range(8))}, target=TARGET)
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert outputs_of(tasks.partly, result) == [0, 1, 2, 3, 4, None, 6, 7]
    assert [runs(folder, x) for x in range(8)] == [1, 1, 1, 2, 1, 1, 1, 1]
    attempts = item_events(result.events, "task")
    # (a RUNNING attempt is recorded again once its log links are known)
    assert list(dict.fromkeys(a for a in attempts if a[0] == "n0/3")) == [
        ("n0/3", "RUNNING", 0), ("n0/3", "RETRYABLE_FAILURE", 0),
        ("n0/3", "RUNNING", 1), ("n0/3", "SUCCEEDED", 1)]
    assert [a for a in attempts if a[0] == "n0/5"] == [("n0/5", "RUNNING", 0), ("n0/5", "FAILED", 0)]
    assert "item 5 always fails" in node_failure(result.events, "n0/5").message


def test_an_item_over_its_timeout_fails_alone_and_the_rest_of_its_chunk_runs(folder: Path) -> None:
    started = time.monotonic()
    result = run_workflow_entity(tasks.one_slow, {"folder": str(folder), "xs": list(range(5))}, target=TARGET)
    assert time.monotonic() - started < 30
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert outputs_of(tasks.one_slow, result) == [0, 1, None, 3, 4]
    assert [runs(folder, x) for x in range(5)] == [1] * 5
    assert [a for a in item_events(result.events, "task") if a[0] == "n0/2"] == [
        ("n0/2", "RUNNING", 0), ("n0/2", "TIMED_OUT", 0)]


def test_an_item_that_kills_its_worker_fails_alone_and_the_rest_of_its_chunk_runs(folder: Path) -> None:
    values = {"folder": str(folder), "xs": list(range(5))}
    result = run_workflow_entity(tasks.one_crash, values, target=TARGET)
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert outputs_of(tasks.one_crash, result) == [0, 1, None, 3, 4]
    assert [runs(folder, x) for x in range(5)] == [1] * 5
    assert node_failure(result.events, "n0/2").code == "SIGKILL"


async def test_the_in_process_target_runs_a_chunk_attempt_by_attempt(folder: Path) -> None:
    runner: Any = tasks.double.task_runner()
    contexts = [TaskContext(runner.template, LiteralMap({"x": Literal("integer", x)}), "chunked",
                            f"n0/{x}", 0, runner=runner, python_inputs={"folder": str(folder), "x": x})
                for x in range(3)]
    statuses = await InProcessTarget().run_chunk(contexts)
    assert [s.phase if s else None for s in statuses] == [TaskPhase.SUCCEEDED] * 3
    assert [s.outputs.literals["o0"].value if s and s.outputs else None for s in statuses] == [0, 2, 4]


class _PipeBreaks(LocalProcessTarget):
    """A target whose chunk fails as a plugin (not as the task): which items ran is unknown."""

    name = "pipe-breaks"

    async def run_chunk(self, contexts: Sequence[TaskContext]) -> list[TaskStatus | None]:
        raise ConnectionError("the worker's pipe broke")


async def test_a_chunk_whose_target_fails_fails_each_attempt_as_the_plugins_failure(folder: Path) -> None:
    target = _PipeBreaks()
    executor = PluginExecutor(TaskPluginRegistry([target], {"python": target.name}))
    runner: Any = tasks.double.task_runner()
    assert executor.runs_chunks(runner)
    requests = [AttemptRequest(runner, {"folder": str(folder), "x": x}, "chunked", f"n0/{x}", 0,
                               map_item=True) for x in range(3)]
    outcomes = await executor.run_chunk(requests)
    for outcome, request in zip(outcomes, requests, strict=True):
        assert outcome is not None and outcome.phase == TaskPhase.FAILED and outcome.error is not None
        assert outcome.error.retryable and outcome.error.node_id == request.node_id
        assert "'pipe-breaks' failed in run_chunk" in outcome.error.message
        assert "the worker's pipe broke" in outcome.error.message
