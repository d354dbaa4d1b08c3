"""Building a workflow's graph: the tracing context, node specs and promises.

A workflow body runs once, at definition, with promises in place of its inputs.
Each task call records a node; each promise names a node's output. Using a
promise as if it were a value is the commonest mistake, so each such use raises
an error that says what to write instead.
"""

from __future__ import annotations

import contextlib
import contextvars
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from wingspan.core.compiler.typecheck import assignable
from wingspan.core.errors import CompilationError
from wingspan.core.model.literals import LiteralType
from wingspan.core.model.record import replace
from wingspan.core.model.tasks import Resources as ResourcesModel
from wingspan.core.model.workflows import (
    START_NODE,
    Binding,
    BindingData,
    BindingDataCollection,
    BindingDataMap,
    Node,
    NodeMetadata,
    OutputReference,
    PathStep,
    TaskNodeOverrides,
)
from wingspan.core.types import TransferContext, default_engine, type_repr
from wingspan.core.types.containers import union_variants
from wingspan.core.types.purity import to_literal_now
from wingspan.core.types.records import record_fields

__all__ = ["GraphBuilder", "NodeOutput", "NodeSpec", "Promise", "current_builder"]

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


def _misuse(what: str, instead: str) -> CompilationError:
    return CompilationError(
        f"a promise (the future output of a node) was used {what} while the workflow was being "
        f"defined; its value exists only when the workflow runs. {instead}"
    )


_USE_A_TASK = "Do the computation in a @task and pass the promise to it."


class NodeOutput:
    """What a call without outputs returns: a handle for ordering (``a >> b``) and overrides."""

    def __init__(self, node: NodeSpec | None) -> None:
        self._node = node

    @property
    def node_id(self) -> str:
        return self._node.id if self._node else START_NODE

    def __rshift__(self, other: Any) -> Any:
        """``a >> b``: b runs after a although no data flows between them."""
        for target in _nodes_of(other):
            if self._node is not None and self._node.id not in target.upstream:
                target.upstream.append(self._node.id)
        return other

    def with_overrides(self, *, name: str | None = None, retries: int | None = None,
                       timeout: timedelta | int | None = None, requests: Any = None,
                       limits: Any = None, interruptible: bool | None = None) -> Any:
        """Per-node settings: its display name, retries, timeout, resources."""
        node = self._node
        if node is None:
            raise CompilationError("with_overrides applies to a node's output, not a workflow input")
        problems = []
        if name is not None:
            node.label = name
        if retries is not None:
            if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
                problems.append(f"with_overrides(retries={retries!r}): retries must be an int >= 0")
            else:
                node.retries = retries
        if timeout is not None:
            seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
                problems.append(f"with_overrides(timeout={timeout!r}): give a positive timedelta")
            else:
                node.timeout = timedelta(seconds=seconds)
        if requests is not None or limits is not None:
            for res in (requests, limits):
                if res is not None:
                    problems += res.problems()
            node.resources = ResourcesModel(requests.to_model() if requests else None,
                                            limits.to_model() if limits else None)
        if interruptible is not None:
            node.interruptible = bool(interruptible)
        if problems:
            raise CompilationError(problems)
        return self

    def __bool__(self) -> bool:
        raise _misuse("as a truth value (in if/while/and/or)",
                      "Branch with conditional('name').if_(...).then(...).else_().then(...).")


def _nodes_of(value: Any) -> list[NodeSpec]:
    if isinstance(value, NodeOutput):
        return [value._node] if value._node is not None else []
    if isinstance(value, tuple):
        found: list[NodeSpec] = []
        for item in value:
            for node in _nodes_of(item):
                if node not in found:
                    found.append(node)
        return found
    raise CompilationError(f">> orders nodes: both sides must be node outputs, not {type(value).__name__}")


class Promise(NodeOutput):
    """The future value of one output of a node (or of a workflow input)."""

    def __init__(self, node: NodeSpec | None, var: str, py_type: Any, literal_type: LiteralType,
                 path: tuple[PathStep, ...] = ()) -> None:
        super().__init__(node)
        self.var = var
        self.py_type = py_type
        self.literal_type = literal_type
        self.path = path

    def reference(self) -> OutputReference:
        return OutputReference(self.node_id, self.var, self.path)

    def __repr__(self) -> str:
        suffix = "".join(f"[{s.value!r}]" for s in self.path)
        return f"Promise({self.node_id}.{self.var}{suffix}: {type_repr(self.py_type)})"

    # ---- reaching inside -----------------------------------------------------------------

    def __getitem__(self, key: Any) -> Promise:
        origin = typing.get_origin(self.py_type)
        if origin is list and isinstance(key, int) and not isinstance(key, bool) and key >= 0:
            (item,) = typing.get_args(self.py_type)
            return self._step(PathStep("index", key), item, self.literal_type.value)
        if origin is dict and isinstance(key, str):
            item = typing.get_args(self.py_type)[1]
            return self._step(PathStep("key", key), item, self.literal_type.value)
        if self.literal_type.kind == "record_type" and isinstance(key, str):
            return self._field(key)
        raise CompilationError(
            f"cannot index {self!r} with {key!r}: index a list promise with an int >= 0, a dict "
            "with a str key, a record with a field name; for a task with several outputs, "
            "unpack them: a, b = task(...)"
        )

    def __getattr__(self, name: str) -> Promise:
        if name.startswith("_") or self.literal_type.kind != "record_type":
            raise AttributeError(name)
        return self._field(name)

    def _field(self, name: str) -> Promise:
        fields = {n: t for n, t, _ in record_fields(self.py_type)}
        if name not in fields:
            raise CompilationError(f"{type_repr(self.py_type)} has no field {name!r}")
        field_type = next(f.type for f in self.literal_type.value.fields if f.name == name)
        return self._step(PathStep("key", name), fields[name], field_type)

    def _step(self, step: PathStep, py_type: Any, lt: LiteralType) -> Promise:
        return Promise(self._node, self.var, py_type, lt, (*self.path, step))

    # ---- conditions ------------------------------------------------------------------------

    def _compare(self, op: str, other: Any) -> Any:
        from wingspan._authoring.conditional import Comparison

        return Comparison(op, self, other)

    def __eq__(self, other: object) -> Any:
        return self._compare("==", other)

    def __ne__(self, other: object) -> Any:
        return self._compare("!=", other)

    def __lt__(self, other: Any) -> Any:
        return self._compare("<", other)

    def __le__(self, other: Any) -> Any:
        return self._compare("<=", other)

    def __gt__(self, other: Any) -> Any:
        return self._compare(">", other)

    def __ge__(self, other: Any) -> Any:
        return self._compare(">=", other)

    __hash__ = None  # type: ignore[assignment]

    def is_true(self) -> Any:
        return self._compare("==", self._bool("is_true", True))

    def is_false(self) -> Any:
        return self._compare("==", self._bool("is_false", False))

    def _bool(self, method: str, value: bool) -> bool:
        if self.py_type is not bool:
            raise CompilationError(
                f"{self!r}.{method}(): {method}() tests a bool promise, but this one is "
                f"{type_repr(self.py_type)}; compare it instead, e.g. x > 0 or x == 'done'")
        return value

    # ---- mistakes ----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Any]:
        raise _misuse("in a loop or unpacking",
                      "To run a task per item, use map_task(task)(items=...); to build the graph "
                      "from values at run time, use @dynamic.")

    def __len__(self) -> int:
        raise _misuse("with len()", _USE_A_TASK)

    def __contains__(self, item: Any) -> bool:
        raise _misuse("with 'in'", _USE_A_TASK)

    def __format__(self, spec: str) -> str:
        raise _misuse("as text (an f-string or format())", _USE_A_TASK)

    def __str__(self) -> str:
        # without this, str(x) would quietly bind the text "Promise(...)" as a constant
        raise _misuse("as text (str())", _USE_A_TASK)

    def __int__(self) -> int:
        raise _misuse("as a number", _USE_A_TASK)

    __float__ = __int__
    __index__ = __int__

    def _arithmetic(self, *args: Any) -> Any:
        raise _misuse("in arithmetic", _USE_A_TASK)

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _arithmetic
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _arithmetic
    __pow__ = __rpow__ = __neg__ = __pos__ = __abs__ = _arithmetic

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise _misuse("as a function", "Call tasks and workflows, not their outputs.")


def bind(value: Any, py_type: Any, literal_type: LiteralType | None, context: str) -> BindingData:
    """How a call argument becomes a binding: a promise, a constant, or a list/dict of them."""
    if literal_type is None:
        raise CompilationError(f"{context}: its type is not known")
    if isinstance(value, Promise):
        ok, tag = assignable(value.literal_type, literal_type)
        if not ok:
            raise CompilationError(
                f"{context} expects {type_repr(py_type)} but got {value!r} of type "
                f"{type_repr(value.py_type)}"
            )
        return BindingData("promise", value.reference(), union_tag=tag)
    if isinstance(value, NodeOutput):
        raise CompilationError(f"{context}: the node passed here has no outputs; use a >> b to "
                               "order nodes that share no data")
    if _holds_promise(value):
        return _bind_container(value, py_type, literal_type, context)
    from wingspan._authoring.conditional import Condition, Conditional

    if isinstance(value, Condition):
        raise CompilationError(
            f"{context}: a comparison of promises (x == 1, x > y) is a condition for "
            "conditional(...).if_(...), not a bool value; to compute a bool, do the comparison "
            "in a @task")
    if isinstance(value, Conditional):
        raise CompilationError(
            f"{context}: conditional {value.name!r} has no outputs until it ends: finish it with "
            ".else_().then(...) or .else_().fail(message)")
    try:
        # unnamed: the context names the input, the error only what did not fit
        builder = current_builder()
        ctx = builder.constants if builder is not None else None
        return BindingData("literal", to_literal_now(value, py_type, ctx=ctx))
    except CompilationError:
        raise
    except Exception as exc:
        raise CompilationError(f"{context}: {exc}") from None


def _holds_promise(value: Any) -> bool:
    if isinstance(value, NodeOutput):
        return True
    if isinstance(value, list):
        return any(_holds_promise(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_promise(v) for v in value.values())
    return False


def _bind_container(value: Any, py_type: Any, literal_type: LiteralType, context: str) -> BindingData:
    tag = ""
    if union_variants(py_type) is not None:
        engine = default_engine()
        kind = "collection_type" if isinstance(value, list) else "map_value_type"
        for member in typing.get_args(py_type):
            lt = engine.literal_type(member)
            if lt.kind == kind:
                py_type, literal_type, tag = member, lt, type_repr(member)
                break
    origin = typing.get_origin(py_type)
    if isinstance(value, list) and origin is list:
        (item,) = typing.get_args(py_type)
        return BindingData("collection", BindingDataCollection(tuple(
            bind(v, item, literal_type.value, f"{context}[{i}]") for i, v in enumerate(value))),
            union_tag=tag)
    if isinstance(value, dict) and origin is dict:
        item = typing.get_args(py_type)[1]
        return BindingData("map", BindingDataMap({
            k: bind(v, item, literal_type.value, f"{context}[{k!r}]") for k, v in value.items()}),
            union_tag=tag)
    raise CompilationError(f"{context} expects {type_repr(py_type)} but got a "
                           f"{type(value).__name__} of promises")
