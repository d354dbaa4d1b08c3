"""Dask: a task builds a Dask DataFrame on a local cluster (two worker processes, kept warm between
attempts); its workers write it to the blob store as Parquet parts, and the next tasks read it
back as a Dask DataFrame (on the cluster again) and as a pandas DataFrame.

    wingspan run examples/dask_frames.py dask_frames --n 100
"""

import dask.dataframe as dd
import pandas as pd
from wingspan_dask import Dask

from wingspan import current_context, task, workflow


@task(task_config=Dask(workers=2))
def squares(n: int) -> dd.DataFrame:
    numbers = dd.from_pandas(pd.DataFrame({"n": list(range(n))}), npartitions=4)
    return numbers.assign(square=numbers.n * numbers.n)


@task(task_config=Dask(workers=2))
def even_total(frame: dd.DataFrame) -> int:
    client = current_context().dask_client  # the same cluster's client (compute() uses it too)
    return int(client.compute(frame[frame.n % 2 == 0].square.sum()).result())


@task
def row_count(frame: pd.DataFrame) -> int:
    return len(frame)


@workflow
def dask_frames(n: int = 100) -> tuple[int, int]:
    frame = squares(n=n)
    return even_total(frame=frame), row_count(frame=frame)
