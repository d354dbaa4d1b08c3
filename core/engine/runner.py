"""Running a compiled workflow to its end: the engine's entry point."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from wingspan.core.engine.dag import DagRun
from wingspan.core.engine.events import Event, EventSink, MemorySink
from wingspan.core.engine.execution import ExecutionState, NodeFailed
from wingspan.core.engine.inprocess import InProcessExecutor
from wingspan.core.engine.interfaces import EntityResolver, SignalSource, TaskExecutor
from wingspan.core.engine.retry import RetryPolicy
from wingspan.core.model.execution import ExecutionError, WorkflowPhase
from wingspan.core.model.literals import ErrorKind
from wingspan.core.model.workflows import CompiledWorkflowClosure

if TYPE_CHECKING:
    from wingspan.core.engine.caching import TaskCache
    from wingspan.core.engine.journal import Journal

__all__ = ["RunResult", "WorkflowRun"]


@dataclass(repr=False)
class RunResult:
    phase: WorkflowPhase
    outputs: dict[str, Any] = field(default_factory=dict)
    error: ExecutionError | None = None
    # the exception that failed the run, when task code raised it in this process
    exception: BaseException | None = None
    events: list[Event] = field(default_factory=list)

    def __repr__(self) -> str:
        # short: asyncio reprs a finished task's result, and a run may hold many events
        return f"RunResult({self.phase.name}, outputs={sorted(self.outputs)}, events={len(self.events)})"


class WorkflowRun:
    """One execution of a closure; ``await run()`` it, ``abort()`` it from anywhere.

    ``cache`` (a catalog) serves the tasks with ``cache=True``; without one they always run.
    ``private_loop`` says the event loop serves this run alone (a synchronous call of a
    workflow): a lone ready task may then run on the loop's thread, which saves a
    thread handoff per node but lets nothing else use the loop meanwhile.
    """

    def __init__(self, closure: CompiledWorkflowClosure, inputs: dict[str, Any],
                 resolver: EntityResolver, *, execution_id: str | None = None,
                 sink: EventSink | None = None, executor: TaskExecutor | None = None,
                 signals: SignalSource | None = None, retry: RetryPolicy | None = None,
                 max_parallelism: int = 0, private_loop: bool = False,
                 cache: TaskCache | None = None, journal: Journal | None = None) -> None:
        self.closure = closure
        self.inputs = inputs
        self.resolver = resolver
        self.sink = sink if sink is not None else MemorySink()
        self.state = ExecutionState(
            execution_id or f"local-{uuid.uuid4().hex[:12]}", self.sink,
            executor or InProcessExecutor(), signals, retry or RetryPolicy(), max_parallelism,
            allow_inline=private_loop, cache=cache, journal=journal,
        )
        self._token: Any = None
        self._loop_thread = 0

    @property
    def execution_id(self) -> str:
        return self.state.execution_id

    def abort(self, reason: str = "aborted") -> None:
        """Stops the run: running nodes end ABORTED. Safe to call from any thread."""
        if self._token is None or threading.get_ident() == self._loop_thread:
            self.state.abort(reason)
        else:
            anyio.from_thread.run_sync(self.state.abort, reason, token=self._token)

    async def run(self) -> RunResult:

        self._token = anyio.lowlevel.current_token()
        self._loop_thread = threading.get_ident()
        state = self.state
        primary = self.closure.primary
        assert primary is not None
        state.workflow(WorkflowPhase.RUNNING)
        result: RunResult
        with anyio.CancelScope() as scope:
            state.cancel_scope = scope
            if state.aborted:
                scope.cancel()
            try:
                outputs = await DagRun(state, primary, dict(self.inputs), self.resolver).run()
            except NodeFailed as failed:
                phase = (WorkflowPhase.TIMED_OUT if failed.phase.name == "TIMED_OUT"
                         else WorkflowPhase.FAILED)
                state.workflow(phase, failed.error)
                result = RunResult(phase, error=failed.error, exception=failed.exception)
            else:
                state.workflow(WorkflowPhase.SUCCEEDED, outputs=outputs)
                result = RunResult(WorkflowPhase.SUCCEEDED, outputs)
        if scope.cancelled_caught or state.aborted:
            error = ExecutionError(code="ABORTED", message=state.aborted or "aborted",
                                   kind=ErrorKind.USER)
            state.workflow(WorkflowPhase.ABORTED, error, reason=state.aborted or "")
            result = RunResult(WorkflowPhase.ABORTED, error=error)
        if isinstance(self.sink, MemorySink):
            result.events = self.sink.events
        return result
