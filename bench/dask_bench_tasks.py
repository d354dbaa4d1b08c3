"""The task of bench/dask_bench.py (a module of its own, so that a warm worker imports it by name)."""

from __future__ import annotations

from typing import Any

from wingspan_dask import Dask

from wingspan import current_context, task


def add_one(x: int) -> int:
    return x + 1


def work(client: Any, items: int) -> int:
    return int(sum(client.gather(client.map(add_one, range(items), pure=False))))


@task(task_config=Dask(workers=2))
def dask_sum(items: int) -> int:
    return work(current_context().dask_client, items)
