"""One attempt of a Python task from its inputs as literals to its outputs as literals: what
runs in a process apart from the engine's (a local-process worker, a pod's ``wingspan execute``).

The task runs in a worker thread of the caller's event loop (an async task on the loop itself),
with ``current_context()`` set: a File it opens downloads through that loop, where the store's
client lives, and it may start an event loop of its own (a workflow run inside a task).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread

from wingspan.core.engine.context import ExecutionContext, reset_context, set_context
from wingspan.core.engine.interfaces import TaskRunner
from wingspan.core.engine.task_environments import entered, installed
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.workflows import DynamicJobSpec
from wingspan.core.types import TransferContext, default_engine

__all__ = ["run_attempt_from_literals"]


async def run_attempt_from_literals(runner: TaskRunner, literals: LiteralMap, transfer: TransferContext,
                                    context: ExecutionContext, *, dynamic: bool = False
                                    ) -> LiteralMap | DynamicJobSpec:
    """The task's outputs as literals; for a dynamic task (``dynamic``), the graph its body built.
    The plugins' environments of its task type span the whole attempt, the conversions too."""
    template = runner.template
    if not installed(template.type):
        return await _attempt(runner, literals, transfer, context, dynamic)
    manager = entered(template, context)
    # entering may block for seconds (a JVM starting): not on the loop, where files download
    await anyio.to_thread.run_sync(manager.__enter__)
    try:
        done = await _attempt(runner, literals, transfer, context, dynamic)
    except BaseException as exc:
        with anyio.CancelScope(shield=True):  # left even when the attempt is cancelled
            await anyio.to_thread.run_sync(manager.__exit__, type(exc), exc, exc.__traceback__)
        raise  # an environment cannot turn the attempt's error into a success
    await anyio.to_thread.run_sync(manager.__exit__, None, None, None)
    return done


async def _attempt(runner: TaskRunner, literals: LiteralMap, transfer: TransferContext,
                   context: ExecutionContext, dynamic: bool) -> LiteralMap | DynamicJobSpec:
    engine = default_engine()
    inputs = await engine.to_python_map(literals, runner.input_types, transfer)
    if dynamic:
        built: tuple[DynamicJobSpec, Any] = await anyio.to_thread.run_sync(
            _within(context, runner.build_dynamic), inputs)
        return built[0]
    if runner.is_async:
        token = set_context(context)
        try:
            outputs = await runner.call_async(inputs)
        finally:
            reset_context(token)
    else:
        outputs = await anyio.to_thread.run_sync(_within(context, runner.call), inputs)
    outputs = dict(outputs)
    return await engine.to_literal_map(outputs, runner.output_types, transfer)


def _within(context: ExecutionContext, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` run with ``context`` as the current one, in whatever thread calls it."""
    def call(*args: Any) -> Any:
        token = set_context(context)
        try:
            return func(*args)
        finally:
            reset_context(token)

    return call
