"""Tasks for test_task_environments: at module level, so worker processes can import them."""

from __future__ import annotations

from typing import Any

from wingspan_ambient import Ambient

from wingspan import current_context, task


@task(task_config=Ambient(label="a"))
def ambient_a(x: int) -> dict[str, Any]:
    return dict(current_context().ambient)


@task(task_config=Ambient(label="b"))
def ambient_b(x: int) -> dict[str, Any]:
    return dict(current_context().ambient)


@task(task_config=Ambient(label="a"))
def ambient_fails(x: int) -> int:
    raise ValueError(f"the body failed inside its environment ({x})")


@task
def plain_asks_for_ambient(x: int) -> str:
    return str(current_context().ambient)
