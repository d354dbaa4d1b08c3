"""Dask tasks run locally through the engine, on both of the plugin's targets: the body's client,
frames across tasks and kinds, a worker's exception named, retries, and a timeout that stops the
attempt's cluster."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.dask import dask_tasks
from wingspan._authoring.workflow import single_node_workflow
from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.core.model.execution import WorkflowPhase

# each test starts a worker process and its cluster of two (seconds each on a shared machine)
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
    yield tmp_path


def run(entity: Any, target: str = "", **values: Any) -> tuple[Any, Any]:
    workflow = entity if hasattr(entity, "closure") else single_node_workflow(entity)
    return run_workflow_entity(workflow, values, target=target or None), workflow


@pytest.mark.parametrize("target", ["", "dask=dask-in-process"])
def test_the_body_computes_on_its_cluster(target: str) -> None:
    result, wf = run(dask_tasks.sum_on_cluster, target, n=10)
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert outputs_of(wf, result) == 55


@pytest.mark.parametrize("target", ["", "dask=dask-in-process"])
def test_a_dask_frame_reaches_a_pandas_task_and_a_dask_task(target: str) -> None:
    result, wf = run(dask_tasks.frames_across_kinds, target, n=10)
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert outputs_of(wf, result) == (285, 285)


def test_a_worker_exception_fails_the_task_naming_the_worker_and_is_retried() -> None:
    result, _ = run(dask_tasks.raise_on_worker_with_a_retry, n=3)
    assert result.phase == WorkflowPhase.FAILED
    error = result.error
    assert error.code == "USER:DaskTaskError" and error.retryable
    assert "failed on worker tcp://" in error.message and "ValueError: no good: 3" in error.message
    assert "fail_on_worker" in error.message
    failed = [e for e in result.events if e.kind == "task" and e.error is not None]
    assert [(e.attempt, e.phase.name) for e in failed] == [(0, "RETRYABLE_FAILURE"), (1, "FAILED")]
    assert all(e.error.code == "USER:DaskTaskError" for e in failed)


def test_a_timeout_stops_the_attempt_and_its_cluster(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids.txt"
    result, _ = run(dask_tasks.outlive_the_timeout, pids_file=str(pids_file))
    assert result.phase == WorkflowPhase.TIMED_OUT and result.error.code == "TIMEOUT", result.error
    pids = [int(pid) for pid in pids_file.read_text().split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids), "the cluster's workers outlived the attempt"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has exited: only its parent has yet to reap it
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
