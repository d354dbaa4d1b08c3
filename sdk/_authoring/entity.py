"""What tasks, workflows and launch plans share: being called with typed inputs.

Called while a workflow is being defined, an entity adds a node and returns
promises; called anywhere else, it runs locally through the engine.
"""

from __future__ import annotations

from typing import Any

from wingspan._authoring.graph import GraphBuilder, NodeSpec, current_builder
from wingspan._authoring.interface import PythonInterface
from wingspan._authoring.naming import entity_name
from wingspan._authoring.promises import NodeOutput, Promise, bind
from wingspan._runner.eager import current_eager_calls
from wingspan.core.compiler.closure import LaunchPlanInterface
from wingspan.core.errors import CompilationError
from wingspan.core.model.interface import Identifier
from wingspan.core.model.workflows import Binding, BindingData

__all__ = ["Entity", "entity_name"]


class Entity:
    """A callable with a typed interface: a task, a workflow or a launch plan."""

    kind_label = "entity"
    name: str
    interface: PythonInterface

    @property
    def id(self) -> Identifier:
        raise NotImplementedError

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    def __repr__(self) -> str:
        return f"<{self.kind_label} {self.name}>"

    # ---- calls -------------------------------------------------------------------------------

    def match_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Positional and keyword arguments -> inputs by name, or a clear error."""
        names = list(self.interface.inputs)
        where = f"{self.kind_label} {self.name!r}"
        if len(args) > len(names):
            raise TypeError(f"{where} takes {len(names)} inputs ({', '.join(names) or 'none'}) "
                            f"but {len(args)} were given positionally")
        values = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in self.interface.inputs:
                raise TypeError(f"{where} has no input {key!r}; its inputs: {', '.join(names) or 'none'}")
            if key in values:
                raise TypeError(f"{where} got input {key!r} twice (by position and by name)")
            values[key] = value
        return values

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        values = self.match_arguments(args, kwargs)
        builder = current_builder()
        if builder is not None:
            return self.add_node(builder, values)
        eager = current_eager_calls()
        if eager is not None:  # in an eager body: a child node, awaited there
            return eager.call(self, values)
        return self.run_local(values)

    def run_local(self, values: dict[str, Any]) -> Any:
        raise NotImplementedError

    # ---- nodes -------------------------------------------------------------------------------

    def compiler_interface(self) -> LaunchPlanInterface:
        """What a workflow that calls this launch plan sees of it (launch plans override it)."""
        raise TypeError(f"{self.kind_label} {self.name!r} is not a launch plan")

    def node_kind_and_target(self) -> tuple[str, Any]:
        raise NotImplementedError

    def optional_inputs(self) -> set[str]:
        """Inputs a node may leave unbound (a launch plan fills them itself)."""
        return set()

    def add_node(self, builder: GraphBuilder, values: dict[str, Any]) -> Any:
        kind, target = self.node_kind_and_target()
        spec = builder.add(kind, target, self, self.short_name)
        self.bind_inputs(spec, values)
        return self.output_promises(spec)

    def bind_inputs(self, spec: NodeSpec, values: dict[str, Any]) -> None:
        typed = {v.name: v.type for v in self.interface.typed.inputs}
        for name, py_type in self.interface.inputs.items():
            context = f"{self.kind_label} {self.name!r}, input {name!r}"
            if name in values:
                spec.inputs.append(Binding(name, bind(values[name], py_type, typed[name], context)))
            elif name in self.interface.default_literals:
                spec.inputs.append(
                    Binding(name, BindingData("literal", self.interface.default_literals[name])))
            elif name not in self.optional_inputs():
                raise CompilationError(f"{context} is required but not given")

    def output_promises(self, spec: NodeSpec) -> Any:
        """Promises of this entity's outputs, as its Python function would return them."""
        iface = self.interface
        if iface.output_style == "none":
            return NodeOutput(spec)
        promises = {}
        for variable in iface.typed.outputs:
            assert variable.type is not None
            promises[variable.name] = Promise(spec, variable.name, iface.outputs[variable.name],
                                              variable.type)
        if iface.output_style == "single":
            (only,) = promises.values()
            return only
        if iface.output_style == "named_tuple":
            return iface.output_type(**promises)
        return tuple(promises.values())
