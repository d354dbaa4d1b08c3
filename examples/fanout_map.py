"""A map: one task per item, at most four at a time, results in order."""

import functools

from wingspan import map_task, task, workflow


@task(retries=2)
def scale(x: int, factor: int) -> int:
    return x * factor


@task
def total(values: list[int]) -> int:
    return sum(values)


@workflow
def fanout_map(items: list[int] = [1, 2, 3, 4, 5], factor: int = 10) -> int:  # noqa: B006
    scaled = map_task(functools.partial(scale, factor=factor), concurrency=4)(x=items)
    return total(values=scaled)
