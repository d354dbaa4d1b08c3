"""``Workflow("name")``: a workflow built by calls instead of traced from a function, for
graphs that code generates (Flyte's imperative workflows, same spelling).

    wb = Workflow("pipeline")
    x = wb.add_workflow_input("x", int)
    node = wb.add_entity(double, a=x)
    wb.add_workflow_output("out", node.outputs["o0"])
    wb(x=2)

It is an ordinary workflow once built: called, registered, or used as a subworkflow
like a decorated one. The template is made (and checked) when it is first needed
after a change, so adding a thousand nodes costs one compilation, not a thousand.
"""

from __future__ import annotations

from typing import Any

from wingspan._authoring.entity import Entity
from wingspan._authoring.graph import GraphBuilder, NodeSpec
from wingspan._authoring.interface import PythonInterface
from wingspan._authoring.naming import caller_module
from wingspan._authoring.on_failure import failure_node_spec
from wingspan._authoring.promises import NodeOutput, Promise, bind
from wingspan._authoring.workflow import POLICIES, collect_entities, policy_name, templates_of
from wingspan._authoring.workflow import Workflow as TracedWorkflow
from wingspan.core.compiler import compile_workflow
from wingspan.core.errors import CompilationError
from wingspan.core.model.interface import Identifier, Parameter, ParameterMap, TypedInterface, Variable
from wingspan.core.model.workflows import (
    Binding,
    CompiledWorkflowClosure,
    WorkflowMetadata,
    WorkflowTemplate,
)
from wingspan.core.types import UnsupportedTypeError, default_engine, type_repr

__all__ = ["ImperativeNode", "ImperativeWorkflow", "Workflow"]


class ImperativeNode:
    """A node added by ``add_entity``: its outputs by name, and ordering (``a >> b``)."""

    def __init__(self, spec: NodeSpec, outputs: dict[str, Promise]) -> None:
        self.id = spec.id
        self.outputs = outputs
        self._handle = NodeOutput(spec)

    def __rshift__(self, other: ImperativeNode) -> ImperativeNode:
        """``a >> b``: b runs after a although no data flows between them."""
        if not isinstance(other, ImperativeNode):
            raise CompilationError(f">> orders nodes of the workflow: give the node add_entity returned, "
                                   f"not {type(other).__name__}")
        self._handle >> other._handle
        return other

    runs_before = __rshift__

    def with_overrides(self, **overrides: Any) -> ImperativeNode:
        """Per-node settings, as a traced workflow's ``task(...).with_overrides(...)`` takes them."""
        self._handle.with_overrides(**overrides)
        return self

    def __repr__(self) -> str:
        return f"<node {self.id} outputs={sorted(self.outputs)}>"


class ImperativeWorkflow(TracedWorkflow):
    """A workflow assembled call by call: inputs, nodes (tasks, subworkflows, launch plans),
    outputs."""

    def __init__(self, name: str, failure_policy: str = "fail_immediately", docs: str = "") -> None:
        problems = []
        if not isinstance(name, str) or not name:
            problems.append("Workflow(name=...) needs a non-empty str, e.g. Workflow('pipeline'), "
                            f"not {name!r}")
        failure_policy = policy_name(failure_policy)
        if failure_policy not in POLICIES:
            problems.append(f"workflow {name!r}: failure_policy={failure_policy!r} is not one of "
                            f"{sorted(POLICIES)}")
        if problems:
            raise CompilationError(problems)
        self.name = name
        self.__doc__ = docs
        # where it was made, so that discovery can tell it from one imported from elsewhere
        self.defined_in = caller_module(self)
        self._where = f"workflow {name!r}"
        self._policy = failure_policy
        self._docs = docs
        self._builder = GraphBuilder(self._where)
        self._input_types: dict[str, Any] = {}
        self._variables: list[Variable] = []
        self.inputs: dict[str, Promise] = {}
        self._outputs: dict[str, tuple[Any, Any, Binding]] = {}
        self._on_failure: Entity | None = None
        self._built: tuple[PythonInterface, WorkflowTemplate, CompiledWorkflowClosure,
                           dict[Identifier, Entity]] | None = None

    # ---- building ------------------------------------------------------------------------

    def add_workflow_input(self, input_name: str, python_type: Any) -> Promise:
        """Declares an input; returns its promise (also at ``self.inputs[input_name]``)."""
        self._check_name(input_name, "input", self._input_types)
        where = f"{self._where}, input {input_name!r}"
        try:
            literal_type = default_engine().literal_type(python_type, where=where)
        except UnsupportedTypeError as exc:
            raise CompilationError(str(exc)) from None
        self._input_types[input_name] = python_type
        self._variables.append(Variable(input_name, literal_type))
        promise = Promise(None, input_name, python_type, literal_type)
        self.inputs[input_name] = promise
        self._built = None
        return promise

    def add_entity(self, entity: Any, **inputs: Any) -> ImperativeNode:
        """Adds a node calling ``entity`` (a task, workflow or launch plan) with ``inputs``:
        promises of this workflow's inputs or of other nodes' outputs, or constants."""
        if not isinstance(entity, Entity):
            raise CompilationError(f"{self._where}: add_entity takes a task, workflow or launch plan, "
                                   f"not {type(entity).__name__} {entity!r:.60}; a plain function "
                                   "becomes a task with @task")
        if entity is self:
            raise CompilationError(f"{self._where}: a workflow cannot be a node of itself")
        values = entity.match_arguments((), inputs)
        with self._builder.active():
            entity.add_node(self._builder, values)
        spec = self._builder.nodes[-1]
        self._built = None
        outputs = {}
        for variable in entity.interface.typed.outputs:
            assert variable.type is not None
            outputs[variable.name] = Promise(spec, variable.name, entity.interface.outputs[variable.name],
                                             variable.type)
        return ImperativeNode(spec, outputs)

    # Flyte's names for the same call
    add_task = add_subwf = add_launch_plan = add_entity

    def add_workflow_output(self, output_name: str, p: Promise | list[Promise],
                            python_type: Any = None) -> None:
        """Declares an output bound to a promise (or a list of them: give ``python_type``,
        e.g. ``list[int]``)."""
        self._check_name(output_name, "output", self._outputs)
        where = f"{self._where}, output {output_name!r}"
        if python_type is None:
            if isinstance(p, Promise):
                python_type = p.py_type
            else:
                raise CompilationError(f"{where}: binding a {type(p).__name__} needs its type: "
                                       "add_workflow_output(name, [...], python_type=list[int])")
        try:
            literal_type = default_engine().literal_type(python_type, where=where)
        except UnsupportedTypeError as exc:
            raise CompilationError(str(exc)) from None
        with self._builder.active():
            binding = Binding(output_name, bind(p, python_type, literal_type, where))
        self._outputs[output_name] = (python_type, literal_type, binding)
        self._built = None

    def add_on_failure_handler(self, entity: Any) -> None:
        """The task (or workflow) run when this workflow fails (``@workflow(on_failure=...)``)."""
        if not isinstance(entity, Entity):
            raise CompilationError(f"{self._where}: on_failure takes a task or workflow, not "
                                   f"{type(entity).__name__} {entity!r:.60}")
        self._on_failure = entity
        self._built = None

    def _check_name(self, name: Any, kind: str, taken: dict[str, Any]) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise CompilationError(f"{self._where}: {kind} name {name!r} must be a Python identifier")
        if name in taken:
            raise CompilationError(f"{self._where} already has an {kind} named {name!r}")

    # ---- what a workflow is -----------------------------------------------------------------

    def _build_now(self) -> tuple[PythonInterface, WorkflowTemplate, CompiledWorkflowClosure,
                                  dict[Identifier, Entity]]:
        if self._built is None:
            outputs = {name: py for name, (py, _, _) in self._outputs.items()}
            style = "none" if not outputs else "single" if len(outputs) == 1 else "tuple"
            typed = TypedInterface(tuple(self._variables),
                                   tuple(Variable(n, lt) for n, (_, lt, _) in self._outputs.items()), style)
            interface = PythonInterface(inputs=dict(self._input_types), outputs=outputs,
                                        output_style=style, typed=typed)
            failure = (failure_node_spec(self._on_failure, interface, self._where)
                       if self._on_failure is not None else None)
            entities = collect_entities([*self._builder.nodes, *([failure] if failure else [])])
            template = WorkflowTemplate(
                id=self.id, metadata=WorkflowMetadata(POLICIES[self._policy], self._docs), interface=typed,
                nodes=tuple(spec.to_model() for spec in self._builder.nodes),
                outputs=tuple(b for _, _, b in self._outputs.values()),
                parameters=ParameterMap(tuple(Parameter(v, None, True) for v in self._variables)),
                failure_node=failure.to_model() if failure is not None else None)
            closure = compile_workflow(template, *templates_of(entities))
            self._built = (interface, template, closure, entities)
        return self._built

    # what a traced workflow sets once in _build, made here from the calls so far
    interface = property(lambda self: self._build_now()[0], lambda self, _: _read_only())
    template = property(lambda self: self._build_now()[1], lambda self, _: _read_only())
    closure = property(lambda self: self._build_now()[2], lambda self, _: _read_only())
    entities = property(lambda self: self._build_now()[3], lambda self, _: _read_only())
    nodes = property(lambda self: list(self._builder.nodes), lambda self, _: _read_only())

    def compile(self) -> CompiledWorkflowClosure:
        return self._build_now()[2]

    def __repr__(self) -> str:
        inputs = ", ".join(f"{n}: {type_repr(t)}" for n, t in self._input_types.items())
        return f"<workflow {self.name}({inputs}) with {len(self._builder.nodes)} nodes>"


def _read_only() -> None:
    raise AttributeError("a built workflow changes through its add_* methods")


# Flyte users import it as ``Workflow``
Workflow = ImperativeWorkflow
