"""Eager tasks for test_local_process_eager: at module level, so worker processes can import them."""

from __future__ import annotations

from wingspan import eager, task


@task
def add_one(x: int) -> int:
    return x + 1


@eager
async def waits_for_add_one(x: int) -> int:
    return await add_one(x=x)  # type: ignore[no-any-return]
