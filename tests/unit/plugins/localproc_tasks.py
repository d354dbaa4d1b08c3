"""Tasks for test_local_process: defined at module level, so worker processes can import them."""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import timedelta

from wingspan import Resources, map_task, task, workflow


@task
def whoami(x: int) -> int:
    return os.getpid()


@task
def chatty(text: str) -> str:
    print(f"to stdout: {text}")
    print(f"to stderr: {text}", file=sys.stderr)
    os.system(f"echo 'from a child process: {text}'")
    return text.upper()


@task
def crash(x: int) -> int:
    if x < 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


@task(timeout=timedelta(seconds=1))
def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@task
def fails(x: int) -> int:
    raise KeyError(f"no such key {x}")


@task(requests=Resources(cpu="2"))
def busy(folder: str, index: int) -> int:
    """Records when it ran, so the test can check no two ran at once."""
    start = time.time()
    time.sleep(0.05)
    with open(os.path.join(folder, f"{index}.span"), "w") as out:
        out.write(f"{start} {time.time()}")
    return index


@workflow
def spans(folder: str, items: list[int]) -> list[int]:
    import functools

    return map_task(functools.partial(busy, folder=folder), concurrency=4)(index=items)
