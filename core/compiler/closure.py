"""Compiles a workflow template into a closure: checked, connected and ordered.

Every problem found is reported at once, each naming the workflow, the node, the
input and the types involved.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from wingspan.core.compiler.interfaces import LaunchPlanInterface, node_interface
from wingspan.core.compiler.typecheck import assignable, literal_fits, same_type
from wingspan.core.errors import CompilationError
from wingspan.core.model.interface import Identifier, TypedInterface, Variable
from wingspan.core.model.literals import LiteralType
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.model.workflows import (
    ERROR_NODE,
    START_NODE,
    BindingData,
    BooleanExpression,
    CompiledTask,
    CompiledWorkflow,
    CompiledWorkflowClosure,
    Node,
    NodeConnections,
    NodeIdList,
    Operand,
    OutputReference,
    WorkflowTemplate,
)

__all__ = ["LaunchPlanInterface", "compile_workflow"]


@dataclass
class _Entities:
    tasks: Mapping[Identifier, TaskTemplate]
    workflows: Mapping[Identifier, WorkflowTemplate]
    launch_plans: Mapping[Identifier, LaunchPlanInterface]
    used_tasks: set[Identifier] = field(default_factory=set)
    used_workflows: set[Identifier] = field(default_factory=set)
    used_launch_plans: set[Identifier] = field(default_factory=set)


def _label(node: Node) -> str:
    name = node.metadata.name if node.metadata and node.metadata.name else ""
    return f"node {node.id!r}" + (f" ({name})" if name else "")


class _WorkflowCompiler:
    def __init__(self, template: WorkflowTemplate, entities: _Entities) -> None:
        self.template = template
        self.entities = entities
        self.where = f"workflow {template.id.name if template.id else '?'!r}"
        self.problems: list[str] = []
        self.nodes: dict[str, Node] = {}
        self.outputs: dict[str, dict[str, LiteralType | None]] = {}
        # nodes whose target is not known: reported once, not again by each consumer
        self.unknown: set[str] = set()
        # by id() of the node: ids in the template may repeat (a reported problem)
        self.interfaces: dict[int, TypedInterface | None] = {}
        iface = template.interface or TypedInterface()
        self.outputs[START_NODE] = {v.name: v.type for v in iface.inputs}

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.where}: {text}")

    # ---- nodes -------------------------------------------------------------------------------

    def walk(self, nodes: tuple[Node, ...]) -> Iterator[Node]:
        """Every node, nested ones (branch arms, map items) included."""
        for node in nodes:
            yield node
            if node.kind == "branch_node":
                arms = [c.then_node for c in node.value.cases]
                if node.value.kind == "else_node":
                    arms.append(node.value.value)
                yield from self.walk(tuple(a for a in arms if a is not None))

    def interface_of(self, node: Node) -> TypedInterface | None:
        if node.kind == "gate_node" and node.value.kind == "approve":
            source = self.binding_type(node.inputs[0].binding, node, "value") if node.inputs else None
            return TypedInterface((Variable("value", source),), (Variable("o0", source),), "single")
        # asked for each node and again for each of its consumers: look the entity up once
        key = id(node)
        if key in self.interfaces:
            return self.interfaces[key]
        iface = self.interfaces[key] = node_interface(node, self.entities.tasks, self.entities.workflows,
                                                      self.entities.launch_plans)
        if iface is None:
            self.unknown.add(node.id)
            self.problem(f"{_label(node)} refers to {self._target(node)}, which is not known "
                         "(register it, or include it in the closure)")
        return iface

    def _target(self, node: Node) -> str:
        if node.kind == "task_node":
            return f"task {node.value.task_id}"
        if node.kind == "array_node":
            return self._target(node.value.node)
        if node.kind == "workflow_node":
            return f"{node.value.kind.removesuffix('_id').replace('_', ' ')} {node.value.value}"
        return node.kind

    def collect(self) -> None:
        for node in self.walk(self._all_nodes()):
            if node.id in (START_NODE, ERROR_NODE) or not node.id:
                self.problem(f"a node may not be called {node.id!r}")
            elif node.id in self.nodes:
                self.problem(f"two nodes share the id {node.id!r}")
            self.nodes[node.id] = node
            self._use(node)
        # outputs of gates that echo their input depend on it: resolve in order
        for node in self.walk(self._all_nodes()):
            if node.kind == "gate_node" and node.value.kind == "approve":
                continue
            iface = self.interface_of(node)
            self.outputs[node.id] = {v.name: v.type for v in iface.outputs} if iface else {}
        for node in self.walk(self.template.nodes):
            if node.kind == "gate_node" and node.value.kind == "approve":
                iface = self.interface_of(node)
                self.outputs[node.id] = {v.name: v.type for v in iface.outputs} if iface else {}

    def _all_nodes(self) -> tuple[Node, ...]:
        failure = self.template.failure_node
        return self.template.nodes if failure is None else (*self.template.nodes, failure)

    def check_failure_node(self, node: Node) -> None:
        """The failure node runs after the others failed: it may use the workflow's inputs
        and the error, not the outputs of nodes that may never have run."""
        others = set().union(*(_promise_sources(b.binding) for b in node.inputs)) - {START_NODE, ERROR_NODE}
        if others or node.upstream_node_ids:
            self.problem(f"the failure handler ({_label(node)}) may use only the workflow's inputs and "
                         f"the error, not nodes {sorted(others | set(node.upstream_node_ids))}")
            return
        # the error's type is the engine's (WorkflowFailure); its handler's input is checked
        # where the handler is declared
        self.outputs[ERROR_NODE] = {"err": None}
        try:
            self.check_node(node)
        finally:
            del self.outputs[ERROR_NODE]

    def _use(self, node: Node) -> None:
        if node.kind == "task_node":
            self.entities.used_tasks.add(node.value.task_id)
        elif node.kind == "array_node" and node.value.node is not None:
            self._use(node.value.node)
        elif node.kind == "workflow_node":
            if node.value.kind == "subworkflow_id":
                self.entities.used_workflows.add(node.value.value)
            else:
                self.entities.used_launch_plans.add(node.value.value)

    # ---- bindings ----------------------------------------------------------------------------

    def promise_type(self, ref: OutputReference, context: str) -> LiteralType | None:
        if ref.node_id in self.unknown:
            return None
        outputs = self.outputs.get(ref.node_id)
        if outputs is None:
            self.problem(f"{context} refers to node {ref.node_id!r}, which does not exist")
            return None
        if ref.var not in outputs:
            source = "workflow inputs" if ref.node_id == START_NODE else f"node {ref.node_id!r}"
            self.problem(f"{context} refers to {ref.var!r}, which {source} "
                         f"do{'' if ref.node_id == START_NODE else 'es'} not have "
                         f"(available: {sorted(outputs)})")
            return None
        lt = outputs[ref.var]
        for step in ref.path:
            if lt is None:
                return None
            if (step.kind, lt.kind) in (("index", "collection_type"), ("key", "map_value_type")):
                lt = lt.value
            elif step.kind == "key" and lt.kind == "record_type":
                field_ = next((f for f in lt.value.fields if f.name == step.value), None)
                if field_ is None:
                    self.problem(f"{context}: {lt} has no field {step.value!r}")
                    return None
                lt = field_.type
            else:
                self.problem(f"{context}: cannot take [{step.value!r}] of a value of type {lt}")
                return None
        return lt

    def binding_type(self, data: BindingData | None, node: Node, var: str) -> LiteralType | None:
        if data is not None and data.kind == "promise":
            return self.promise_type(data.value, f"{_label(node)}, input {var!r}")
        return None

    def check_binding(self, data: BindingData | None, expected: LiteralType | None,
                      context: str) -> None:
        if data is None or expected is None:
            return
        match data.kind:
            case "literal":
                if not literal_fits(data.value, expected):
                    self.problem(f"{context} expects {expected} but the constant bound to it "
                                 f"is a {data.value.kind}")
            case "promise":
                source = self.promise_type(data.value, context)
                if source is None:
                    return
                ok, tag = assignable(source, expected)
                if not ok:
                    ref = data.value
                    origin = ("workflow input" if ref.node_id == START_NODE
                              else f"output of {_label(self.nodes[ref.node_id])}")
                    self.problem(f"{context} expects {expected} but is bound to {source} "
                                 f"({origin} {ref.var!r})")
                elif data.union_tag and tag and data.union_tag != tag:
                    self.problem(f"{context}: union variant {data.union_tag!r} should be {tag!r}")
            case "collection":
                if expected.kind != "collection_type" and \
                        not self._union_accepts(expected, "collection_type"):
                    self.problem(f"{context} expects {expected} but is bound to a list")
                    return
                item = expected.value if expected.kind == "collection_type" else None
                for index, element in enumerate(data.value.bindings):
                    self.check_binding(element, item, f"{context}[{index}]")
            case "map":
                if expected.kind != "map_value_type":
                    self.problem(f"{context} expects {expected} but is bound to a dict")
                    return
                for key, element in data.value.bindings.items():
                    self.check_binding(element, expected.value, f"{context}[{key!r}]")

    @staticmethod
    def _union_accepts(expected: LiteralType, kind: str) -> bool:
        return expected.kind == "union_type" and any(v.kind == kind for v in expected.value.variants)

    def check_node(self, node: Node) -> None:
        iface = self.interface_of(node)
        if iface is None:
            return
        expected = {v.name: v.type for v in iface.inputs}
        bound: set[str] = set()
        for binding in node.inputs:
            context = f"{_label(node)}, input {binding.var!r}"
            if binding.var in bound:
                self.problem(f"{context} is bound twice")
            bound.add(binding.var)
            if binding.var not in expected:
                self.problem(f"{_label(node)} has no input {binding.var!r} "
                             f"(its inputs: {sorted(expected) or 'none'})")
                continue
            self.check_binding(binding.binding, expected[binding.var], context)
        optional: frozenset[str] = frozenset()
        if node.kind == "workflow_node" and node.value.kind == "launch_plan_id":
            lp = self.entities.launch_plans[node.value.value]
            optional = lp.optional_inputs | lp.fixed_inputs
            for name in sorted(bound & lp.fixed_inputs):
                self.problem(f"{_label(node)}, input {name!r} is fixed by launch plan "
                             f"{node.value.value} and cannot be set")
        missing = [name for name in expected if name not in bound and name not in optional]
        if missing:
            self.problem(f"{_label(node)} is missing required inputs {missing}")
        if node.kind == "branch_node":
            self.check_branch(node)

    def check_branch(self, node: Node) -> None:
        branch = node.value
        if not branch.cases:
            self.problem(f"{_label(node)}: a conditional needs at least one if_ case")
        if not branch.kind:
            self.problem(f"{_label(node)}: end the conditional with .else_().then(...) "
                         "or .else_().fail(message)")
        for case in branch.cases:
            self.check_condition(case.condition, node)
        arms = [c.then_node for c in branch.cases if c.then_node is not None]
        if branch.kind == "else_node":
            arms.append(branch.value)
        shapes = []
        for arm in arms:
            self.check_node(arm)
            iface = self.interface_of(arm)
            if iface is not None:
                shapes.append((arm, {v.name: v.type for v in iface.outputs if v.type}))
        for arm, outputs in shapes[1:]:
            first_arm, first = shapes[0]
            # compared without union tags, shown as the user wrote them (int, not integer)
            if outputs.keys() != first.keys() or \
                    not all(same_type(t, first[k]) for k, t in outputs.items()):
                self.problem(
                    f"{_label(node)}: the arms of the conditional disagree on their outputs: "
                    f"{_label(first_arm)} gives {_render(first)}, {_label(arm)} gives {_render(outputs)}"
                )

    def check_condition(self, expression: BooleanExpression | None, node: Node) -> None:
        if expression is None:
            self.problem(f"{_label(node)}: a case has no condition")
            return
        if expression.kind == "conjunction":
            self.check_condition(expression.value.left, node)
            self.check_condition(expression.value.right, node)
            return
        comparison = expression.value
        types = [self.operand_type(o, node) for o in (comparison.left, comparison.right)]
        if all(t is not None for t in types):
            left, right = types
            assert left is not None and right is not None
            if not same_type(left, right) and not assignable(left, right)[0] \
                    and not assignable(right, left)[0]:
                self.problem(f"{_label(node)}: a condition compares {left} with {right}")

    def operand_type(self, operand: Operand | None, node: Node) -> LiteralType | None:
        if operand is None or operand.kind != "promise":
            return None
        return self.promise_type(operand.value, f"{_label(node)}, condition")

    # ---- graph -------------------------------------------------------------------------------

    def dependencies(self, node: Node) -> set[str]:
        found = set(node.upstream_node_ids)
        for inner in self.walk((node,)):
            for binding in inner.inputs:
                found |= _promise_sources(binding.binding)
            if inner.kind == "branch_node":
                for case in inner.value.cases:
                    found |= _condition_sources(case.condition)
        found.discard(START_NODE)
        # nodes nested inside this one run as part of it; the node itself stays, so that a
        # node fed by its own output is reported as a cycle
        return found - {n.id for n in self.walk((node,)) if n is not node}

    def connect(self) -> NodeConnections:
        import rustworkx  # only workflows pay for it, not `import wingspan`

        graph = rustworkx.PyDiGraph()
        top = list(self.template.nodes)
        index = {node.id: graph.add_node(position) for position, node in enumerate(top)}
        upstream: dict[str, list[str]] = {}
        for node in top:
            deps = self.dependencies(node)
            unknown = sorted(d for d in deps if d not in index)
            # a missing node an input refers to is reported with that input; this reports
            # the ones named only in upstream_node_ids (a >> b)
            explicit = {d for inner in self.walk((node,)) for d in inner.upstream_node_ids}
            for name in unknown:
                if name not in self.nodes:
                    if name in explicit:
                        self.problem(f"{_label(node)} runs after node {name!r}, which does not exist")
                else:
                    self.problem(f"{_label(node)} uses node {name!r}, which is nested elsewhere")
            known = sorted((d for d in deps if d in index), key=lambda d: index[d])
            upstream[node.id] = known
            for dep in known:
                graph.add_edge(index[dep], index[node.id], None)
        if not rustworkx.is_directed_acyclic_graph(graph):
            self.problem(self._cycle(graph, top))
            order: list[str] = [n.id for n in top]
        else:
            order = [top[graph[i]].id for i in rustworkx.lexicographical_topological_sort(
                graph, key=lambda position: f"{position:09d}")]
        downstream: dict[str, list[str]] = {n.id: [] for n in top}
        for node_id in order:
            for dep in upstream[node_id]:
                downstream[dep].append(node_id)
        return NodeConnections(
            upstream={k: NodeIdList(tuple(v)) for k, v in upstream.items()},
            downstream={k: NodeIdList(tuple(v)) for k, v in downstream.items()},
            order=tuple(order),
        )

    @staticmethod
    def _cycle(graph: Any, top: list[Node]) -> str:
        import rustworkx

        for position, node in enumerate(top):
            if graph.has_edge(position, position):
                return f"{_label(node)} depends on its own output (a cycle)"
        cycle = rustworkx.digraph_find_cycle(graph)
        names = " -> ".join(top[graph[a]].id for a, _ in cycle)
        return f"the nodes form a cycle: {names} -> {top[graph[cycle[0][0]]].id}"

    def compile(self) -> CompiledWorkflow:
        self.collect()
        for node in self.template.nodes:
            self.check_node(node)
        if self.template.failure_node is not None:
            self.check_failure_node(self.template.failure_node)
        iface = self.template.interface or TypedInterface()
        bound = set()
        for binding in self.template.outputs:
            var = iface.output(binding.var)
            if var is None:
                self.problem(f"binds output {binding.var!r}, which its interface does not declare")
                continue
            bound.add(binding.var)
            self.check_binding(binding.binding, var.type, f"output {binding.var!r}")
        for var in iface.outputs:
            if var.name not in bound:
                self.problem(f"output {var.name!r} is never bound: return a value for it")
        connections = self.connect()
        return CompiledWorkflow(self.template, connections)


def _render(outputs: dict[str, LiteralType]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in outputs.items()) + "}" if outputs else "no outputs"


def _promise_sources(data: BindingData | None) -> set[str]:
    if data is None:
        return set()
    match data.kind:
        case "promise":
            return {data.value.node_id}
        case "collection":
            return set().union(*(_promise_sources(b) for b in data.value.bindings))
        case "map":
            return set().union(*(_promise_sources(b) for b in data.value.bindings.values()))
    return set()


def _condition_sources(expression: BooleanExpression | None) -> set[str]:
    if expression is None:
        return set()
    if expression.kind == "conjunction":
        return _condition_sources(expression.value.left) | _condition_sources(expression.value.right)
    return {o.value.node_id for o in (expression.value.left, expression.value.right)
            if o is not None and o.kind == "promise"}


def compile_workflow(
    template: WorkflowTemplate,
    tasks: Mapping[Identifier, TaskTemplate],
    workflows: Mapping[Identifier, WorkflowTemplate] | None = None,
    launch_plans: Mapping[Identifier, LaunchPlanInterface] | None = None,
) -> CompiledWorkflowClosure:
    """Checks ``template`` and every subworkflow it reaches; raises CompilationError listing
    every problem, or returns the closure with connections and a topological order."""
    entities = _Entities(tasks, workflows or {}, launch_plans or {})
    problems: list[str] = []
    primary = _WorkflowCompiler(template, entities)
    compiled_primary = primary.compile()
    problems += primary.problems
    compiled_subs: dict[Identifier, CompiledWorkflow] = {}
    pending = set(entities.used_workflows)
    while pending:
        wf_id = pending.pop()
        if wf_id in compiled_subs or wf_id not in entities.workflows:
            continue
        sub = _WorkflowCompiler(entities.workflows[wf_id], entities)
        compiled_subs[wf_id] = sub.compile()
        problems += sub.problems
        pending |= entities.used_workflows - compiled_subs.keys()
    if problems:
        raise CompilationError(list(dict.fromkeys(problems)))
    return CompiledWorkflowClosure(
        primary=compiled_primary,
        sub_workflows=tuple(compiled_subs[k] for k in sorted(compiled_subs, key=str)),
        tasks=tuple(CompiledTask(entities.tasks[k]) for k in sorted(entities.used_tasks, key=str)),
        launch_plans=tuple(sorted(entities.used_launch_plans, key=str)),
    )
