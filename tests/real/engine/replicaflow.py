"""The crash test's workflow: a map of 100 and a dynamic fan-out of 100 (about 200 task
nodes); every attempt appends its number to a file named for its node, so the test can
compare what ran with what the database recorded."""

from __future__ import annotations

import os
import time
from pathlib import Path

from wingspan import current_context, dynamic, map_task, task, workflow


def mark() -> None:
    context = current_context()
    name = context.node_id.replace("/", "_") or "root"
    with open(Path(os.environ["CRASH_COUNTS"]) / name, "a") as runs:
        runs.write(f"{context.attempt}\n")


@task(retries=5)
def square(x: int) -> int:
    mark()
    time.sleep(float(os.environ.get("CRASH_TASK_SECONDS", "0.05")))
    return x * x


@task(retries=5)
def step(i: int) -> int:
    mark()
    time.sleep(float(os.environ.get("CRASH_TASK_SECONDS", "0.05")))
    return i + 1


@task(retries=5)
def total(values: list[int]) -> int:
    mark()
    return sum(values)


@task(retries=5)
def combine(a: int, b: int) -> int:
    mark()
    return a + b


@dynamic(retries=5)
def fan(n: int) -> int:
    mark()
    return total(values=[step(i=i) for i in range(n)])


@workflow
def big(items: list[int], n: int = 100) -> int:
    squares = map_task(square, concurrency=16)(x=items)
    return combine(a=total(values=squares), b=fan(n=n))
