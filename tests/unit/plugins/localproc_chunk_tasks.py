"""Tasks for test_local_process_chunks: module level, so worker processes can import them.
Each item appends to a file of its own under ``folder``: how many times it ran, and in which
process."""

from __future__ import annotations

import functools
import os
import signal
import time
from datetime import timedelta
from pathlib import Path

from wingspan import NonRetryableError, map_task, task, workflow


def _ran(folder: str, x: int) -> int:
    """Records this run of item ``x``; how many times it ran before."""
    path = Path(folder) / f"item-{x}"
    before = len(path.read_text().split()) if path.exists() else 0
    with path.open("a") as out:
        out.write(f"{os.getpid()}\n")
    return before


@task
def double(folder: str, x: int) -> int:
    _ran(folder, x)
    return x * 2


@workflow
def doubled(folder: str, xs: list[int]) -> list[int]:
    doubles: list[int] = map_task(functools.partial(double, folder=folder))(x=xs)
    return doubles


@task(retries=2)
def flaky(folder: str, x: int) -> int:
    before = _ran(folder, x)
    if x == 3 and before == 0:
        raise ValueError("item 3 fails its first attempt")
    if x == 5:
        raise NonRetryableError("item 5 always fails")
    return x


@workflow
def partly(folder: str, xs: list[int]) -> list[int | None]:
    # two lanes: items 0-3 in one chunk, 4-7 in the other
    found: list[int | None] = map_task(functools.partial(flaky, folder=folder), concurrency=2,
                                       min_success_ratio=0.5)(x=xs)
    return found


@task(timeout=timedelta(seconds=1))
def slow_at_two(folder: str, x: int) -> int:
    _ran(folder, x)
    if x == 2:
        time.sleep(60)
    return x


@workflow
def one_slow(folder: str, xs: list[int]) -> list[int | None]:
    # one lane: every item in one chunk, so the slow one is in the middle of it
    slow = functools.partial(slow_at_two, folder=folder)
    found: list[int | None] = map_task(slow, concurrency=1, min_success_ratio=0.5)(x=xs)
    return found


@task
def kills_at_two(folder: str, x: int) -> int:
    _ran(folder, x)
    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


@workflow
def one_crash(folder: str, xs: list[int]) -> list[int | None]:
    crashing = functools.partial(kills_at_two, folder=folder)
    found: list[int | None] = map_task(crashing, concurrency=1, min_success_ratio=0.5)(x=xs)
    return found
