"""``conditional(name).if_(...).then(...).elif_(...).then(...).else_().then(...) / .fail(msg)``.

Only the arm whose condition holds runs; the others are skipped. Conditions are
comparisons of promises (``x > 0``) combined with ``&`` and ``|``.
"""

from __future__ import annotations

from typing import Any

from wingspan._authoring.graph import GraphBuilder, NodeSpec, current_builder
from wingspan._authoring.promises import Condition, NodeOutput, NotAValue, as_condition
from wingspan.core.errors import CompilationError
from wingspan.core.model.workflows import BranchNode, IfBlock

__all__ = ["Conditional", "conditional"]

class Conditional(NotAValue):
    """Builds one branch node; see the module docstring."""

    def not_a_value(self, context: str) -> str:
        return (f"{context}: conditional {self.name!r} has no outputs until it ends: finish it with "
                ".else_().then(...) or .else_().fail(message)")

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
        # the node's entity is this conditional: an outer conditional with this one as an arm
        # asks it for its outputs' promises as it would ask a task
        self._spec = builder.add("branch_node", self._target, self, name)
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
        self._start_arm(as_condition(condition))
        return _Then(self)

    def elif_(self, condition: Any) -> _Then:
        if not self._cases:
            raise CompilationError(f"conditional {self.name!r}: start with if_")
        self._start_arm(as_condition(condition))
        return _Then(self)

    def else_(self) -> _Else:
        if not self._cases:
            raise CompilationError(f"conditional {self.name!r}: start with if_")
        self._start_arm(None)
        return _Else(self)

    def outputs(self) -> Any:
        return self.output_promises(self._spec)

    def output_promises(self, spec: NodeSpec) -> Any:
        """Promises of ``spec``'s outputs, shaped as this conditional's first arm returns them."""
        if not self._arms:
            raise CompilationError(f"conditional {self.name!r} has no arm that gives outputs: "
                                   "give it a case with .then(task(...))")
        return self._arms[0].entity.output_promises(spec)


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
