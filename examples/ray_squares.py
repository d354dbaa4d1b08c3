"""Ray: a task's body fans work out as Ray tasks on a local cluster (a head and one worker's
CPUs, kept warm between attempts) and returns a Ray Dataset, which the cluster writes to the
blob store as Parquet; the next Ray task reads it back as a Dataset on the same warm cluster,
and a plain task as a pandas DataFrame.

    wingspan run examples/ray_squares.py ray_squares --n 100
"""

import os

import pandas as pd
import ray
import ray.data
from wingspan_ray import HeadNode, Ray, WorkerGroup

from wingspan import task, workflow

CLUSTER = Ray(head=HeadNode(num_cpus=1), workers=[WorkerGroup(replicas=1, num_cpus=1)],
              runtime_env={"env_vars": {"SQUARES_OFFSET": "0"}})


@ray.remote
def square(x: int) -> dict[str, int]:
    return {"n": x, "square": x * x + int(os.environ["SQUARES_OFFSET"])}  # from the runtime env


@task(task_config=CLUSTER)
def squares(n: int) -> ray.data.Dataset:
    return ray.data.from_items(ray.get([square.remote(i) for i in range(n)]))


@task(task_config=CLUSTER)
def even_total(frame: ray.data.Dataset) -> int:
    return int(frame.filter(lambda row: row["n"] % 2 == 0).sum("square"))


@task
def row_count(frame: pd.DataFrame) -> int:
    return len(frame)


@workflow
def ray_squares(n: int = 100) -> tuple[int, int]:
    frame = squares(n=n)
    return even_total(frame=frame), row_count(frame=frame)
