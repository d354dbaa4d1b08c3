"""The wake-up tests' workflows: one quick task, a long nap (to abort), and a gate."""

from __future__ import annotations

import time

from wingspan import task, wait_for_input, workflow


@task
def quick(x: int) -> int:
    return x + 1


@workflow
def one(x: int = 1) -> int:
    return quick(x=x)


@task
def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@workflow
def long(seconds: float = 600.0) -> float:
    return nap(seconds=seconds)


@workflow
def gated() -> int:
    return quick(x=wait_for_input("go", expected_type=int))
