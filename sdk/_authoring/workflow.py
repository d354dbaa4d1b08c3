"""``@workflow``: a graph of tasks traced once from a typed Python function."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, overload

from wingspan._authoring.entity import Entity
from wingspan._authoring.graph import GraphBuilder, NodeSpec
from wingspan._authoring.interface import PythonInterface, read_interface
from wingspan._authoring.naming import entity_name
from wingspan._authoring.on_failure import failure_node_spec
from wingspan._authoring.promises import Promise, bind
from wingspan.core.compiler import compile_workflow
from wingspan.core.compiler.closure import LaunchPlanInterface
from wingspan.core.compiler.one_node import one_node_workflow
from wingspan.core.errors import CompilationError
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.interface import Identifier, Parameter, ParameterMap, ResourceType, Variable
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.model.workflows import (
    Binding,
    CompiledWorkflowClosure,
    FailurePolicy,
    WorkflowMetadata,
    WorkflowNode,
    WorkflowTemplate,
)

if TYPE_CHECKING:
    from wingspan._runner.run import SignalAnswers

__all__ = ["Workflow", "collect_entities", "workflow"]

POLICIES = {
    "fail_immediately": FailurePolicy.FAIL_IMMEDIATELY,
    "fail_after_executable_nodes_complete": FailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE,
}


def policy_name(failure_policy: Any) -> Any:
    """flytekit's spelling (``WorkflowFailurePolicy.FAIL_IMMEDIATELY``'s name, in capitals) read
    as ours; anything else is left as given, for the caller's check to name."""
    return failure_policy.lower() if isinstance(failure_policy, str) else failure_policy


def collect_entities(nodes: list[NodeSpec]) -> dict[Identifier, Entity]:
    """Every task, workflow and launch plan the nodes reach, nested ones included."""
    found: dict[Identifier, Entity] = {}
    # most nodes call an entity already seen: skip building and hashing its id again
    seen: set[int] = set()
    for top in nodes:
        for spec in top.walk():
            entity = spec.entity
            if id(entity) in seen or not isinstance(entity, Entity):
                continue
            seen.add(id(entity))
            if entity.id not in found:
                found[entity.id] = entity
                found.update(getattr(entity, "entities", {}))
    return found


def templates_of(entities: dict[Identifier, Entity]) -> tuple[
        dict[Identifier, TaskTemplate], dict[Identifier, WorkflowTemplate],
        dict[Identifier, LaunchPlanInterface]]:
    """What the compiler needs to know of each entity: task and workflow templates, and
    launch plans' interfaces."""
    tasks = {i: e.template for i, e in entities.items()
             if i.resource_type == ResourceType.TASK and hasattr(e, "template")}
    workflows = {i: e.template for i, e in entities.items() if isinstance(e, Workflow)}
    launch_plans = {i: e.compiler_interface() for i, e in entities.items()
                    if i.resource_type == ResourceType.LAUNCH_PLAN}
    return tasks, workflows, launch_plans


class Workflow(Entity):
    """A decorated workflow function, traced once; call it to run it locally."""

    kind_label = "workflow"

    def __init__(self, fn: Callable[..., Any], failure_policy: str = "fail_immediately",
                 docs: str = "", on_failure: Any = None) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__
        name = entity_name(fn)
        problems: list[str] = []
        interface = read_interface(fn, "workflow", problems)
        failure_policy = policy_name(failure_policy)
        if failure_policy not in POLICIES:
            problems.append(f"workflow {name!r}: failure_policy={failure_policy!r} is not one of "
                            f"{sorted(POLICIES)}")
        if problems:
            raise CompilationError(problems)
        self._build(name, interface, fn, failure_policy, docs or inspect.cleandoc(fn.__doc__ or ""),
                    on_failure=on_failure)

    def _build(self, name: str, interface: PythonInterface, body: Callable[..., Any],
               failure_policy: str, docs: str, *, one_node: bool = False, on_failure: Any = None) -> None:
        """Traces ``body`` with promises for the inputs, and compiles what it built (with
        ``one_node``, the one node it made is wrapped as core's one-node workflow)."""
        self.name = name
        self.interface = interface
        where = f"{self.kind_label} {name!r}"
        builder = GraphBuilder(where)
        inputs = {v.name: Promise(None, v.name, interface.inputs[v.name], v.type)
                  for v in interface.typed.inputs if v.type is not None}
        with builder.active():
            returned = body(**inputs)
            if builder.capturing:
                raise CompilationError(f"{where}: a conditional's case was left without .then(...)")
            outputs = _bind_outputs(interface, returned, where)
        self.nodes = builder.nodes
        failure = failure_node_spec(on_failure, interface, where) if on_failure is not None else None
        self.entities = collect_entities(builder.nodes if failure is None else [*builder.nodes, failure])
        parameters = ParameterMap(tuple(
            Parameter(Variable(v.name, v.type), interface.default_literals.get(v.name),
                      v.name not in interface.default_literals)
            for v in interface.typed.inputs
        ))
        metadata = WorkflowMetadata(POLICIES[failure_policy], docs)
        if one_node:
            (node,) = builder.nodes
            self.template = one_node_workflow(self.id, interface.typed, node.to_model(), metadata=metadata,
                                              parameters=parameters)
        else:
            self.template = WorkflowTemplate(id=self.id, metadata=metadata, interface=interface.typed,
                                             nodes=tuple(spec.to_model() for spec in builder.nodes),
                                             outputs=tuple(outputs), parameters=parameters,
                                             failure_node=failure.to_model() if failure else None)
        self.closure = self.compile()

    @property
    def id(self) -> Identifier:
        return Identifier(ResourceType.WORKFLOW, name=self.name)

    def compile(self) -> CompiledWorkflowClosure:
        """The closure: this workflow, its subworkflows and tasks, checked and connected."""
        return compile_workflow(self.template, *templates_of(self.entities))

    def node_kind_and_target(self) -> tuple[str, Any]:
        return "workflow_node", WorkflowNode("subworkflow_id", self.id)

    def run_local(self, values: dict[str, Any], signals: SignalAnswers | None = None) -> Any:
        # the runner (anyio, the engine) loads on the first run, not with every `import wingspan`
        from wingspan._runner.run import outputs_of, python_signals, run_workflow_entity

        source = python_signals(signals, f"{self.kind_label} {self.name!r}") if signals is not None else None
        return outputs_of(self, run_workflow_entity(self, values, signals=source))

    def run(self, *args: Any, signals: SignalAnswers | None = None, **kwargs: Any) -> Any:
        """Runs the workflow locally as calling it does, answering its approve and
        wait_for_input gates from ``signals``: a dict ``{signal name: value}`` (True or False
        for an approval) or a function called with each signal's name when its gate waits."""
        return self.run_local(self.match_arguments(args, kwargs), signals)


def _bind_outputs(interface: PythonInterface, returned: Any, where: str) -> list[Binding]:
    """What the body returned, bound to the workflow's outputs."""
    if interface.output_style == "none":
        if isinstance(returned, Promise) or (
                isinstance(returned, tuple) and any(isinstance(v, Promise) for v in returned)):
            raise CompilationError(f"{where} returns a promise but declares no outputs; "
                                   "annotate what it returns, e.g. -> int")
        return []
    if returned is None:
        raise CompilationError(f"{where}: outputs {list(interface.outputs)} are never bound: the body "
                               "returns nothing; return the promise(s) of the node(s) that make them")
    outputs = []
    for name, value in interface.unpack_outputs(returned, where).items():
        variable = interface.typed.output(name)
        assert variable is not None
        context = f"{where}, output {name!r}"
        try:
            data = bind(value, interface.outputs[name], variable.type, context)
        except CompilationError:
            if value is None:
                raise CompilationError(f"{context} is never bound: the body returns None for it; "
                                       "return the promise of the node that makes it") from None
            raise
        outputs.append(Binding(name, data))
    return outputs


def single_node_workflow(entity: Entity) -> Workflow:
    """A workflow of one node running ``entity``: how a task called directly runs. The node is
    the one ``entity`` makes when called in a workflow (a map task's binds its own inputs); the
    workflow around it is core's (wingspan.core.compiler.one_node), as on the server."""
    cached = entity.__dict__.get("_single_node_workflow")
    if cached is None:
        cached = Workflow.__new__(Workflow)
        cached.kind_label = entity.kind_label
        cached._build(entity.name, entity.interface, lambda **inputs: entity(**inputs),
                      "fail_immediately", "", one_node=True)
        entity.__dict__["_single_node_workflow"] = cached
    return cached


@overload
def workflow(fn: Callable[..., Any]) -> Workflow: ...


@overload
def workflow(fn: None = None, *,
             failure_policy: Literal["fail_immediately", "fail_after_executable_nodes_complete",
                                     "FAIL_IMMEDIATELY", "FAIL_AFTER_EXECUTABLE_NODES_COMPLETE"] = ...,
             docs: str = "", on_failure: Any = None) -> Callable[[Callable[..., Any]], Workflow]: ...


def workflow(fn: Callable[..., Any] | None = None, *, failure_policy: str = "fail_immediately",
             docs: str = "", on_failure: Any = None) -> Any:
    """Makes a typed function a workflow. Its body runs once, now, to build the graph:
    inside it, task calls return promises of their outputs, not values.

    ``on_failure``: a task (or workflow) run when the workflow fails, with the workflow's
    inputs by name and ``err: WorkflowFailure | None`` (see :mod:`.on_failure`).
    """

    def decorate(func: Callable[..., Any]) -> Workflow:
        return Workflow(func, failure_policy, docs, on_failure)

    return decorate(fn) if fn is not None else decorate


def run_called(entity: Entity, values: dict[str, Any]) -> Any:
    """What calling a task (or map, or container task) outside a workflow does: a one-node
    workflow run through the engine in this process, raising as a function would."""
    from wingspan._runner.run import outputs_of, run_workflow_entity  # loaded on the first run

    wrapper = single_node_workflow(entity)
    result = run_workflow_entity(wrapper, values)
    if result.phase != WorkflowPhase.SUCCEEDED and result.exception is not None:
        raise result.exception  # a task called like a function raises like one
    return outputs_of(wrapper, result)
