"""Tasks for test_cli_execute: imported by name by ``wingspan execute`` in a subprocess."""

from __future__ import annotations

import os

from wingspan import Deck, NonRetryableError, current_context, task


@task
def scale(values: list[float], factor: float = 2.0) -> tuple[list[float], str]:
    ctx = current_context()
    return [v * factor for v in values], f"{ctx.execution_id}/{ctx.node_id}/{ctx.attempt}"


@task
def refuse(reason: str) -> int:
    raise NonRetryableError(reason)


@task
def flaky(x: int) -> int:
    raise ConnectionError(f"cannot reach the service for {x}")


@task
def where() -> str:
    return os.getcwd()



@task
async def later(x: int) -> int:
    return x + current_context().attempt


@task
def resume(x: int) -> str:
    checkpoint = current_context().checkpoint
    before = checkpoint.read()
    checkpoint.write(b"saved by attempt %d" % current_context().attempt)
    return before.decode() if before is not None else "nothing"


@task
def reports(x: int) -> int:
    Deck("made in a pod", f"<p>{x}</p>")
    if x < 0:
        raise ValueError("negative")
    return x
