"""Building a workflow's graph: the tracing context and the node specs.

A workflow body runs once, at definition, with promises (:mod:`.promises`) in place of
its inputs; each task call records a node here.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from wingspan.core.model.literals import LiteralType
from wingspan.core.model.record import replace
from wingspan.core.model.tasks import Resources as ResourcesModel
from wingspan.core.model.workflows import (
    Binding,
    Node,
    NodeMetadata,
    TaskNodeOverrides,
)
from wingspan.core.types import TransferContext

__all__ = ["GraphBuilder", "NodeSpec", "current_builder"]

_builder: contextvars.ContextVar[GraphBuilder | None] = contextvars.ContextVar(
    "wingspan_graph_builder", default=None)


def current_builder() -> GraphBuilder | None:
    """The graph being traced, when called from a workflow body."""
    return _builder.get()


@dataclass
class NodeSpec:
    """A node while its workflow is being traced (mutable until the body returns)."""

    id: str
    kind: str
    target: Any
    entity: Any
    label: str
    inputs: list[Binding] = field(default_factory=list)
    upstream: list[str] = field(default_factory=list)
    outputs: dict[str, tuple[Any, LiteralType]] = field(default_factory=dict)
    timeout: timedelta | None = None
    retries: int | None = None
    interruptible: bool | None = None
    resources: ResourcesModel | None = None
    # nodes nested inside this one (a conditional's arms)
    children: list[NodeSpec] = field(default_factory=list)

    def walk(self) -> Iterator[NodeSpec]:
        yield self
        for child in self.children:
            yield from child.walk()

    def to_model(self) -> Node:
        target = self.target
        if self.kind == "task_node" and self.resources is not None:
            target = replace(target, overrides=TaskNodeOverrides(self.resources))
        if self.kind == "array_node" and self.resources is not None and target.node is not None:
            inner = replace(target.node.value, overrides=TaskNodeOverrides(self.resources))
            target = replace(target, node=replace(target.node, value=inner))
        metadata = NodeMetadata(self.label, self.timeout, self.retries, self.interruptible)
        return Node(self.id, metadata, tuple(self.inputs), tuple(self.upstream), self.kind,
                    target() if callable(target) else target)


class GraphBuilder:
    """Collects the nodes a workflow body creates."""

    def __init__(self, where: str, constants: TransferContext | None = None) -> None:
        self.where = where
        # how constants become literals; a dynamic task run in this process references its
        # local files instead of failing for want of a blob store
        self.constants = constants
        self.nodes: list[NodeSpec] = []
        self.problems: list[str] = []
        # what promises printed as (print(x), f"{x}"): text holding one is no constant
        self.promise_texts: set[str] = set()
        self._count = 0
        # nodes created while a conditional waits for its arm's node go here instead
        self._captures: list[list[NodeSpec]] = []

    @contextlib.contextmanager
    def active(self) -> Iterator[GraphBuilder]:
        token = _builder.set(self)
        try:
            yield self
        finally:
            _builder.reset(token)

    def add(self, kind: str, target: Any, entity: Any, label: str) -> NodeSpec:
        spec = NodeSpec(f"n{self._count}", kind, target, entity, label)
        self._count += 1
        (self._captures[-1] if self._captures else self.nodes).append(spec)
        return spec

    def begin_capture(self) -> list[NodeSpec]:
        """Nodes added from now until end_capture are a conditional's arm, not top-level nodes."""
        captured: list[NodeSpec] = []
        self._captures.append(captured)
        return captured

    def end_capture(self, captured: list[NodeSpec]) -> None:
        assert self._captures and self._captures[-1] is captured
        self._captures.pop()

    @property
    def capturing(self) -> bool:
        return bool(self._captures)

    def find(self, node_id: str) -> NodeSpec | None:
        return next((n for n in self.nodes if n.id == node_id), None)
