"""How each kind of node runs: task, map, branch, gate, subworkflow, launch plan, dynamic."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import itertools
import logging
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.to_thread

from wingspan.core import tracing
from wingspan.core.engine.context import ExecutionContext, ExecutionName, reset_context, set_context
from wingspan.core.engine.eager import EagerLaunch
from wingspan.core.engine.events import Event
from wingspan.core.engine.execution import ExecutionState, NodeFailed
from wingspan.core.engine.failures import INTERRUPTED, error_from_exception, interrupted, timed_out
from wingspan.core.engine.inprocess import moves_data
from wingspan.core.engine.interfaces import (
    AttemptOutcome,
    AttemptRequest,
    ChunkingExecutor,
    EagerRunner,
    RemoteDynamicRunner,
    ResumingExecutor,
    TaskRunner,
)
from wingspan.core.engine.journal import RecordedAttempt
from wingspan.core.engine.reports import report_logs
from wingspan.core.engine.values import all_immutable, isolated, materialize, natural, own_inputs
from wingspan.core.errors import NonRetryableError
from wingspan.core.model.execution import ExecutionError, NodePhase, TaskPhase
from wingspan.core.model.launch_plans import run_inputs
from wingspan.core.model.literals import ErrorKind, LiteralType, SimpleType
from wingspan.core.model.workflows import (
    BooleanExpression,
    ComparisonOperator,
    CompiledWorkflow,
    ConjunctionOperator,
    Node,
    NodeConnections,
    Operand,
    WorkflowMetadata,
    WorkflowTemplate,
)
from wingspan.core.types.annotated import hash_method

if TYPE_CHECKING:
    from wingspan.core.engine.dag import DagRun

__all__ = ["run_node"]

log = logging.getLogger("wingspan.engine")


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _user_error(message: str, node_id: str, retryable: bool = False) -> ExecutionError:
    return ExecutionError(code="USER:Error", message=message, kind=ErrorKind.USER, retryable=retryable,
                          node_id=node_id)


async def run_node(dag: DagRun, node: Node, inline: bool, parent: str | None = None) -> dict[str, Any]:
    """Runs one node to its end; returns its outputs or raises NodeFailed."""
    if tracing.installed() is None and not tracing.keeps_log_fields():
        return await _run_node(dag, node, inline, parent)
    path = dag.path(node.id)
    with tracing.span(f"node {path}", {"wingspan.node_id": path, "wingspan.node_kind": node.kind}), \
            tracing.log_fields(node_id=path):
        return await _run_node(dag, node, inline, parent)


async def _run_node(dag: DagRun, node: Node, inline: bool, parent: str | None) -> dict[str, Any]:
    path = dag.path(node.id)
    parent = dag.parent if parent is None else parent
    name = node.metadata.name if node.metadata is not None else ""
    journal = dag.state.journal
    if journal is not None:
        recorded = journal.outputs.get(path)
        if recorded is not None:  # succeeded in an earlier run: its success is not repeated
            if path in journal.recovered:
                journal.recovered.discard(path)
                dag.state.node(path, NodePhase.RECOVERED, parent, outputs=recorded, name=name)
            return recorded
    dag.state.node(path, NodePhase.QUEUED, parent, name=name)
    match node.kind:
        case "task_node":
            runner = dag.runner(node)
            if runner.template.type == "dynamic":
                return await _run_dynamic(dag, node, runner, path, parent, inline)
            if runner.template.type == "eager":
                return await _run_eager(dag, node, runner, path, parent)
            return await _run_task(dag, node, runner, path, parent, inline)
        case "array_node":
            return await _run_array(dag, node, path, parent, inline)
        case "branch_node":
            return await _run_branch(dag, node, path, parent, inline)
        case "gate_node":
            return await _run_gate(dag, node, path, parent)
        case "workflow_node":
            return await _run_subgraph(dag, node, path, parent)
    raise ValueError(f"node {node.id!r} has unknown kind {node.kind!r}")


# ---- tasks -------------------------------------------------------------------------------------


def _typed_inputs(dag: DagRun, node: Node, runner: TaskRunner) -> dict[str, Any]:
    types = runner.input_types
    return own_inputs(dag.inputs_of(node, types), types)


def _retries_and_timeout(node: Node, runner: TaskRunner) -> tuple[int, float | None]:
    meta = runner.template.metadata
    retries = meta.retries if meta else 0
    timeout = _seconds(meta.timeout) if meta else None
    if node.metadata is not None:
        if node.metadata.retries is not None:
            retries = node.metadata.retries
        if node.metadata.timeout is not None:
            timeout = _seconds(node.metadata.timeout)
    return retries, timeout


async def _run_task(dag: DagRun, node: Node, runner: TaskRunner, path: str, parent: str,
                    inline: bool) -> dict[str, Any]:
    state = dag.state
    try:
        inputs = _typed_inputs(dag, node, runner)
    except Exception as exc:
        error = error_from_exception(exc, path)
        state.node(path, NodePhase.FAILED, parent, error)
        raise NodeFailed(error, exception=exc) from None
    if state.cache is not None:
        meta = runner.template.metadata
        if meta is not None and meta.cache is not None and meta.cache.enabled:
            async def compute() -> dict[str, Any]:
                return await _attempts(dag, node, runner, path, parent, inline, inputs, finish=False)

            return await state.cache.run(state, runner, meta.cache, inputs, path, parent, compute,
                                         _producer_hashers(dag, node))
    return await _attempts(dag, node, runner, path, parent, inline, inputs)


def _producer_hashers(dag: DagRun, node: Node) -> dict[str, Any]:
    """The HashMethods of the task outputs bound whole to ``node``'s inputs, by input name."""
    found = {}
    for binding in node.inputs:
        data = binding.binding
        if data is None or data.kind != "promise" or data.value.path:
            continue
        producer = dag.nodes.get(data.value.node_id)
        if producer is None or producer.kind != "task_node":
            continue
        hasher = hash_method(dag.runner(producer).output_types.get(data.value.var))
        if hasher is not None:
            found[binding.var] = hasher
    return found


async def _attempts(dag: DagRun, node: Node, runner: TaskRunner, path: str, parent: str, inline: bool,
                    inputs: dict[str, Any], finish: bool = True) -> dict[str, Any]:
    """Runs attempts until one succeeds or retries run out; ``finish`` records the node's
    success (the cache records it itself, with its status)."""
    state = dag.state
    retries, timeout = _retries_and_timeout(node, runner)
    state.node(path, NodePhase.RUNNING, parent)
    outcome, error = await _attempt_until_done(dag, runner, inputs, path, retries, timeout, inline)
    if error is None:
        if finish:
            state.node(path, NodePhase.SUCCEEDED, parent, outputs=outcome.outputs)
        return outcome.outputs
    phase = NodePhase.TIMED_OUT if outcome.phase == TaskPhase.TIMED_OUT else NodePhase.FAILED
    state.node(path, phase, parent, error)
    raise NodeFailed(error, phase, outcome.exception)


async def _attempt_until_done(dag: DagRun, runner: TaskRunner, inputs: dict[str, Any], path: str,
                              retries: int, attempt_timeout: float | None, inline: bool = False,
                              item: bool = False,
                              first: int | None = None) -> tuple[AttemptOutcome, ExecutionError | None]:
    """Runs attempts of one task until one succeeds or retries run out, re-attaching first to
    an attempt an earlier run left running, and records each attempt's phases: the last
    outcome, with its error when it failed (the caller records what that means for its node).
    ``item``: the task is an item of a map node (its events say so); ``first``: the attempt to
    start from (an item whose attempts began in a chunk), instead of what the journal says."""
    state = dag.state
    attempt, resumed = _first_attempt(dag, path) if first is None else (first, None)
    while True:
        request = AttemptRequest(runner, inputs, state.execution_id, path, attempt, attempt_timeout, inline,
                                 started=functools.partial(_running_with_logs, state, path, attempt, item),
                                 map_item=item)
        with tracing.span(f"attempt {attempt}", {"wingspan.node_id": path, "wingspan.attempt": attempt}), \
                tracing.log_fields(attempt=attempt):
            if resumed is not None:
                outcome = await _reattach(dag, request, resumed)
                resumed = None
            else:
                state.task(path, TaskPhase.RUNNING, attempt, item=item)
                outcome = await state.executor.run(request)
            if outcome.phase == TaskPhase.SUCCEEDED:
                state.task(path, TaskPhase.SUCCEEDED, attempt, logs=outcome.logs, item=item)
                return outcome, None
            error = outcome.error or _user_error("the attempt failed", path)
            if not (error.retryable and (attempt < retries or _interrupted(error, attempt, retries))):
                state.task(path, outcome.phase, attempt, error, logs=outcome.logs, item=item)
                return outcome, error
            state.task(path, TaskPhase.RETRYABLE_FAILURE, attempt, error, logs=outcome.logs, item=item)
            delay = state.retry.delay(attempt + 1)
            # INFO: a local run shows it only when its logging asks (Python's default shows WARNING)
            log.info("attempt %d of node %s failed (%s), retrying in %.1f s",
                     attempt, path, error.code, delay)
        attempt += 1
        await anyio.sleep(delay)


def _running_with_logs(state: ExecutionState, path: str, attempt: int, item: bool,
                       logs: tuple[tuple[str, str], ...]) -> None:
    state.task(path, TaskPhase.RUNNING, attempt, logs=logs, item=item)


#: an attempt cut short by the engine's own stop is retried this many times beyond the task's retries
INTERRUPTION_RETRIES = 3


def _interrupted(error: ExecutionError, attempt: int, retries: int) -> bool:
    return error.code == INTERRUPTED and attempt < retries + INTERRUPTION_RETRIES


def _first_attempt(dag: DagRun, path: str) -> tuple[int, RecordedAttempt | None]:
    """The attempt to run first: after those an earlier run recorded, or the one it left running."""
    journal = dag.state.journal
    if journal is None:
        return 0, None
    running = journal.running.get(path)
    if running is not None:
        return running.attempt, running
    return journal.attempts.get(path, 0), None


async def _reattach(dag: DagRun, request: AttemptRequest, recorded: RecordedAttempt) -> AttemptOutcome:
    """Follows an attempt an earlier run started, through its recorded handle."""
    executor = dag.state.executor
    if recorded.handle is None or not isinstance(executor, ResumingExecutor):
        why = ("the engine stopped before the attempt's handle was recorded" if recorded.handle is None
               else "this engine cannot follow attempts started elsewhere")
        return AttemptOutcome(TaskPhase.FAILED, error=interrupted(request.node_id, request.attempt, why))
    since_start = dataclasses.replace(request, started_at=recorded.started_at)
    return await executor.resume(since_start, recorded.plugin, recorded.handle)


# ---- map -----------------------------------------------------------------------------------------


class _MapItems:
    """A map node's items, kept compact: an item's inputs are built when its turn comes, its
    outputs land in one list per output name, its phase in a byte array; only failed items
    keep an object (their error)."""

    __slots__ = ("_copied", "_fixed", "_mapped", "_types", "count", "errors", "outputs", "phases")

    def __init__(self, values: dict[str, Any], mapped: set[str], types: Mapping[str, Any], count: int,
                 output_names: list[str]) -> None:
        self.count = count
        self._mapped = {k: v for k, v in values.items() if k in mapped}
        self._fixed = {k: v for k, v in values.items() if k not in mapped}
        self._types = types
        # inputs a task could change in place: each item gets its own copy (see ``isolated``)
        self._copied = {k for k, v in values.items() if not all_immutable(v if k in mapped else [v])}
        self.phases = bytearray(count)  # NodePhase values, UNDEFINED until the item starts
        self.outputs: dict[str, list[Any]] = {name: [None] * count for name in output_names}
        self.errors: dict[int, ExecutionError] = {}

    def inputs(self, index: int) -> dict[str, Any]:
        item = {k: v[index] for k, v in self._mapped.items()}
        item.update(self._fixed)
        for k in self._copied:
            item[k] = isolated(item[k], self._types.get(k))
        return item

    def succeeded(self, index: int, outputs: dict[str, Any]) -> None:
        for name, values in self.outputs.items():
            values[index] = outputs[name]
        self.phases[index] = NodePhase.SUCCEEDED

    def failed(self, index: int, error: ExecutionError) -> None:
        self.errors[index] = error
        self.phases[index] = NodePhase.FAILED

    def succeeded_count(self) -> int:
        return self.phases.count(NodePhase.SUCCEEDED)


#: items of a map given no concurrency that an executor runs at once: every item started at
#: once held each one's attempt, events and waiting task from the start (25 KiB per item of a
#: server's memory, 2.5 GB for 100,000) while the targets ran only a few of them at a time
EXECUTOR_MAP_LANES = 1000


def _default_lanes() -> int:
    """Lanes of a map given no concurrency: as many as the threads the engine may use at once
    (each lane is one thread pulling items; a lane per item would cost a thread hand-off each)."""
    return int(anyio.to_thread.current_default_thread_limiter().total_tokens)


async def _run_array(dag: DagRun, node: Node, path: str, parent: str, inline: bool) -> dict[str, Any]:
    state = dag.state
    array = node.value
    assert array.node is not None
    runner = dag.resolver.task(array.node.value.task_id)
    mapped = set(array.mapped_inputs)
    types = {k: (list[v] if k in mapped else v) for k, v in runner.input_types.items()}  # type: ignore[valid-type]
    # literals converted once; each item's values are isolated as it starts
    values = {k: materialize(v, types.get(k), k) for k, v in dag.inputs_of(node, types).items()}
    lengths = {len(values[k]) for k in mapped}
    if len(lengths) > 1:
        error = _user_error(f"map node {path}: mapped inputs have different lengths "
                            f"({ {k: len(values[k]) for k in mapped} })", path)
        state.node(path, NodePhase.FAILED, parent, error)
        raise NodeFailed(error)
    count = lengths.pop() if lengths else 0
    retries, timeout = _retries_and_timeout(node, runner)
    state.node(path, NodePhase.RUNNING, parent)
    items = _MapItems(values, mapped, runner.input_types, count, list(runner.output_types))
    if timeout is None and not runner.is_async and state.executor.runs_here(runner):
        lanes = max(1, min(array.parallelism or _default_lanes(), count))
        await _map_in_threads(dag, runner, path, items, retries, lanes,
                              inline and lanes == 1 and not moves_data(runner))
    else:
        await _map_with_executor(dag, runner, path, items, retries, timeout, array.parallelism or 0)
    errors = items.errors
    if count and items.succeeded_count() / count < array.min_success_ratio:
        first = errors[min(errors)]
        error = ExecutionError(code=first.code, kind=first.kind, node_id=path, retryable=False,
                               message=f"{len(errors)} of {count} items failed (at least "
                                       f"{array.min_success_ratio:.0%} must succeed); first, item "
                                       f"{min(errors)}: {first.message}")
        state.node(path, NodePhase.FAILED, parent, error)
        raise NodeFailed(error)
    state.node(path, NodePhase.SUCCEEDED, parent, outputs=items.outputs)
    return items.outputs


async def _map_in_threads(dag: DagRun, runner: TaskRunner, path: str, items: _MapItems,
                          retries: int, lanes: int, inline: bool) -> None:
    """Items are pulled from one queue by a few worker threads, each calling the task
    directly: a thread handoff per item would cost more than most items do."""
    state = dag.state
    queue = iter(range(items.count))  # next() on a range iterator is atomic under the GIL
    buffers: list[list[Event]] = [[] for _ in range(lanes)]
    name = runner.template.id.name if runner.template.id else ""
    # set when the map stops waiting for its lanes (the run cancelled): a lane's thread outlives
    # that wait, so it must stop by itself, before its next item
    stopped = threading.Event()

    def lane(events: list[Event]) -> None:
        # one context per lane, updated per item: cheaper than one per item
        context = ExecutionContext(ExecutionName(state.execution_id), path, 0, name)
        token = set_context(context)
        try:
            lane_items(events, context)
        finally:
            reset_context(token)

    def lane_items(events: list[Event], context: ExecutionContext) -> None:
        for index in queue:
            if state.aborted or stopped.is_set():  # an aborted or cancelled run starts no more items
                return
            item_path = f"{path}/{index}"
            items.phases[index] = NodePhase.RUNNING
            events.append(_item_event("node", item_path, NodePhase.RUNNING, 0, path))
            for attempt in itertools.count():
                context.start_attempt(item_path, attempt)
                try:
                    outputs = runner.call(items.inputs(index))
                except Exception as exc:
                    error = error_from_exception(exc, item_path)
                    report = report_logs(context) if context.report else ()
                    if error.retryable and attempt < retries and not state.aborted:
                        events.append(_item_event("task", item_path, TaskPhase.RETRYABLE_FAILURE, attempt,
                                            error=error, logs=report))
                        time.sleep(state.retry.delay(attempt + 1))
                        continue
                    items.failed(index, error)
                    events.append(_item_event("task", item_path, TaskPhase.FAILED, attempt, error=error,
                                        logs=report))
                    events.append(_item_event("node", item_path, NodePhase.FAILED, 0, path, error))
                else:
                    items.succeeded(index, outputs)
                    report = report_logs(context) if context.report else ()
                    if report:  # an item's attempt is recorded only when it has something to show
                        events.append(_item_event("task", item_path, TaskPhase.SUCCEEDED, attempt,
                                                  logs=report))
                    events.append(_item_event("node", item_path, NodePhase.SUCCEEDED, 0, path))
                break

    try:
        if inline:
            lane(buffers[0])
        else:
            async with anyio.create_task_group() as group:
                for events in buffers:
                    group.start_soon(_in_thread, lane, events)
    finally:
        stopped.set()
        # copies: a lane still finishing its item (the run cancelled) may append meanwhile; what it
        # records after this belongs to an attempt the cancelled run abandoned
        merged = list(buffers[0]) if lanes == 1 else sorted((e for b in buffers for e in list(b)),
                                                             key=lambda e: e.at)
        for event in merged:
            state.sink.record(event)


def _item_event(kind: str, node_id: str, phase: NodePhase | TaskPhase, attempt: int, parent: str = "",
                error: ExecutionError | None = None, logs: tuple[tuple[str, str], ...] = ()) -> Event:
    event = Event(kind, node_id, phase, attempt, parent, error, logs=logs)
    event.item = True
    return event


async def _in_thread(func: Any, *args: Any) -> None:
    await anyio.to_thread.run_sync(func, *args, abandon_on_cancel=True)


#: items of a map sent to a target in one round trip (a chunk), at least (when there are that
#: many) and at most: a round trip per item cost more than the item (4 ms of server CPU), and a
#: chunk holds its items' inputs and outputs until it ends
CHUNK_MIN_ITEMS = 64
CHUNK_MAX_ITEMS = 1024
#: chunks of a map given no concurrency in flight at once: enough to keep a target's workers
#: busy while the engine records the chunks that ended
CHUNK_LANES = 8


def _chunk_size(count: int, lanes: int) -> int:
    """Items per chunk: about four chunks per lane, so that lanes end near together, and never
    so many that a lane gets none (a small map keeps its concurrency)."""
    size = max(CHUNK_MIN_ITEMS, min(CHUNK_MAX_ITEMS, -(-count // (lanes * 4))))
    return max(1, min(size, -(-count // lanes)))


async def _map_with_executor(dag: DagRun, runner: TaskRunner, path: str, items: _MapItems,
                             retries: int, item_timeout: float | None, parallelism: int) -> None:
    """Items with a timeout (or async tasks, or tasks run elsewhere) go through the executor:
    in chunks when the task's target runs them, else one attempt at a time, ``parallelism``
    (or ``EXECUTOR_MAP_LANES``) at once, each lane taking the next item when its last one ends."""
    executor = dag.state.executor
    lanes = max(1, min(parallelism or EXECUTOR_MAP_LANES, items.count))
    alone = _ItemAttempts(dag, runner, path, items, retries, item_timeout, anyio.CapacityLimiter(lanes))
    if isinstance(executor, ChunkingExecutor) and executor.runs_chunks(runner):
        await _map_in_chunks(executor, alone, max(1, min(parallelism or CHUNK_LANES, items.count)))
        return
    queue = iter(range(items.count))

    async def lane() -> None:
        for index in queue:
            await alone.run(index)

    async with anyio.create_task_group() as group:
        for _ in range(lanes):
            group.start_soon(lane)


class _ItemAttempts:
    """Runs a map item's attempts one at a time through the executor, recording its node."""

    def __init__(self, dag: DagRun, runner: TaskRunner, path: str, items: _MapItems, retries: int,
                 timeout: float | None, limiter: anyio.CapacityLimiter) -> None:
        self.dag, self.runner, self.path, self.items = dag, runner, path, items
        self.retries, self.timeout, self.limiter = retries, timeout, limiter

    def finished(self, index: int) -> bool:
        """Whether an earlier run recorded the item's success (its outputs are taken)."""
        journal = self.dag.state.journal
        outputs = journal.outputs.get(f"{self.path}/{index}") if journal is not None else None
        if outputs is None:
            return False
        self.items.succeeded(index, outputs)
        return True

    async def run(self, index: int, first: int | None = None, delay: float = 0.0) -> None:
        """Runs the item's attempts (from ``first``, after ``delay`` seconds, when a chunk ran
        its earlier ones) until one succeeds or retries run out."""
        if first is None and self.finished(index):
            return
        state, item_path = self.dag.state, f"{self.path}/{index}"
        await anyio.sleep(delay)
        async with self.limiter:
            self.items.phases[index] = NodePhase.RUNNING
            if first is None:
                state.node(item_path, NodePhase.RUNNING, self.path, item=True)
            outcome, error = await _attempt_until_done(self.dag, self.runner, self.items.inputs(index),
                                                       item_path, self.retries, self.timeout, item=True,
                                                       first=first)
        self.ended(index, outcome, error)

    def ended(self, index: int, outcome: AttemptOutcome, error: ExecutionError | None) -> None:
        state, item_path = self.dag.state, f"{self.path}/{index}"
        if error is None:
            self.items.succeeded(index, outcome.outputs)
            state.node(item_path, NodePhase.SUCCEEDED, self.path, outputs=outcome.outputs, item=True)
            return
        self.items.failed(index, error)
        state.node(item_path, NodePhase.FAILED, self.path, error, item=True)


async def _map_in_chunks(executor: ChunkingExecutor, alone: _ItemAttempts, lanes: int) -> None:
    """A map's items in chunks, ``lanes`` chunks at once: a chunk's items run one after another
    in one round trip to the target; their attempts are recorded as started before it, and
    what each ended with when the chunk ends (one write per chunk, not per item). An item that
    failed and may be retried, or that its chunk did not reach (its worker died), runs its next
    attempts on its own; so does one an earlier run left running or had retried."""
    state, journal, path = alone.dag.state, alone.dag.state.journal, alone.path
    chunked: list[int] = []
    single: list[int] = []
    for index in range(alone.items.count):
        if alone.finished(index):
            continue
        item_path = f"{path}/{index}"
        earlier = journal is not None and (item_path in journal.running or item_path in journal.attempts)
        (single if earlier else chunked).append(index)
    size = _chunk_size(len(chunked), lanes)
    starts = iter(range(0, len(chunked), size))

    async def chunk(indices: list[int], group: anyio.abc.TaskGroup) -> None:
        items = alone.items
        requests = []
        for index in indices:
            item_path = f"{path}/{index}"
            items.phases[index] = NodePhase.RUNNING
            # each attempt recorded as started before the chunk starts (the executor's hooks wait
            # for that): a crash meanwhile leaves it to be ended as interrupted and retried under
            # the next number, never run again silently under the same one
            state.node(item_path, NodePhase.RUNNING, path, item=True)
            state.task(item_path, TaskPhase.RUNNING, 0, item=True)
            requests.append(AttemptRequest(alone.runner, items.inputs(index), state.execution_id,
                                           item_path, 0, alone.timeout, map_item=True))
        outcomes = await executor.run_chunk(requests)
        for index, request, outcome in zip(indices, requests, outcomes, strict=True):
            if outcome is None:  # not reached: its first attempt runs on its own
                group.start_soon(alone.run, index, 0)
                continue
            item_path = request.node_id
            if outcome.phase == TaskPhase.SUCCEEDED:
                state.task(item_path, TaskPhase.SUCCEEDED, 0, logs=outcome.logs, item=True)
                alone.ended(index, outcome, None)
                continue
            error = outcome.error or _user_error("the attempt failed", item_path)
            if error.retryable and alone.retries > 0:
                state.task(item_path, TaskPhase.RETRYABLE_FAILURE, 0, error, logs=outcome.logs, item=True)
                group.start_soon(alone.run, index, 1, state.retry.delay(1))
                continue
            state.task(item_path, outcome.phase, 0, error, logs=outcome.logs, item=True)
            alone.ended(index, outcome, error)

    async def lane(group: anyio.abc.TaskGroup) -> None:
        for start in starts:
            await chunk(chunked[start:start + size], group)

    async with anyio.create_task_group() as group:
        for index in single:
            group.start_soon(alone.run, index)
        for _ in range(max(1, min(lanes, -(-len(chunked) // size)))):
            group.start_soon(lane, group)


# ---- branches -------------------------------------------------------------------------------------


_COMPARE = {
    ComparisonOperator.EQ: lambda a, b: a == b, ComparisonOperator.NEQ: lambda a, b: a != b,
    ComparisonOperator.GT: lambda a, b: a > b, ComparisonOperator.GTE: lambda a, b: a >= b,
    ComparisonOperator.LT: lambda a, b: a < b, ComparisonOperator.LTE: lambda a, b: a <= b,
}


def _operand(dag: DagRun, operand: Operand | None) -> Any:
    assert operand is not None
    if operand.kind == "promise":
        return natural(dag.output(operand.value))
    return natural(operand.value)


def evaluate(dag: DagRun, expression: BooleanExpression | None) -> bool:
    assert expression is not None
    if expression.kind == "conjunction":
        conj = expression.value
        if conj.operator == ConjunctionOperator.AND:
            return evaluate(dag, conj.left) and evaluate(dag, conj.right)
        return evaluate(dag, conj.left) or evaluate(dag, conj.right)
    comparison = expression.value
    left, right = _operand(dag, comparison.left), _operand(dag, comparison.right)
    # an Enum member compares with the name a literal stores
    if isinstance(left, enum.Enum) and isinstance(right, str):
        left = left.name
    if isinstance(right, enum.Enum) and isinstance(left, str):
        right = right.name
    return bool(_COMPARE[comparison.operator](left, right))


async def _run_branch(dag: DagRun, node: Node, path: str, parent: str, inline: bool) -> dict[str, Any]:
    state = dag.state
    branch = node.value
    state.node(path, NodePhase.RUNNING, parent)
    try:
        chosen = next((case.then_node for case in branch.cases if evaluate(dag, case.condition)), None)
    except Exception as exc:
        error = error_from_exception(exc, path)
        state.node(path, NodePhase.FAILED, parent, error)
        raise NodeFailed(error, exception=exc) from None
    if chosen is None and branch.kind == "else_node":
        chosen = branch.value
    arms = [c.then_node for c in branch.cases] + ([branch.value] if branch.kind == "else_node" else [])
    for arm in arms:
        if arm is not None and arm is not chosen:
            state.node(dag.path(arm.id), NodePhase.SKIPPED, path, reason="its condition did not hold")
    if chosen is None:
        error = _user_error(branch.value if branch.kind == "else_fail" else "no case of the conditional held",
                            path)
        state.node(path, NodePhase.FAILED, parent, error)
        raise NodeFailed(error)
    try:
        outputs = await run_node(dag, chosen, inline, parent=path)
    except NodeFailed as failed:
        state.node(path, NodePhase.FAILED, parent, failed.error)
        raise
    dag.outputs[chosen.id] = outputs
    state.node(path, NodePhase.SUCCEEDED, parent, outputs=outputs)
    return outputs


# ---- gates ----------------------------------------------------------------------------------------


async def _run_gate(dag: DagRun, node: Node, path: str, parent: str) -> dict[str, Any]:
    state = dag.state
    gate = node.value
    journal = state.journal
    since = journal.waiting_since.get(path) if journal is not None else None
    if since is None:
        state.node(path, NodePhase.WAITING, parent)
    if gate.kind == "sleep":
        # a resumed sleep waits only for what is left of it
        elapsed = time.time() - since if since is not None else 0.0
        await anyio.sleep(max(0.0, (_seconds(gate.value.duration) or 0) - elapsed))
        state.node(path, NodePhase.SUCCEEDED, parent, outputs={})
        return {}
    name = gate.value.signal_id
    if state.signals is None:
        error = _user_error(f"gate {path} waits for signal {name!r} but this run has no way to "
                            "receive signals (give the run a signal source)", path)
        state.node(path, NodePhase.FAILED, parent, error)
        raise NodeFailed(error)
    timeout = _seconds(gate.timeout)
    expected = gate.value.type if gate.kind == "signal" else LiteralType("simple", SimpleType.BOOLEAN)
    try:
        with anyio.fail_after(timeout) if timeout else contextlib.nullcontext():
            value = await state.signals.wait(name, expected, path)
    except TimeoutError:
        error = ExecutionError(code="TIMEOUT", message=f"no value for signal {name!r} within {timeout:g}s",
                               kind=ErrorKind.USER, node_id=path)
        state.node(path, NodePhase.TIMED_OUT, parent, error)
        raise NodeFailed(error, NodePhase.TIMED_OUT) from None
    if gate.kind == "approve":
        if value is not True:
            error = _user_error(f"approval {name!r} was rejected", path)
            state.node(path, NodePhase.FAILED, parent, error)
            raise NodeFailed(error, exception=NonRetryableError(error.message))
        value = dag.inputs_of(node)["value"]
    state.node(path, NodePhase.SUCCEEDED, parent, outputs={"o0": value})
    return {"o0": value}


# ---- subgraphs ------------------------------------------------------------------------------------


async def _run_subgraph(dag: DagRun, node: Node, path: str, parent: str) -> dict[str, Any]:

    state = dag.state
    inputs = dag.inputs_of(node)
    resolver = dag.resolver
    if node.value.kind == "subworkflow_id":
        workflow = resolver.workflow(node.value.value)
    else:
        target = resolver.launch_plan(node.value.value)
        assert target.closure.primary is not None
        workflow = target.closure.primary
        inputs = run_inputs(target.name or node.id, target.defaults, inputs, target.fixed)
        resolver = target.resolver or resolver
    state.node(path, NodePhase.RUNNING, parent)
    return await _run_child(dag, path, parent, workflow, inputs, resolver)


async def _run_dynamic(dag: DagRun, node: Node, runner: TaskRunner, path: str, parent: str,
                       inline: bool) -> dict[str, Any]:

    state = dag.state
    inputs = _typed_inputs(dag, node, runner)
    journal = state.journal
    recorded = journal.dynamic.get(path) if journal is not None else None
    remote = runner if isinstance(runner, RemoteDynamicRunner) else None
    if recorded is not None and remote is not None:  # the graph an earlier run made
        spec, resolver = await remote.build_dynamic_remotely(inputs, state.execution_id, path, recorded)
    else:
        state.node(path, NodePhase.RUNNING, parent)
        attempt, unfinished = _first_attempt(dag, path)
        if unfinished is not None:
            # a body an earlier run started and did not see end: a recorded retry, never a
            # silent second run of the same attempt
            state.task(path, TaskPhase.RETRYABLE_FAILURE, unfinished.attempt,
                       interrupted(path, unfinished.attempt, "the engine stopped"))
            attempt = unfinished.attempt + 1
        state.task(path, TaskPhase.RUNNING, attempt)
        token = set_context(ExecutionContext(ExecutionName(state.execution_id), path, attempt))
        try:
            if remote is not None:  # the body runs where the task's code is, not here
                spec, resolver = await remote.build_dynamic_remotely(inputs, state.execution_id, path, None,
                                                                     attempt)
            else:
                spec, resolver = (runner.build_dynamic(inputs) if inline
                                  else await anyio.to_thread.run_sync(runner.build_dynamic, inputs))
        except Exception as exc:
            error = error_from_exception(exc, path)
            state.task(path, TaskPhase.FAILED, attempt, error)
            state.node(path, NodePhase.FAILED, parent, error)
            raise NodeFailed(error, exception=exc) from None
        finally:
            reset_context(token)
        state.task(path, TaskPhase.SUCCEEDED, attempt)
        state.node(path, NodePhase.RUNNING, parent, dynamic=spec)
    template = WorkflowTemplate(metadata=WorkflowMetadata(), nodes=spec.nodes, outputs=spec.outputs)
    graph = CompiledWorkflow(template, spec.connections or NodeConnections())
    return await _run_child(dag, path, parent, graph, {}, resolver)


async def _run_eager(dag: DagRun, node: Node, runner: TaskRunner, path: str, parent: str) -> dict[str, Any]:
    """The body runs as the node's attempt (here, or where the task's code is); each task it
    awaits is a child node. With ``cache=True`` a hit skips the body and its children."""
    state = dag.state
    try:
        inputs = _typed_inputs(dag, node, runner)
        if not isinstance(runner, EagerRunner):
            raise NonRetryableError(
                f"eager task {runner.template.id.name if runner.template.id else path!r} cannot run "
                "here: this engine does not run eager bodies (run it locally, or make it a @dynamic "
                "task, whose graph is built from its inputs at run time)")
    except Exception as exc:
        error = error_from_exception(exc, path)
        state.node(path, NodePhase.FAILED, parent, error)
        raise NodeFailed(error, exception=exc) from None
    meta = runner.template.metadata
    if state.cache is not None and meta is not None and meta.cache is not None and meta.cache.enabled:
        async def compute() -> dict[str, Any]:
            return await _eager_attempts(dag, node, runner, path, parent, inputs, finish=False)

        return await state.cache.run(state, runner, meta.cache, inputs, path, parent, compute)
    return await _eager_attempts(dag, node, runner, path, parent, inputs)


async def _eager_attempts(dag: DagRun, node: Node, runner: TaskRunner, path: str, parent: str,
                          inputs: dict[str, Any], finish: bool = True) -> dict[str, Any]:
    """Runs the body until an attempt succeeds or retries run out. A body an earlier run left
    unfinished is run again: its children that succeeded are not (their outputs are reused)."""
    state = dag.state
    assert isinstance(runner, EagerRunner)
    state.node(path, NodePhase.RUNNING, parent, is_parent=True)
    attempt, unfinished = _first_attempt(dag, path)
    if unfinished is not None:  # its body cannot be followed: it ran with the engine that stopped
        state.task(path, TaskPhase.RETRYABLE_FAILURE, unfinished.attempt,
                   interrupted(path, unfinished.attempt, "the engine stopped"))
        attempt = unfinished.attempt + 1
    retries, timeout = _retries_and_timeout(node, runner)
    launch = EagerLaunch(dag, path)
    while True:
        state.task(path, TaskPhase.RUNNING, attempt)
        launch.start_attempt()
        request = AttemptRequest(runner, inputs, state.execution_id, path, attempt, timeout)
        name = runner.template.id.name if runner.template.id else ""
        token = set_context(ExecutionContext(ExecutionName(state.execution_id), path, attempt, name))
        outcome = AttemptOutcome(TaskPhase.TIMED_OUT, error=timed_out(timeout or 0, path))
        try:
            with anyio.move_on_after(timeout):
                outcome = await runner.run_eager(request, launch)
        finally:
            reset_context(token)
        if outcome.phase == TaskPhase.SUCCEEDED:
            state.task(path, TaskPhase.SUCCEEDED, attempt, logs=outcome.logs)
            if finish:
                state.node(path, NodePhase.SUCCEEDED, parent, outputs=outcome.outputs)
            return outcome.outputs
        error = outcome.error or _user_error("the eager body failed", path)
        if error.retryable and attempt < retries:
            state.task(path, TaskPhase.RETRYABLE_FAILURE, attempt, error, logs=outcome.logs)
            attempt += 1
            await anyio.sleep(state.retry.delay(attempt))
            continue
        state.task(path, outcome.phase, attempt, error, logs=outcome.logs)
        phase = NodePhase.TIMED_OUT if outcome.phase == TaskPhase.TIMED_OUT else NodePhase.FAILED
        state.node(path, phase, parent, error)
        raise NodeFailed(error, phase, outcome.exception)


async def _run_child(dag: DagRun, path: str, parent: str, graph: CompiledWorkflow,
                     inputs: dict[str, Any], resolver: Any) -> dict[str, Any]:
    """Runs a node's sub-graph (subworkflow, launch plan, dynamic) and records how it ended."""
    child = dag.child(graph, inputs, resolver, path)
    try:
        outputs = await child.run()
    except NodeFailed as failed:
        dag.state.node(path, NodePhase.FAILED, parent, failed.error)
        raise
    dag.state.node(path, NodePhase.SUCCEEDED, parent, outputs=outputs)
    return outputs



