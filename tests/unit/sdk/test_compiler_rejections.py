"""The compiler rejects broken templates, naming the workflow, the node, the input and the types.

Templates are built by hand here (not traced through the SDK, which catches most of these
earlier), so each test reaches the compiler's own check.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from wingspan.core.compiler import compile_workflow
from wingspan.core.compiler.closure import LaunchPlanInterface
from wingspan.core.errors import CompilationError
from wingspan.core.model.interface import Identifier, ResourceType, TypedInterface, Variable
from wingspan.core.model.literals import Literal, LiteralType, SimpleType
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.model.workflows import (
    START_NODE,
    Binding,
    BindingData,
    BindingDataCollection,
    BooleanExpression,
    BranchNode,
    ComparisonExpression,
    ComparisonOperator,
    IfBlock,
    Node,
    NodeMetadata,
    Operand,
    OutputReference,
    TaskNode,
    WorkflowNode,
    WorkflowTemplate,
)

INT = LiteralType("simple", SimpleType.INTEGER)
STR = LiteralType("simple", SimpleType.STRING)
INC = Identifier(ResourceType.TASK, name="m.inc")
SHOUT = Identifier(ResourceType.TASK, name="m.shout")
TASKS = {
    INC: TaskTemplate(id=INC, type="python", interface=TypedInterface(
        (Variable("x", INT),), (Variable("o0", INT),), "single")),
    SHOUT: TaskTemplate(id=SHOUT, type="python", interface=TypedInterface(
        (Variable("text", STR),), (Variable("o0", STR),), "single")),
}


def ref(node_id: str, var: str = "o0") -> BindingData:
    return BindingData("promise", OutputReference(node_id, var))


def const(kind: str, value: object) -> BindingData:
    return BindingData("literal", Literal(kind, value))


def task_node(node_id: str, inputs: Mapping[str, BindingData], *, task: Identifier = INC,
              after: tuple[str, ...] = ()) -> Node:
    return Node(node_id, NodeMetadata(task.name.rsplit(".", 1)[-1]),
                tuple(Binding(k, v) for k, v in inputs.items()), after, "task_node", TaskNode(task))


def template(*nodes: Node, outputs: Mapping[str, BindingData] | None = None,
             name: str = "m.wf") -> WorkflowTemplate:
    bound = outputs if outputs is not None else {"o0": ref(nodes[-1].id)}
    return WorkflowTemplate(
        id=Identifier(ResourceType.WORKFLOW, name=name),
        interface=TypedInterface((Variable("x", INT),), (Variable("o0", INT),), "single"),
        nodes=nodes,
        outputs=tuple(Binding(k, v) for k, v in bound.items()),
    )


def problems_of(wf: WorkflowTemplate, **entities: object) -> list[str]:
    with pytest.raises(CompilationError) as caught:
        compile_workflow(wf, TASKS, **entities)  # type: ignore[arg-type]
    return caught.value.problems


def test_a_valid_template_compiles_with_its_order_and_upstream_lists() -> None:
    wf = template(task_node("a", {"x": ref(START_NODE, "x")}), task_node("b", {"x": ref("a")}),
                  task_node("c", {"x": const("integer", 1)}, after=("a",)))
    closure = compile_workflow(wf, TASKS)
    assert closure.primary is not None and closure.primary.connections is not None
    connections = closure.primary.connections
    assert connections.order == ("a", "b", "c")
    assert connections.upstream["b"].ids == ("a",)
    assert connections.upstream["c"].ids == ("a",)
    assert connections.downstream["a"].ids == ("b", "c")
    assert [t.template.id for t in closure.tasks if t.template] == [INC]


def test_a_cycle_through_upstream_node_ids_names_its_nodes() -> None:
    wf = template(task_node("a", {"x": ref(START_NODE, "x")}, after=("c",)),
                  task_node("b", {"x": ref("a")}), task_node("c", {"x": ref("b")}))
    (problem,) = problems_of(wf)
    assert problem == "workflow 'm.wf': the nodes form a cycle: a -> b -> c -> a"


def test_a_cycle_through_data_is_found_too() -> None:
    wf = template(task_node("a", {"x": ref("b")}), task_node("b", {"x": ref("a")}))
    (problem,) = problems_of(wf)
    assert problem in ("workflow 'm.wf': the nodes form a cycle: a -> b -> a",
                       "workflow 'm.wf': the nodes form a cycle: b -> a -> b")


def test_a_node_fed_by_its_own_output_is_a_cycle() -> None:
    (problem,) = problems_of(template(task_node("a", {"x": ref("a")})))
    assert problem == "workflow 'm.wf': node 'a' (inc) depends on its own output (a cycle)"


def test_an_input_bound_to_an_output_of_the_wrong_type_names_node_input_and_both_types() -> None:
    wf = template(task_node("a", {"x": ref(START_NODE, "x")}),
                  task_node("b", {"text": ref("a")}, task=SHOUT),
                  outputs={"o0": ref("a")})
    (problem,) = problems_of(wf)
    assert problem == ("workflow 'm.wf': node 'b' (shout), input 'text' expects string but is "
                       "bound to integer (output of node 'a' (inc) 'o0')")


def test_a_workflow_input_of_the_wrong_type_is_named_as_such() -> None:
    wf = template(task_node("b", {"text": ref(START_NODE, "x")}, task=SHOUT),
                  outputs={"o0": ref(START_NODE, "x")})
    (problem,) = problems_of(wf)
    assert "node 'b' (shout), input 'text' expects string but is bound to integer" in problem
    assert "(workflow input 'x')" in problem


def test_a_constant_of_the_wrong_kind_is_rejected() -> None:
    (problem,) = problems_of(template(task_node("a", {"x": const("string", "three")})))
    assert problem == ("workflow 'm.wf': node 'a' (inc), input 'x' expects integer but the "
                       "constant bound to it is a string")


def test_a_list_binding_checks_each_item() -> None:
    listing = BindingData("collection", BindingDataCollection((ref(START_NODE, "x"),)))
    (problem,) = problems_of(template(task_node("a", {"x": listing})))
    assert problem == "workflow 'm.wf': node 'a' (inc), input 'x' expects integer but is bound to a list"


def test_a_missing_required_input_is_named() -> None:
    (problem,) = problems_of(template(task_node("a", {})))
    assert problem == "workflow 'm.wf': node 'a' (inc) is missing required inputs ['x']"


def test_an_unknown_input_is_named_with_the_inputs_there_are() -> None:
    wf = template(task_node("a", {"x": ref(START_NODE, "x"), "y": const("integer", 1)}))
    (problem,) = problems_of(wf)
    assert problem == "workflow 'm.wf': node 'a' (inc) has no input 'y' (its inputs: ['x'])"


def test_an_input_bound_twice_is_rejected() -> None:
    node = Node("a", NodeMetadata("inc"), (Binding("x", ref(START_NODE, "x")),
                                          Binding("x", const("integer", 2))), (), "task_node",
                TaskNode(INC))
    (problem,) = problems_of(template(node))
    assert problem == "workflow 'm.wf': node 'a' (inc), input 'x' is bound twice"


def test_an_output_never_bound_is_named() -> None:
    (problem,) = problems_of(template(task_node("a", {"x": ref(START_NODE, "x")}), outputs={}))
    assert problem == "workflow 'm.wf': output 'o0' is never bound: return a value for it"


def test_an_output_the_interface_does_not_declare_is_rejected() -> None:
    wf = template(task_node("a", {"x": ref(START_NODE, "x")}),
                  outputs={"o0": ref("a"), "extra": ref("a")})
    (problem,) = problems_of(wf)
    assert problem == "workflow 'm.wf': binds output 'extra', which its interface does not declare"


def branch(then: Node, otherwise: Node) -> Node:
    condition = BooleanExpression("comparison", ComparisonExpression(
        ComparisonOperator.GT, Operand("promise", OutputReference(START_NODE, "x")),
        Operand("literal", Literal("integer", 0))))
    return Node("sign", NodeMetadata("sign"), (), (), "branch_node",
                BranchNode((IfBlock(condition, then),), "else_node", otherwise))


def test_arms_that_disagree_on_their_outputs_are_named_with_both_shapes() -> None:
    wf = template(branch(task_node("pos", {"x": ref(START_NODE, "x")}),
                         task_node("neg", {"text": const("string", "no")}, task=SHOUT)))
    (problem,) = problems_of(wf)
    assert problem == ("workflow 'm.wf': node 'sign' (sign): the arms of the conditional disagree "
                       "on their outputs: node 'pos' (inc) gives {o0: integer}, node 'neg' (shout) "
                       "gives {o0: string}")


def test_arms_that_agree_compile_and_the_branch_has_their_outputs() -> None:
    wf = template(branch(task_node("pos", {"x": ref(START_NODE, "x")}),
                         task_node("neg", {"x": const("integer", 0)})))
    closure = compile_workflow(wf, TASKS)
    assert closure.primary is not None and closure.primary.connections is not None
    assert closure.primary.connections.order == ("sign",)


def test_a_condition_comparing_different_types_is_rejected() -> None:
    condition = BooleanExpression("comparison", ComparisonExpression(
        ComparisonOperator.EQ, Operand("promise", OutputReference(START_NODE, "x")),
        Operand("promise", OutputReference("t", "o0"))))
    wf = template(task_node("t", {"text": const("string", "a")}, task=SHOUT),
                  Node("b", NodeMetadata("b"), (), (), "branch_node", BranchNode(
                      (IfBlock(condition, task_node("arm", {"x": ref(START_NODE, "x")})),),
                      "else_fail", "no")))
    (problem,) = problems_of(wf)
    assert problem == "workflow 'm.wf': node 'b' (b): a condition compares integer with string"


def test_a_reference_to_a_missing_node_is_reported_once() -> None:
    (problem,) = problems_of(template(task_node("a", {"x": ref("ghost")})))
    assert problem == ("workflow 'm.wf': node 'a' (inc), input 'x' refers to node 'ghost', "
                       "which does not exist")


def test_ordering_after_a_missing_node_is_reported() -> None:
    (problem,) = problems_of(template(task_node("a", {"x": ref(START_NODE, "x")}, after=("ghost",))))
    assert problem == "workflow 'm.wf': node 'a' (inc) runs after node 'ghost', which does not exist"


def test_a_missing_output_of_a_node_lists_the_available_ones() -> None:
    wf = template(task_node("a", {"x": ref(START_NODE, "x")}), task_node("b", {"x": ref("a", "total")}))
    (problem,) = problems_of(wf)
    assert problem == ("workflow 'm.wf': node 'b' (inc), input 'x' refers to 'total', which node 'a' "
                       "does not have (available: ['o0'])")


def test_an_unknown_task_is_reported_once_not_again_by_each_consumer() -> None:
    ghost = Identifier(ResourceType.TASK, name="m.ghost")
    wf = template(task_node("a", {"x": ref(START_NODE, "x")}, task=ghost), task_node("b", {"x": ref("a")}))
    (problem,) = problems_of(wf)
    assert problem == ("workflow 'm.wf': node 'a' (ghost) refers to task m.ghost, which is not known "
                       "(register it, or include it in the closure)")


def test_duplicate_node_ids_are_rejected() -> None:
    wf = template(task_node("a", {"x": ref(START_NODE, "x")}), task_node("a", {"x": ref(START_NODE, "x")}))
    assert "workflow 'm.wf': two nodes share the id 'a'" in problems_of(wf)


def test_every_problem_is_reported_at_once() -> None:
    wf = template(task_node("a", {}), task_node("b", {"text": ref(START_NODE, "x")}, task=SHOUT),
                  outputs={})
    problems = problems_of(wf)
    assert len(problems) == 3
    assert any("node 'a' (inc) is missing required inputs ['x']" in p for p in problems)
    assert any("node 'b' (shout), input 'text' expects string" in p for p in problems)
    assert any("output 'o0' is never bound" in p for p in problems)


def test_problems_in_a_subworkflow_name_the_subworkflow() -> None:
    sub = template(task_node("a", {}), name="m.sub")
    assert sub.id is not None
    caller = template(Node("call", NodeMetadata("sub"), (Binding("x", ref(START_NODE, "x")),), (),
                           "workflow_node", WorkflowNode("subworkflow_id", sub.id)))
    (problem,) = problems_of(caller, workflows={sub.id: sub})
    assert problem == "workflow 'm.sub': node 'a' (inc) is missing required inputs ['x']"


def test_a_fixed_launch_plan_input_cannot_be_set_by_the_caller() -> None:
    plan = Identifier(ResourceType.LAUNCH_PLAN, name="nightly")
    iface = LaunchPlanInterface(TypedInterface((Variable("x", INT), Variable("region", STR)),
                                               (Variable("o0", INT),), "single"),
                                fixed_inputs=frozenset({"region"}))
    caller = template(Node("lp", NodeMetadata("nightly"), (
        Binding("x", ref(START_NODE, "x")), Binding("region", const("string", "eu"))), (),
        "workflow_node", WorkflowNode("launch_plan_id", plan)))
    (problem,) = problems_of(caller, launch_plans={plan: iface})
    assert problem == ("workflow 'm.wf': node 'lp' (nightly), input 'region' is fixed by launch plan "
                       "nightly and cannot be set")
