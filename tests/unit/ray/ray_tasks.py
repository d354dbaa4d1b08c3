"""Ray tasks the tests run: bodies on a warm local cluster, a Dataset across tasks, and the ways
the cluster's work fails."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from typing import Any

import pandas as pd
import ray
import ray.data
from wingspan_ray import HeadNode, Ray, WorkerGroup

from wingspan import current_context, task, workflow

SMALL = Ray(head=HeadNode(num_cpus=1), workers=[WorkerGroup(replicas=1, num_cpus=1)])


@ray.remote
def square(x: int) -> int:
    return x * x


@ray.remote
def refuse(x: int) -> int:
    raise ValueError(f"no good: {x}")


@ray.remote(max_retries=0)
def die(x: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return x


@task(task_config=SMALL)
def squares(n: int) -> tuple[ray.data.Dataset, str]:
    total = sum(ray.get([square.remote(i) for i in range(n)]))
    frame = ray.data.range(n).map(lambda row: {"n": row["id"], "square": row["id"] ** 2})
    assert total == sum(i * i for i in range(n))
    return frame, current_context().ray_address


@task(task_config=SMALL)
def square_total(frame: ray.data.Dataset) -> tuple[int, str]:
    total: Any = frame.sum("square")
    return int(total), current_context().ray_address


@task
def row_count(frame: pd.DataFrame) -> int:
    return len(frame)


@task
def same(a: str, b: str) -> bool:
    return a == b and a != ""


@workflow
def dataset_flow(n: int = 10) -> tuple[int, int, bool]:
    frame, first = squares(n=n)
    total, second = square_total(frame=frame)
    return total, row_count(frame=frame), same(a=first, b=second)


@task(task_config=SMALL, retries=1)
def raise_remotely(n: int) -> int:
    return int(ray.get(refuse.remote(n)))


@task(task_config=SMALL)
def kill_a_worker(n: int) -> int:
    return int(ray.get(die.remote(n)))


# another shape (its own worker and cluster), so that killing it at its timeout spares the other
@task(task_config=Ray(head=HeadNode(num_cpus=1)), timeout=timedelta(seconds=45))
def sleeps_past_its_timeout(n: int) -> int:
    ray.get(square.remote(n))  # the cluster is up and working
    time.sleep(300)
    return n
