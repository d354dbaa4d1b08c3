"""Promises: the future outputs of nodes, what a workflow body holds in place of values,
and how a value or promise becomes a node's input binding.

Using a promise as if it were a value is the commonest mistake, so each such use raises
an error that says what to write instead. Comparing promises (``x > 0``) makes a
:class:`Condition`, which only ``conditional(...)`` takes.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from wingspan._authoring.graph import NodeSpec, current_builder
from wingspan.core.compiler.typecheck import assignable
from wingspan.core.errors import CompilationError, TypeTransformerError
from wingspan.core.model.literals import LiteralType
from wingspan.core.model.tasks import Resources as ResourcesModel
from wingspan.core.model.workflows import (
    START_NODE,
    BindingData,
    BindingDataCollection,
    BindingDataMap,
    BooleanExpression,
    ComparisonExpression,
    ComparisonOperator,
    ConjunctionExpression,
    ConjunctionOperator,
    Operand,
    OutputReference,
    PathStep,
)
from wingspan.core.types import default_engine, type_repr
from wingspan.core.types.containers import union_variants
from wingspan.core.types.purity import to_literal_now
from wingspan.core.types.records import record_fields

__all__ = ["Comparison", "Condition", "NodeOutput", "NotAValue", "Promise", "as_condition", "bind"]


class NotAValue:
    """A definition-time object that is no value (a condition, an open conditional): binding
    one as a node's input raises the error it gives."""

    def not_a_value(self, context: str) -> str:
        raise NotImplementedError


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

    def __repr__(self) -> str:
        return f"NodeOutput({self.node_id}, no outputs)"

    def __rshift__(self, other: Any) -> Any:
        """``a >> b``: b runs after a although no data flows between them."""
        for target in _nodes_of(other):
            if self._node is not None and self._node.id not in target.upstream:
                target.upstream.append(self._node.id)
        return other

    def with_overrides(self, *, name: str | None = None, retries: int | None = None,
                       timeout: timedelta | int | None = None, requests: Any = None,
                       limits: Any = None, interruptible: bool | None = None,
                       node_name: str | None = None) -> Any:
        """Per-node settings: its display name (``name``, or flytekit's ``node_name``), retries,
        timeout, resources."""
        node = self._node
        if node is None:
            raise CompilationError("with_overrides applies to a node's output, not a workflow input")
        problems = []
        label = name if name is not None else node_name
        if label is not None:
            node.label = label
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
        if origin is dict and isinstance(key, str) and self.literal_type.kind == "map_value_type":
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

    def is_none(self) -> Any:
        """flytekit's test of an Optional promise: true when the value is None."""
        if type(None) not in (union_variants(self.py_type) or ()):
            raise CompilationError(
                f"{self!r}.is_none(): is_none() tests an Optional promise, but this one is "
                f"{type_repr(self.py_type)}, which is never None; declare the output Optional[...] "
                "or compare it instead, e.g. x > 0")
        return self._compare("==", None)

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

    def __str__(self) -> str:
        """What print(x) and logging show: the node and output. The text is remembered, so
        a constant holding it (an input built with str(x) or an f-string) is refused in bind."""
        text = repr(self)
        builder = current_builder()
        if builder is not None:
            builder.promise_texts.add(text)
        return text

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

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
    if isinstance(value, NotAValue):
        raise CompilationError(value.not_a_value(context))
    _refuse_promise_text(value, context)
    try:
        # unnamed: the context names the input, the error only what did not fit
        builder = current_builder()
        ctx = builder.constants if builder is not None else None
        return BindingData("literal", to_literal_now(value, py_type, ctx=ctx))
    except CompilationError:
        raise
    except Exception as exc:
        raise CompilationError(f"{context}: {exc}") from None


def _refuse_promise_text(value: Any, context: str) -> None:
    """A constant holding what a promise printed as carries its name, not its value."""
    builder = current_builder()
    if builder is None or not builder.promise_texts:
        return
    for text in _texts_in(value):
        for shown in builder.promise_texts:
            if shown in text:
                raise CompilationError(
                    f"{context}: {_misuse(f'as text ({shown} in {text!r:.80})', _USE_A_TASK)}")


def _texts_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _texts_in(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts_in(key)
            yield from _texts_in(item)


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
    origin = typing.get_origin(py_type) or py_type  # a bare list or dict is its own origin
    if isinstance(value, list) and origin is list:
        (item,) = typing.get_args(py_type) or (Any,)
        return BindingData("collection", BindingDataCollection(tuple(
            bind(v, item, literal_type.value, f"{context}[{i}]") for i, v in enumerate(value))),
            union_tag=tag)
    if isinstance(value, dict) and origin is dict and literal_type.kind == "map_value_type":
        args = typing.get_args(py_type)
        item = args[1] if args else Any
        return BindingData("map", BindingDataMap({
            k: bind(v, item, literal_type.value, f"{context}[{k!r}]") for k, v in value.items()}),
            union_tag=tag)
    raise CompilationError(f"{context} expects {type_repr(py_type)} but got a "
                           f"{type(value).__name__} of promises; build the value in a @task instead")


_OPERATORS = {"==": ComparisonOperator.EQ, "!=": ComparisonOperator.NEQ, ">": ComparisonOperator.GT,
              ">=": ComparisonOperator.GTE, "<": ComparisonOperator.LT, "<=": ComparisonOperator.LTE}

_COMBINE = ("combine conditions with & and | (not 'and' / 'or'), and write a range as "
            "(x > 0) & (x < 5) rather than 0 < x < 5")


class Condition(NotAValue):
    def not_a_value(self, context: str) -> str:
        return (f"{context}: a comparison of promises (x == 1, x > y) is a condition for "
                "conditional(...).if_(...), not a bool value; to compute a bool, do the comparison "
                "in a @task")

    def __and__(self, other: Any) -> Conjunction:
        return Conjunction(ConjunctionOperator.AND, self, as_condition(other))

    def __or__(self, other: Any) -> Conjunction:
        return Conjunction(ConjunctionOperator.OR, self, as_condition(other))

    def __bool__(self) -> bool:
        raise CompilationError(f"a condition was used as a truth value: {_COMBINE}")

    def to_model(self) -> BooleanExpression:
        raise NotImplementedError


def as_condition(value: Any) -> Condition:
    """``value`` if it is a condition, else the error saying what a condition is."""
    if isinstance(value, bool):  # values compared, not promises: a @dynamic body's inputs are values
        raise CompilationError(f"{value!r} is not a condition: it compares values, not promises, so it "
                               "was decided already (in a @dynamic body the inputs are plain values); "
                               "use Python's if there, or compare a task's output, e.g. x > 0")
    if not isinstance(value, Condition):
        raise CompilationError(f"{value!r} is not a condition: compare a promise, e.g. x > 0, "
                               "or use x.is_true()")
    return value


class Comparison(Condition):
    def __init__(self, op: str, left: Promise, right: Any) -> None:
        _refuse_promise_text(right, f"a condition comparing {left!r}")  # here: only while the body is traced
        self.op, self.left, self.right = op, left, right

    def to_model(self) -> BooleanExpression:
        return BooleanExpression("comparison", ComparisonExpression(
            _OPERATORS[self.op], _operand(self.left, self.left), _operand(self.right, self.left)))


def _operand(value: Any, other: Promise) -> Operand:
    if isinstance(value, Promise):
        return Operand("promise", value.reference())
    if isinstance(value, NodeOutput):
        raise CompilationError("a condition compares with a node that has no outputs")
    try:
        return Operand("literal", to_literal_now(value, other.py_type))
    except TypeTransformerError as exc:
        raise CompilationError(f"a condition compares {other!r} with the constant {value!r}, which "
                               f"does not fit {type_repr(other.py_type)} ({exc})") from None


class Conjunction(Condition):
    def __init__(self, op: ConjunctionOperator, left: Condition, right: Condition) -> None:
        self.op, self.left, self.right = op, left, right

    def to_model(self) -> BooleanExpression:
        return BooleanExpression("conjunction", ConjunctionExpression(
            self.op, self.left.to_model(), self.right.to_model()))
