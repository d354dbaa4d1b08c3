"""Tasks that checkpoint, for test_engine_checkpoints: at module level, so the local-process
target's workers (and a server's, from the registered file) can import them."""

from __future__ import annotations

from wingspan import current_context, task, workflow


@task(retries=3)
def count_to(n: int) -> str:
    """Counts one step per attempt, resuming from the checkpoint; fails until it reaches n."""
    checkpoint = current_context().checkpoint
    previous = checkpoint.read()
    reached = int(previous) if previous is not None else 0
    checkpoint.write(str(reached + 1).encode())
    if reached + 1 < n:
        raise RuntimeError(f"attempt {current_context().attempt} stopped at {reached + 1}")
    return f"reached {reached + 1} on attempt {current_context().attempt}"


@workflow
def counting(n: int) -> str:
    counted: str = count_to(n=n)
    return counted
