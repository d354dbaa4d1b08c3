"""Ray tasks run locally through the engine on ``ray-local`` (warm worker processes, each with its
local cluster): remote functions on the cluster, a Dataset handed to a Ray task and to a pandas
task, the cluster kept warm between tasks; a remote function's exception and a killed Ray
worker named; a timeout that takes the whole cluster with it.

Ray is heavy on 2 shared CPUs (a cluster starts in about 10 s here): the tests share one warm
cluster, and the timeout test starts one more."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.ray import ray_tasks
from wingspan._authoring.workflow import single_node_workflow
from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.core.model.execution import WorkflowPhase

pytestmark = pytest.mark.slow

MARKER = b"WINGSPAN_RAY_CLUSTER="


@pytest.fixture(scope="module", autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # one home for the module: the warm workers (and their cluster) serve every test here
    path = tmp_path_factory.mktemp("ray")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WINGSPAN_HOME", str(path / "home"))
        patch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
        yield path


def run(entity: Any, **values: Any) -> tuple[Any, Any]:
    workflow = entity if hasattr(entity, "closure") else single_node_workflow(entity)
    return run_workflow_entity(workflow, values), workflow


def cluster_markers() -> set[bytes]:
    """The local Ray clusters alive, by the marker their processes carry."""
    found: set[bytes] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            found.update(item for item in environ if item.startswith(MARKER))
    return found


def test_a_dataset_crosses_tasks_on_one_warm_cluster() -> None:
    result, wf = run(ray_tasks.dataset_flow, n=10)
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    # the second Ray task ran on the cluster the first started (the same address)
    assert outputs_of(wf, result) == (285, 10, True)


def test_a_remote_function_that_raises_is_named_and_retried() -> None:
    result, _ = run(ray_tasks.raise_remotely, n=3)
    assert result.phase == WorkflowPhase.FAILED
    error = result.error
    assert error.code == "USER:RayRemoteTaskError" and error.retryable, error
    assert "the Ray task 'refuse' raised ValueError: no good: 3" in error.message
    failed = [e for e in result.events if e.kind == "task" and e.error is not None]
    assert [(e.attempt, e.phase.name) for e in failed] == [(0, "RETRYABLE_FAILURE"), (1, "FAILED")]


def test_a_killed_ray_worker_is_a_lost_worker() -> None:
    result, _ = run(ray_tasks.kill_a_worker, n=3)
    assert result.phase == WorkflowPhase.FAILED
    error = result.error
    assert error.code == "SYSTEM:RayWorkerLostError" and error.retryable, error
    assert "a Ray worker died" in error.message


def test_a_timeout_ends_the_attempt_and_its_whole_cluster() -> None:
    before = cluster_markers()
    result, _ = run(ray_tasks.sleeps_past_its_timeout, n=3)
    assert result.phase == WorkflowPhase.TIMED_OUT, result.error
    deadline = time.monotonic() + 30
    while cluster_markers() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cluster_markers() - before == set()
