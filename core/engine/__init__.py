"""The engine: runs a compiled workflow, locally or inside the server.

Its I/O goes through small interfaces (``interfaces.py``): an entity resolver, a task
executor, a signal source and an event sink; local runs use the in-process ones.
Names load on first use, so ``import wingspan`` does not pay for anyio and friends.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wingspan.core.engine.context import ExecutionContext, current_context
    from wingspan.core.engine.events import Event, EventSink, MemorySink
    from wingspan.core.engine.inprocess import InProcessExecutor
    from wingspan.core.engine.interfaces import (
        AttemptOutcome,
        AttemptRequest,
        EagerLauncher,
        EntityResolver,
        LaunchPlanTarget,
        SignalSource,
        TaskExecutor,
        TaskRunner,
        WorkflowTarget,
    )
    from wingspan.core.engine.retry import RetryPolicy
    from wingspan.core.engine.runner import RunResult, WorkflowRun
    from wingspan.core.engine.signals import CallbackSignals, QueueSignals, TerminalSignals

_HOMES = {
    "ExecutionContext": "context", "current_context": "context",
    "Event": "events", "EventSink": "events", "MemorySink": "events",
    "InProcessExecutor": "inprocess",
    "AttemptOutcome": "interfaces", "AttemptRequest": "interfaces", "EntityResolver": "interfaces",
    "EagerLauncher": "interfaces",
    "LaunchPlanTarget": "interfaces", "SignalSource": "interfaces", "TaskExecutor": "interfaces",
    "TaskRunner": "interfaces", "WorkflowTarget": "interfaces",
    "RetryPolicy": "retry",
    "RunResult": "runner", "WorkflowRun": "runner",
    "CallbackSignals": "signals", "QueueSignals": "signals", "TerminalSignals": "signals",
}

__all__ = [
    "AttemptOutcome",
    "AttemptRequest",
    "CallbackSignals",
    "EagerLauncher",
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
    "WorkflowTarget",
    "current_context",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
