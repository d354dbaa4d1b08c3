"""Ray tasks run as Ray jobs on a running head (its address comes from the configuration)."""

from __future__ import annotations

import time
from datetime import timedelta

import ray
from wingspan_ray import Ray

from wingspan import current_context, task, workflow


@ray.remote
def triple(x: int) -> int:
    return 3 * x


@ray.remote
def refuse(x: int) -> int:
    raise ValueError(f"the head says no to {x}")


@task(task_config=Ray())
def tripled_on_the_head(n: int) -> tuple[int, str]:
    return sum(ray.get([triple.remote(i) for i in range(n)])), current_context().ray_address


@workflow
def on_the_head(n: int = 4) -> tuple[int, str]:
    return tripled_on_the_head(n=n)


@task(task_config=Ray())
def refused_on_the_head(n: int) -> int:
    return int(ray.get(refuse.remote(n)))


@task(task_config=Ray(), timeout=timedelta(seconds=20))
def sleeps_on_the_head(n: int) -> int:
    time.sleep(300)
    return n
