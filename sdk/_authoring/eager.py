"""``@eager``: an ``async`` workflow body that awaits tasks as it needs them, with real Python
control flow (Flyte's spelling)::

    @eager
    async def pipeline(x: int) -> int:
        y = await add_one(x=x)
        if y > 10:
            return await double(x=y)
        parts = await asyncio.gather(*(add_one(x=i) for i in range(y)))
        return sum(parts)

It is a task whose body runs as the node's attempt (in this process locally; in a worker
on a server); each task (or workflow) it awaits runs as a child node of it
(``n0/add_one-0``, ``n0/add_one-1``...), launched by the engine and recorded like any node.
One that fails raises ``ExecutionFailedError`` (wingspan.core.errors) at its ``await``.
Called on its own or inside a ``@workflow``, it runs through the engine like any task. The
body runs on the engine's event loop in a local run: it should await, not block.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from wingspan._authoring.task import PythonTask, TaskOptions
from wingspan.core.errors import CompilationError

__all__ = ["EagerTask", "eager"]

F = TypeVar("F", bound=Callable[..., Any])


class EagerTask(PythonTask):
    """A task whose ``async`` body awaits other tasks, each a node of the run."""

    kind_label = "eager workflow"
    task_type = "eager"

    def __init__(self, fn: Callable[..., Any], options: TaskOptions) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise CompilationError(
                f"eager workflow {getattr(fn, '__qualname__', fn)!r} must be an async def: its body "
                "awaits the tasks it calls (y = await add_one(x=x))")
        if options.task_config is not None:
            raise CompilationError(f"eager workflow {fn.__qualname__!r}: task_config does not apply; "
                                   "the body runs where the engine runs")
        super().__init__(fn, options)


@overload
def eager(fn: F) -> EagerTask: ...


@overload
def eager(fn: None = None, **options: Any) -> Callable[[F], EagerTask]: ...


def eager(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Makes an ``async def`` an eager workflow: ``@eager`` or ``@eager(retries=1, ...)``
    (the options of ``@task``)."""
    parsed = TaskOptions(**options)

    def decorate(func: Callable[..., Any]) -> EagerTask:
        return EagerTask(func, parsed)

    return decorate(fn) if fn is not None else decorate
