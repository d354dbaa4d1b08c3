"""Dask tasks for the plugin's tests (a module of its own: local-process workers import it)."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import dask.dataframe as dd
import pandas as pd
from wingspan_dask import Dask

from wingspan import current_context, task, workflow


def add_one(x: int) -> int:
    return x + 1


def fail_on_worker(x: int) -> int:
    raise ValueError(f"no good: {x}")


def kill_own_worker(x: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return x


@task(task_config=Dask(workers=2))
def sum_on_cluster(n: int) -> int:
    client = current_context().dask_client
    return int(sum(client.gather(client.map(add_one, range(n)))))


@task(task_config=Dask(workers=2))
def raise_on_worker(n: int) -> int:
    return int(current_context().dask_client.submit(fail_on_worker, n).result())


@task(task_config=Dask(workers=2))
def squares(n: int) -> dd.DataFrame:
    frame = dd.from_pandas(pd.DataFrame({"n": list(range(n))}), npartitions=2)
    return frame.assign(square=frame.n * frame.n)


@task
def total(frame: pd.DataFrame) -> int:
    return int(frame["square"].sum())


@task(task_config=Dask(workers=2))
def total_on_cluster(frame: dd.DataFrame) -> int:
    return int(frame["square"].sum().compute())


@task(task_config=Dask(workers=2), retries=1)
def raise_on_worker_with_a_retry(n: int) -> int:
    return int(current_context().dask_client.submit(fail_on_worker, n).result())


def sleep_a_while(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


@task(task_config=Dask(workers=2), timeout=timedelta(seconds=20))  # its cluster starts within it
def outlive_the_timeout(pids_file: str) -> float:
    client = current_context().dask_client
    # the pids of its cluster's worker processes, which must stop with the attempt
    pids = list(client.run(os.getpid).values())
    with open(pids_file, "w") as out:
        out.write(" ".join(map(str, pids)))
    return float(client.submit(sleep_a_while, 120).result())


@workflow
def frames_across_kinds(n: int) -> tuple[int, int]:
    frame = squares(n=n)
    return total(frame=frame), total_on_cluster(frame=frame)
