"""``conditional(name).if_(...).then(...).elif_(...).then(...).else_().then(...) / .fail(msg)``.

Only the arm whose condition holds runs; the others are skipped. Conditions are
comparisons of promises (``x > 0``) combined with ``&`` and ``|``.
"""

from __future__ import annotations

from typing import Any

from wingspan._authoring.graph import GraphBuilder, NodeOutput, NodeSpec, Promise, current_builder
from wingspan.core.errors import CompilationError, TypeTransformerError
from wingspan.core.model.workflows import (
    BooleanExpression,
    BranchNode,
    ComparisonExpression,
    ComparisonOperator,
    ConjunctionExpression,
    ConjunctionOperator,
    IfBlock,
    Operand,
)
from wingspan.core.types import type_repr
from wingspan.core.types.purity import to_literal_now

__all__ = ["Comparison", "Condition", "conditional"]

_OPERATORS = {"==": ComparisonOperator.EQ, "!=": ComparisonOperator.NEQ, ">": ComparisonOperator.GT,
              ">=": ComparisonOperator.GTE, "<": ComparisonOperator.LT, "<=": ComparisonOperator.LTE}

_COMBINE = ("combine conditions with & and | (not 'and' / 'or'), and write a range as "
            "(x > 0) & (x < 5) rather than 0 < x < 5")


class Condition:
    def __and__(self, other: Any) -> Conjunction:
        return Conjunction(ConjunctionOperator.AND, self, _condition(other))

    def __or__(self, other: Any) -> Conjunction:
        return Conjunction(ConjunctionOperator.OR, self, _condition(other))

    def __bool__(self) -> bool:
        raise CompilationError(f"a condition was used as a truth value: {_COMBINE}")

    def to_model(self) -> BooleanExpression:
        raise NotImplementedError


def _condition(value: Any) -> Condition:
    if not isinstance(value, Condition):
        raise CompilationError(f"{value!r} is not a condition: compare a promise, e.g. x > 0, "
                               "or use x.is_true()")
    return value


class Comparison(Condition):
    def __init__(self, op: str, left: Promise, right: Any) -> None:
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


class Conditional:
    """Builds one branch node; see the module docstring."""

    def __init__(self, name: str) -> None:
        builder = current_builder()
        if builder is None:
            raise CompilationError(f"conditional({name!r}) works only inside a @workflow body")
        self.name = name
        self._builder: GraphBuilder = builder
        self._cases: list[tuple[Condition, NodeSpec]] = []
        self._else: NodeSpec | None = None
        self._fail: str | None = None
        self._arms: list[NodeSpec] = []
        self._spec = builder.add("branch_node", self._target, None, name)
        self._open: list[NodeSpec] | None = None
        self._pending: Condition | None = None

    def _target(self) -> BranchNode:
        cases = tuple(IfBlock(cond.to_model(), spec.to_model()) for cond, spec in self._cases)
        if self._else is not None:
            return BranchNode(cases, "else_node", self._else.to_model())
        if self._fail is not None:
            return BranchNode(cases, "else_fail", self._fail)
        return BranchNode(cases)

    def _start_arm(self, condition: Condition | None) -> None:
        if self._open is not None:
            raise CompilationError(f"conditional {self.name!r}: call .then(...) before the next case")
        self._open = self._builder.begin_capture()
        self._pending = condition

    def _finish_arm(self, result: Any) -> NodeSpec:
        captured = self._open
        assert captured is not None
        self._builder.end_capture(captured)
        self._open = None
        if len(captured) != 1:
            what = "no task or workflow" if not captured else f"{len(captured)} nodes"
            raise CompilationError(
                f"conditional {self.name!r}: each arm must call exactly one task or workflow "
                f"(this one called {what}); to run several steps, put them in a @workflow and call it"
            )
        arm = captured[0]
        if not isinstance(result, (NodeOutput, tuple)) or \
                any(n.id != arm.id for n in _specs(result)):
            raise CompilationError(f"conditional {self.name!r}: pass the arm's call to then(), "
                                   "e.g. .then(task(x=x))")
        self._spec.children.append(arm)
        self._arms.append(arm)
        return arm

    def if_(self, condition: Any) -> _Then:
        if self._cases:
            raise CompilationError(f"conditional {self.name!r}: if_ comes once; use elif_")
        self._start_arm(_condition(condition))
        return _Then(self)

    def elif_(self, condition: Any) -> _Then:
        if not self._cases:
            raise CompilationError(f"conditional {self.name!r}: start with if_")
        self._start_arm(_condition(condition))
        return _Then(self)

    def else_(self) -> _Else:
        if not self._cases:
            raise CompilationError(f"conditional {self.name!r}: start with if_")
        self._start_arm(None)
        return _Else(self)

    def outputs(self) -> Any:
        return self._arms[0].entity.output_promises(self._spec)


def _specs(result: Any) -> list[NodeSpec]:
    if isinstance(result, tuple):
        return [s for item in result for s in _specs(item)]
    if isinstance(result, NodeOutput):
        return [result._node] if result._node is not None else []
    return [s for item in getattr(result, "__iter__", lambda: [])() for s in _specs(item)]


class _Then:
    def __init__(self, owner: Conditional) -> None:
        self._owner = owner

    def then(self, result: Any) -> Conditional:
        owner = self._owner
        arm = owner._finish_arm(result)
        assert owner._pending is not None
        owner._cases.append((owner._pending, arm))
        return owner


class _Else:
    def __init__(self, owner: Conditional) -> None:
        self._owner = owner

    def then(self, result: Any) -> Any:
        owner = self._owner
        owner._else = owner._finish_arm(result)
        return owner.outputs()

    def fail(self, message: str) -> Any:
        owner = self._owner
        assert owner._open is not None
        owner._builder.end_capture(owner._open)
        owner._open = None
        owner._fail = message
        return owner.outputs()


def conditional(name: str) -> Conditional:
    """Starts a branch in a workflow body."""
    return Conditional(name)
