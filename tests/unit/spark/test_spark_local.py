"""The Spark plugin's local backend, for real (pyspark in local mode in a warm worker): the
body's session, Spark frames written as Parquet by the executors and read as Spark, pandas
or arrow frames, warm reuse of the session, and the failure modes (an executor's error, a
killed worker, a timeout) with retries and caching as for any task.

All tests share one home (one store, one pool of Spark workers), so that the JVM starts
once for the module, not once per test; the tests that kill the worker run last."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wingspan._authoring.workflow import Workflow, single_node_workflow
from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.core.model.execution import WorkflowPhase

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tasks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("spark-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WINGSPAN_HOME", str(home))
        patch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
        yield importlib.import_module("spark_tasks")


def run(entity: Any, **values: Any) -> tuple[Any, Any]:
    workflow = entity if isinstance(entity, Workflow) else single_node_workflow(entity)
    return run_workflow_entity(workflow, values, target=None), workflow


def test_frames_flow_as_parquet_between_spark_pandas_and_arrow_tasks(tasks: Any) -> None:
    result, wf = run(tasks.frames, n=100)
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    squares = sum(i * i for i in range(100))
    assert outputs_of(wf, result) == (squares, 100, squares, 2 * sum(range(100)))
    # the Spark frame was written by the executors: a folder of Parquet parts, one per partition
    store = Path(os.environ["WINGSPAN_HOME"])
    folders = [p for p in store.rglob("spark-frame") if p.is_dir()]
    assert folders, "no Spark frame folder in the store"
    parts = sorted(p.name for p in folders[0].iterdir() if p.name.startswith("part-"))
    assert len(parts) == 2 and all(p.endswith(".parquet") for p in parts)


def test_a_second_attempt_with_the_same_settings_reuses_the_warm_session(tasks: Any) -> None:
    result, wf = run(tasks.session_facts, x=1)
    first = outputs_of(wf, result)
    result, wf = run(tasks.session_facts, x=2)
    second = outputs_of(wf, result)
    assert first == second  # the same worker, the same SparkContext: no new JVM
    result, wf = run(tasks.other_settings_facts, x=1)
    other = outputs_of(wf, result)
    assert other[0] != first[0]  # other settings: a worker (and session) of their own


def test_an_executors_error_fails_the_attempt_with_a_named_error(tasks: Any) -> None:
    result, _ = run(tasks.fails_on_an_executor, n=10)
    assert result.phase == WorkflowPhase.FAILED
    assert result.error.code == "USER:SparkExecutorError"
    assert "failed on an executor: ValueError: bad row 3" in result.error.message


def test_retries_and_caching_behave_as_for_any_task(tasks: Any, tmp_path: Path) -> None:
    result, wf = run(tasks.fails_once_on_an_executor, n=10)
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert outputs_of(wf, result) == 45
    marker = tmp_path / "ran.txt"
    for _ in range(2):
        result, wf = run(tasks.counted, n=7, marker=str(marker))
        assert outputs_of(wf, result) == 7
    assert marker.read_text().count("ran") == 1  # the second run was a cache hit


def test_a_timeout_stops_the_attempt(tasks: Any) -> None:
    result, _ = run(tasks.too_slow, n=4)
    assert result.phase == WorkflowPhase.TIMED_OUT, result.error


def test_a_killed_worker_fails_its_attempt_and_the_next_gets_a_new_one(tasks: Any) -> None:
    result, _ = run(tasks.kills_its_worker, x=1)
    assert result.phase == WorkflowPhase.FAILED
    assert "SIGKILL" in result.error.message, result.error
    result, _ = run(tasks.session_facts, x=3)
    assert result.phase == WorkflowPhase.SUCCEEDED
