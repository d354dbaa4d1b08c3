"""``map_task``: one task run per item of its list inputs, with bounded concurrency."""

from __future__ import annotations

import functools
from typing import Any

from wingspan._authoring.entity import Entity
from wingspan._authoring.graph import GraphBuilder, NodeSpec
from wingspan._authoring.interface import PythonInterface
from wingspan._authoring.promises import bind
from wingspan._authoring.task import PythonTask
from wingspan._authoring.workflow import run_called
from wingspan.core.errors import CompilationError
from wingspan.core.model.interface import Identifier, ResourceType, TypedInterface, Variable
from wingspan.core.model.literals import LiteralType
from wingspan.core.model.workflows import ArrayNode, Binding, BindingData, Node
from wingspan.core.types import default_engine

__all__ = ["MapTask", "map_task"]


class MapTask(Entity):
    """A task applied to every item of its mapped inputs; outputs are lists, in item order."""

    kind_label = "map task"

    def __init__(self, target: Any, concurrency: int | None, min_success_ratio: float) -> None:
        bound: dict[str, Any] = {}
        if isinstance(target, functools.partial):
            if target.args:
                raise CompilationError("map_task: bind unmapped inputs by name: "
                                       "functools.partial(task, name=value)")
            bound = dict(target.keywords)
            target = target.func
        if not isinstance(target, PythonTask):
            raise CompilationError(f"map_task takes a @task (optionally in functools.partial), "
                                   f"not {target!r}")
        problems = []
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            problems.append(f"map_task({target.name}): concurrency must be an int >= 1")
        if not isinstance(min_success_ratio, (int, float)) or not 0 <= min_success_ratio <= 1:
            problems.append(f"map_task({target.name}): min_success_ratio must be in [0, 1]")
        unknown = sorted(set(bound) - set(target.interface.inputs))
        if unknown:
            problems.append(f"map_task({target.name}): partial binds {unknown}, which are not inputs")
        if problems:
            raise CompilationError(problems)
        self.task = target
        self.bound = bound
        self.concurrency = concurrency or 0
        self.min_success_ratio = float(min_success_ratio)
        self.name = target.name
        self.mapped = [n for n in target.interface.inputs if n not in bound
                       and n not in target.interface.default_literals]
        self.entities = {target.id: target}
        inner = target.interface
        engine = default_engine()
        inputs = {n: list[inner.inputs[n]] for n in self.mapped}  # type: ignore[name-defined]
        # with a min_success_ratio below 1, failed items leave a None in their place
        outputs = {n: list[t] if self.min_success_ratio >= 1 else list[t | None]  # type: ignore[valid-type]
                   for n, t in inner.outputs.items()}
        typed = TypedInterface(
            tuple(Variable(n, engine.literal_type(t)) for n, t in inputs.items()),
            tuple(Variable(n, engine.literal_type(t)) for n, t in outputs.items()),
            "single" if list(outputs) == ["o0"] else "tuple",
        )
        self.interface = PythonInterface(inputs=inputs, outputs=outputs,
                                         output_style=typed.output_style if outputs else "none",
                                         typed=typed)

    @property
    def id(self) -> Identifier:
        return Identifier(ResourceType.TASK, name=f"{self.task.name}[map]")

    def add_node(self, builder: GraphBuilder, values: dict[str, Any]) -> Any:
        target = ArrayNode(Node(kind="task_node", value=self.task.node_kind_and_target()[1]),
                           self.concurrency, self.min_success_ratio, tuple(self.mapped))
        spec = builder.add("array_node", target, self, f"map {self.task.short_name}")
        self._bind(spec, values)
        return self.output_promises(spec)

    def _bind(self, spec: NodeSpec, values: dict[str, Any]) -> None:
        inner = self.task.interface
        typed = {v.name: v.type for v in inner.typed.inputs}
        for name in inner.inputs:
            context = f"map task {self.name!r}, input {name!r}"
            if name in self.mapped:
                if name not in values:
                    raise CompilationError(f"{context}: give the list of items to map over")
                lt = LiteralType("collection_type", typed[name])
                spec.inputs.append(Binding(name, bind(values[name], list[inner.inputs[name]], lt,  # type: ignore[name-defined]
                                                      context)))
            elif name in self.bound:
                spec.inputs.append(Binding(name, bind(self.bound[name], inner.inputs[name],
                                                      typed[name], context)))
            elif name in inner.default_literals:
                spec.inputs.append(Binding(name, BindingData("literal", inner.default_literals[name])))

    def run_local(self, values: dict[str, Any]) -> Any:
        return run_called(self, values)


def map_task(task: Any, *, concurrency: int | None = None, min_success_ratio: float = 1.0) -> MapTask:
    """``map_task(task)(x=[...])`` runs ``task`` once per item; outputs are lists in item order.

    Bind inputs that are not mapped with ``functools.partial(task, other=value)``.
    At least ``min_success_ratio`` of the items must succeed; failed items' outputs are None.
    """
    return MapTask(task, concurrency, min_success_ratio)
