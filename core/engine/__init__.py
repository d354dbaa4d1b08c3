"""The engine: runs a compiled workflow, locally or inside the server.

Its I/O goes through small interfaces (``interfaces.py``): an entity resolver, a task
executor, a signal source and an event sink; local runs use the in-process ones.
"""

from wingspan.core.engine.context import ExecutionContext, current_context
from wingspan.core.engine.events import Event, EventSink, MemorySink
from wingspan.core.engine.inprocess import InProcessExecutor
from wingspan.core.engine.interfaces import (
    AttemptOutcome,
    AttemptRequest,
    EntityResolver,
    LaunchPlanTarget,
    SignalSource,
    TaskExecutor,
    TaskRunner,
)
from wingspan.core.engine.retry import RetryPolicy
from wingspan.core.engine.runner import RunResult, WorkflowRun
from wingspan.core.engine.signals import CallbackSignals, QueueSignals, TerminalSignals

__all__ = [
    "AttemptOutcome",
    "AttemptRequest",
    "CallbackSignals",
    "EntityResolver",
    "Event",
    "EventSink",
    "ExecutionContext",
    "InProcessExecutor",
    "LaunchPlanTarget",
    "MemorySink",
    "QueueSignals",
    "RetryPolicy",
    "RunResult",
    "SignalSource",
    "TaskExecutor",
    "TaskRunner",
    "TerminalSignals",
    "WorkflowRun",
    "current_context",
]
