"""Runs one compiled graph: releases each node when its last upstream finishes.

An in-degree counter per node releases it when its last input lands (no rescan of
the graph per step). When a single node is ready and nothing else runs, it runs
inline: no task spawn, no thread handoff, which is what keeps a chain cheap.
"""

from __future__ import annotations

import typing
from collections import deque
from typing import Any

import anyio
import anyio.abc

from wingspan.core.engine.execution import ExecutionState, NodeFailed
from wingspan.core.engine.failure_node import run_failure_node
from wingspan.core.engine.failures import error_from_exception
from wingspan.core.engine.interfaces import EntityResolver, TaskRunner
from wingspan.core.engine.nodes import run_node
from wingspan.core.engine.values import step_into
from wingspan.core.model.execution import NodePhase
from wingspan.core.model.workflows import (
    START_NODE,
    BindingData,
    CompiledWorkflow,
    FailurePolicy,
    Node,
    OutputReference,
)
from wingspan.core.types.purity import to_python_now

__all__ = ["DagRun"]

_BLOCKED = (NodePhase.FAILED, NodePhase.SKIPPED, NodePhase.ABORTED, NodePhase.TIMED_OUT)


class DagRun:
    """One graph (a workflow, a subworkflow, or a dynamic node's sub-graph) being run."""

    def __init__(self, state: ExecutionState, workflow: CompiledWorkflow, inputs: dict[str, Any],
                 resolver: EntityResolver, prefix: str = "", parent: str = "") -> None:
        assert workflow.template is not None and workflow.connections is not None
        self.state = state
        self.template = workflow.template
        self.connections = workflow.connections
        self.resolver = resolver
        self.prefix = prefix
        self.parent = parent
        metadata = self.template.metadata
        self.fail_fast = metadata is None or metadata.failure_policy == FailurePolicy.FAIL_IMMEDIATELY
        self.outputs: dict[str, dict[str, Any]] = {START_NODE: inputs}
        self.phases: dict[str, NodePhase] = {}
        self.nodes = {node.id: node for node in self.template.nodes}
        self.waiting = {node_id: len(ids.ids) for node_id, ids in self.connections.upstream.items()}
        self.blocked: set[str] = set()
        self.ready: deque[str] = deque(n for n in self.connections.order if self.waiting.get(n, 0) == 0)
        self.running = 0
        self.failure: NodeFailed | None = None
        self._changed = anyio.Event()
        self._group: anyio.abc.TaskGroup | None = None
        self._runners: dict[str, TaskRunner] = {}

    def runner(self, node: Node) -> TaskRunner:
        """The task a task node runs (looked up once per node of this graph)."""
        runner = self._runners.get(node.id)
        if runner is None:
            runner = self._runners[node.id] = self.resolver.task(node.value.task_id)
        return runner

    def path(self, node_id: str) -> str:
        return self.prefix + node_id

    def child(self, graph: CompiledWorkflow, inputs: dict[str, Any], resolver: Any, path: str) -> DagRun:
        """The run of a node's sub-graph (subworkflow, launch plan, dynamic), in this execution."""
        return DagRun(self.state, graph, inputs, resolver, prefix=path + "/", parent=path)

    # ---- bindings --------------------------------------------------------------------------

    def resolve(self, data: BindingData | None, py_type: Any = None) -> Any:
        """A binding's value: Python objects where known, literals left for the consumer."""
        assert data is not None
        kind = data.kind
        if kind == "promise":
            return self.output(data.value)
        if kind == "literal":
            return to_python_now(data.value, py_type) if py_type is not None else data.value
        if kind == "collection":
            item = _arg(py_type, 0)
            return [self.resolve(b, item) for b in data.value.bindings]
        if kind == "map":
            item = _arg(py_type, 1)
            return {k: self.resolve(b, item) for k, b in data.value.bindings.items()}
        raise ValueError(f"binding of unknown kind {kind!r}")

    def output(self, ref: OutputReference) -> Any:
        """The value a promise points at: a node's output, or a part of it."""
        value = self.outputs[ref.node_id][ref.var]
        for step in ref.path:
            value = step_into(value, step)
        return value

    def inputs_of(self, node: Node, py_types: Any = None) -> dict[str, Any]:
        if py_types is None:
            return {b.var: self.resolve(b.binding) for b in node.inputs}
        return {b.var: self.resolve(b.binding, py_types.get(b.var)) for b in node.inputs}

    async def run_one(self, node: Node) -> dict[str, Any]:
        """Runs a node that is not part of the template (an eager body's call); returns its
        outputs or raises NodeFailed."""
        try:
            return await run_node(self, node, inline=False)
        except anyio.get_cancelled_exc_class():
            self.state.node(self.path(node.id), NodePhase.ABORTED, self.parent,
                            reason=self.state.aborted or "cancelled")
            raise

    # ---- scheduling ------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        """Runs every node; returns the graph's outputs or raises NodeFailed."""
        async with anyio.create_task_group() as group:
            self._group = group
            while True:
                while self.ready:
                    node_id = self.ready.popleft()
                    if self.failure is not None and self.fail_fast:
                        self._finish(node_id, NodePhase.SKIPPED, "an earlier node failed")
                        continue
                    if not self.ready and self.running == 0:
                        await self._run_node(node_id, self.state.allow_inline and self.state.busy == 0)
                    else:
                        self.running += 1
                        self.state.busy += 1
                        group.start_soon(self._run_spawned, node_id)
                if self.running == 0:
                    break
                await self._changed.wait()
                self._changed = anyio.Event()
        if self.failure is not None:
            if self.template.failure_node is not None:
                await run_failure_node(self, self.template.failure_node, self.failure)
            raise self.failure
        return {b.var: self.resolve(b.binding) for b in self.template.outputs}

    async def _run_spawned(self, node_id: str) -> None:
        try:
            if self.state.limiter is not None:
                async with self.state.limiter:
                    await self._run_node(node_id, inline=False)
            else:
                await self._run_node(node_id, inline=False)
        finally:
            self.running -= 1
            self.state.busy -= 1
            self._changed.set()

    async def _run_node(self, node_id: str, inline: bool) -> None:
        node = self.nodes[node_id]
        try:
            outputs = await run_node(self, node, inline)
        except NodeFailed as failed:
            self._finish(node_id, failed.phase, failed.error.message[:200])
            if self.failure is None:
                self.failure = failed
                if self.fail_fast and self._group is not None:
                    self._group.cancel_scope.cancel()  # fail at once: stop the siblings
            return
        except anyio.get_cancelled_exc_class():
            self.state.node(self.path(node_id), NodePhase.ABORTED, self.parent,
                            reason=self.state.aborted or "cancelled")
            raise
        except Exception as exc:  # a bug in a handler: fail the node, keep the engine alive
            broken = NodeFailed(error_from_exception(exc, self.path(node_id)), exception=exc)
            self.state.node(self.path(node_id), NodePhase.FAILED, self.parent, broken.error)
            self._finish(node_id, NodePhase.FAILED, str(exc))
            if self.failure is None:
                self.failure = broken
            return
        self.outputs[node_id] = outputs
        self._finish(node_id, NodePhase.SUCCEEDED)

    def _finish(self, node_id: str, phase: NodePhase, reason: str = "") -> None:
        """Records the node's end and releases (or skips) what waits on it.

        Skips spread through a worklist, not recursion: a failure at the head of a long
        chain skips thousands of nodes.
        """
        pending = [(node_id, phase, reason)]
        while pending:
            node_id, phase, reason = pending.pop()
            self.phases[node_id] = phase
            if phase == NodePhase.SKIPPED and node_id not in self.outputs:
                self.state.node(self.path(node_id), NodePhase.SKIPPED, self.parent, reason=reason)
            failed = phase in _BLOCKED
            for child in self.connections.downstream[node_id].ids:
                if failed:
                    self.blocked.add(child)
                self.waiting[child] -= 1
                if self.waiting[child] == 0:
                    if child in self.blocked:
                        pending.append((child, NodePhase.SKIPPED,
                                        f"upstream node {node_id} did not succeed"))
                    else:
                        self.ready.append(child)


def _arg(py_type: Any, index: int) -> Any:
    if py_type is None:
        return None
    args = typing.get_args(py_type)
    return args[index] if len(args) > index else None



