"""The Dask environment gives a body a client of a warm local cluster, and names what failed on it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import dask
import pytest
from wingspan_dask._environment import DaskEnvironment, DaskTaskError, DaskWorkerLostError, _failed_on_worker

from tests.unit.dask import dask_tasks
from wingspan.core.engine.context import ExecutionContext, ExecutionName


@pytest.fixture(scope="module")
def environment() -> Iterator[DaskEnvironment]:
    # a worker that dies under a task fails it at once (the default retries it on others)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        environment = DaskEnvironment()
        yield environment
    environment.close()


def context(name: str = "t") -> ExecutionContext:
    return ExecutionContext(ExecutionName("e1"), "n0", 0, name)


def test_the_body_gets_a_client_of_the_shape_it_asked_for(environment: DaskEnvironment) -> None:
    with environment.enter(dask_tasks.sum_on_cluster.template, context()) as values:
        client = values["dask_client"]
        assert len(client.scheduler_info()["workers"]) == 2
        assert sum(client.gather(client.map(dask_tasks.add_one, range(10)))) == 55


def test_the_cluster_stays_warm_between_attempts(environment: DaskEnvironment) -> None:
    with environment.enter(dask_tasks.sum_on_cluster.template, context()) as first:
        pass
    starts = environment.cold_starts
    began = time.perf_counter()
    with environment.enter(dask_tasks.sum_on_cluster.template, context()) as second:
        warm = time.perf_counter() - began
    assert second["dask_client"] is first["dask_client"]
    assert environment.cold_starts == starts
    assert warm < 0.5, f"entering a warm cluster took {warm:.2f}s"


def test_a_task_that_raises_on_a_worker_is_named_with_its_worker(environment: DaskEnvironment) -> None:
    with pytest.raises(DaskTaskError) as raised, \
            environment.enter(dask_tasks.raise_on_worker.template, context("raiser")) as values:
        values["dask_client"].submit(dask_tasks.fail_on_worker, 3).result()
    message = str(raised.value)
    assert "task 'raiser'" in message and "fail_on_worker" in message
    assert "on worker tcp://" in message and "ValueError: no good: 3" in message
    assert isinstance(raised.value.__cause__, ValueError)


def test_a_failure_of_another_task_is_not_taken_for_the_bodys_own(environment: DaskEnvironment) -> None:
    # as when, under load, an earlier attempt's failure is recorded after this attempt began
    since = time.time()
    with pytest.raises(DaskTaskError), \
            environment.enter(dask_tasks.raise_on_worker.template, context("earlier")) as values:
        client = values["dask_client"]
        client.submit(dask_tasks.fail_on_worker, 4).result()
    assert _failed_on_worker(client, since, KeyError("mine")) is None
    named = _failed_on_worker(client, since, ValueError("no good: 4"))
    assert named is not None and "fail_on_worker" in named[0]


def test_an_error_of_the_body_itself_is_left_as_it_is(environment: DaskEnvironment) -> None:
    with pytest.raises(KeyError), environment.enter(dask_tasks.sum_on_cluster.template, context()):
        raise KeyError("mine")


def test_a_killed_worker_is_a_retryable_system_error_and_the_cluster_recovers(
        environment: DaskEnvironment) -> None:
    with pytest.raises(DaskWorkerLostError, match="a Dask worker died while running") as raised, \
            environment.enter(dask_tasks.sum_on_cluster.template, context()) as values:
        values["dask_client"].submit(dask_tasks.kill_own_worker, 1).result()
    assert raised.value.retryable and not raised.value.user_error
    starts = environment.cold_starts
    with environment.enter(dask_tasks.sum_on_cluster.template, context()) as values:
        client = values["dask_client"]
        assert len(client.scheduler_info()["workers"]) == 2  # the nanny restarted it
        assert client.submit(dask_tasks.add_one, 1).result() == 2
    assert environment.cold_starts == starts
