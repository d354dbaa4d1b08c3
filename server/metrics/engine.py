"""What an engine replica does, as Prometheus metrics in the server's one registry.

Cheap on the hot path: an event costs a counter increment (its labelled child looked up once and
kept) and, for a node's start or end, one histogram observation. What is counted at a scrape
instead of as it happens (the attempts running here, the notification backlog) costs nothing
between scrapes.

Labels never carry a project, an execution or a node: the metrics of one replica stay a few
dozen series however much it runs, and any caller allowed to scrape sees no names.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from wingspan.core.model.execution import NodePhase, TaskPhase

if TYPE_CHECKING:
    from wingspan.core.engine import Event, EventSink

__all__ = ["EngineMetrics", "MeteredSink"]

#: from a few milliseconds (a warm worker's attempt) to an hour (a long task or a full queue)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
                   900.0, 3600.0)
#: transactions: from a fraction of a millisecond to seconds (a lock waited on)
TRANSACTION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

_NODE_RUNNING = frozenset({NodePhase.RUNNING, NodePhase.WAITING})
_NODE_UNENDED = _NODE_RUNNING | {NodePhase.UNDEFINED, NodePhase.QUEUED}
_TASK_ENDED = frozenset({TaskPhase.SUCCEEDED, TaskPhase.FAILED, TaskPhase.TIMED_OUT, TaskPhase.ABORTED,
                         TaskPhase.RETRYABLE_FAILURE})


class _RunningAttempts(Collector):
    """``wingspan_attempts_running{plugin}``, counted at each scrape from what the replica holds."""

    def __init__(self) -> None:
        self.source: Callable[[], Iterable[MeteredSink]] = tuple

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("wingspan_attempts_running",
                                   "Task attempts this engine replica runs now, by plugin", labels=["plugin"])
        tally: Tally[str] = Tally()
        for sink in self.source():
            tally.update(sink.attempts.values())
        for plugin, count in sorted(tally.items()):
            family.add_metric([plugin], count)
        yield family


class EngineMetrics:
    """The engine's metrics, registered in ``registry`` (the server's one)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.claim_latency = Histogram(
            "wingspan_execution_claim_seconds",
            "Time from an execution's creation to its claim by an engine replica",
            buckets=LATENCY_BUCKETS, registry=registry)
        self.node_queue = Histogram(
            "wingspan_node_queue_seconds", "Time a node waits queued before it runs",
            buckets=LATENCY_BUCKETS, registry=registry)
        self.node_run = Histogram(
            "wingspan_node_run_seconds",
            "Time a node runs, from its start to its end, by the phase it ended in",
            ["phase"], buckets=LATENCY_BUCKETS, registry=registry)
        self.transitions = Counter(
            "wingspan_transitions",
            "Phase changes the engine recorded, by kind (workflow, node, task) and phase",
            ["kind", "phase"], registry=registry)
        self.takeovers = Counter(
            "wingspan_lease_takeovers",
            "Executions this replica claimed from another replica whose lease had run out", registry=registry)
        self.transaction = Histogram(
            "wingspan_db_transaction_seconds",
            "Time a database session is held, by access (read, write, or a single statement)",
            ["access"], buckets=TRANSACTION_BUCKETS, registry=registry)
        self.notification_backlog = Gauge(
            "wingspan_notification_backlog",
            "Notifications waiting to be delivered, the whole deployment's (read at each scrape)",
            registry=registry)
        self.running_attempts = _RunningAttempts()
        registry.register(self.running_attempts)
        self._transition_children: dict[tuple[str, int], Any] = {}
        self._run_children: dict[int, Any] = {}
        self._transaction_children = {access: self.transaction.labels(access)
                                      for access in ("read", "write", "statement")}

    def claimed(self, created_at: datetime) -> None:
        """An execution created at ``created_at`` was claimed for the first time now."""
        self.claim_latency.observe(max(time.time() - created_at.timestamp(), 0.0))

    def took_over(self, count: int) -> None:
        self.takeovers.inc(count)

    def transaction_held(self, access: str, seconds: float) -> None:
        self._transaction_children[access].observe(seconds)

    def transition(self, event: Event) -> None:
        key = (event.kind, int(event.phase))
        child = self._transition_children.get(key)
        if child is None:
            child = self.transitions.labels(event.kind, event.phase.name.lower())
            self._transition_children[key] = child
        child.inc()

    def node_ended(self, phase: NodePhase, seconds: float) -> None:
        child = self._run_children.get(phase)
        if child is None:
            child = self._run_children[phase] = self.node_run.labels(phase.name.lower())
        child.observe(seconds)


class MeteredSink:
    """An execution's event sink that measures what passes before handing it on: transitions,
    how long each node waited queued and ran, and the attempts running (with their plugins)."""

    __slots__ = ("_inner", "_metrics", "_queued", "_started", "attempts")

    def __init__(self, inner: EventSink, metrics: EngineMetrics) -> None:
        self._inner = inner
        self._metrics = metrics
        self._queued: dict[str, float] = {}
        self._started: dict[str, float] = {}
        #: the attempts started and not ended, (node id, attempt) -> plugin
        self.attempts: dict[tuple[str, int], str] = {}

    def record(self, event: Event) -> None:
        self._inner.record(event)
        self._metrics.transition(event)
        kind = event.kind
        if kind == "node":
            self._node(event)
        elif kind == "task" and event.phase in _TASK_ENDED:
            self.attempts.pop((event.node_id, event.attempt), None)

    def attempt_started(self, node_id: str, attempt: int, plugin: str) -> None:
        self.attempts[(node_id, attempt)] = plugin

    def _node(self, event: Event) -> None:
        phase = event.phase
        node_id = event.node_id
        if phase == NodePhase.QUEUED:
            self._queued[node_id] = event.at
        elif phase in _NODE_RUNNING:
            queued = self._queued.pop(node_id, None)
            if queued is not None:
                self._metrics.node_queue.observe(max(event.at - queued, 0.0))
            self._started.setdefault(node_id, event.at)
        elif phase not in _NODE_UNENDED:
            self._queued.pop(node_id, None)
            started = self._started.pop(node_id, None)
            if started is not None:
                self._metrics.node_ended(NodePhase(phase), max(event.at - started, 0.0))

