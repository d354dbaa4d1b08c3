"""The in-process target as a task plugin. The engine's plugin executor calls the
in-process executor directly for it (no handle, no literals: as cheap per node as a run
without plugins); this class makes it choosable and listable like any other target."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import ClassVar

from wingspan.core.engine.inprocess import InProcessExecutor
from wingspan.core.engine.interfaces import AttemptRequest
from wingspan.core.model.execution import TaskPhase
from wingspan.core.plugins.contract import Handle, RunsChunks, TaskContext, TaskPlugin, TaskStatus

__all__ = ["InProcessTarget"]


class InProcessTarget(TaskPlugin, RunsChunks):
    """Runs Python tasks in this process (threads; a forked child for a timeout)."""

    name: ClassVar[str] = "in-process"
    task_types: ClassVar[tuple[str, ...]] = ("python", "container")

    def __init__(self) -> None:
        self.executor = InProcessExecutor()
        self._results: dict[str, TaskStatus] = {}

    async def start(self, ctx: TaskContext) -> Handle:
        # the attempt runs in watch(): a handle of this target means nothing to another process
        return {"attempt_id": uuid.uuid4().hex}

    async def watch(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        if ctx.runner is None or ctx.python_inputs is None:
            return TaskStatus(TaskPhase.FAILED, reason="the in-process target needs the task's code "
                                                       "in this process")
        outcome = await self.executor.run(AttemptRequest(ctx.runner, ctx.python_inputs, ctx.execution_id,
                                                         ctx.node_id, ctx.attempt, ctx.timeout))
        outputs = None
        if outcome.phase == TaskPhase.SUCCEEDED:
            from wingspan.core.types import default_engine

            outputs = await default_engine().to_literal_map(outcome.outputs, ctx.runner.output_types,
                                                           ctx.transfer)
        status = TaskStatus(outcome.phase, outputs, error=outcome.error, exception=outcome.exception)
        self._results[handle["attempt_id"]] = status
        return status

    async def run_chunk(self, contexts: Sequence[TaskContext]) -> list[TaskStatus | None]:
        """Each attempt in turn, as ``watch`` runs one (the engine's own map path calls items
        directly and cheaper: this serves a caller that holds only the plugin)."""
        statuses: list[TaskStatus | None] = []
        for ctx in contexts:
            handle = await self.start(ctx)
            statuses.append(await self.watch(ctx, handle))
            self._results.pop(handle["attempt_id"], None)  # nobody polls it: the status is here
        return statuses

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        status = self._results.pop(handle["attempt_id"], None)
        return status or TaskStatus(TaskPhase.RUNNING)

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        self._results.pop(handle["attempt_id"], None)
