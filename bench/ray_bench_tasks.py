"""The task of bench/ray_bench.py (a module of its own, so that a warm worker imports it by name)."""

from __future__ import annotations

import ray
from wingspan_ray import HeadNode, Ray

from wingspan import task


@ray.remote
def add_one(x: int) -> int:
    return x + 1


def work(items: int) -> int:
    return int(sum(ray.get([add_one.remote(i) for i in range(items)])))


@task(task_config=Ray(head=HeadNode(num_cpus=2)))
def ray_sum(items: int) -> int:
    return work(items)
