"""``Workflow("name")``: workflows built by calls (issue #22 item 14), run locally, used as
subworkflows, found by discovery; mistakes refused with the name of what was wrong."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from wingspan import Workflow, task, workflow
from wingspan._registration.discovery import load_entities
from wingspan.core.errors import CompilationError
from wingspan.core.model.workflows import FailurePolicy


@task
def double(a: int) -> int:
    return a * 2


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def greet(name: str) -> str:
    return f"hello {name}"


@task
def record(seen: list[str], item: str) -> None:
    seen.append(item)


def chain_of(length: int) -> Workflow:
    """What code generates: a chain of ``length`` doublings and the sum of every step."""
    wb = Workflow(f"chain_{length}")
    x = wb.add_workflow_input("x", int)
    nodes = [wb.add_entity(double, a=x)]
    for _ in range(length - 1):
        nodes.append(wb.add_task(double, a=nodes[-1].outputs["o0"]))
    summed = wb.add_entity(total, xs=[n.outputs["o0"] for n in nodes])
    wb.add_workflow_output("last", nodes[-1].outputs["o0"])
    wb.add_workflow_output("sum", summed.outputs["o0"])
    return wb


def test_a_generated_chain_runs_through_the_engine() -> None:
    wb = chain_of(4)
    assert wb(x=1) == (16, 30)
    assert [n.id for n in wb.nodes] == ["n0", "n1", "n2", "n3", "n4"]
    assert wb.interface.outputs == {"last": int, "sum": int}


def test_nodes_added_after_a_run_are_part_of_the_next() -> None:
    wb = Workflow("growing")
    x = wb.add_workflow_input("x", int)
    first = wb.add_entity(double, a=x)
    wb.add_workflow_output("o0", first.outputs["o0"])
    assert wb(x=3) == 6
    second = wb.add_entity(double, a=first.outputs["o0"])
    wb.add_workflow_output("o1", second.outputs["o0"])
    assert wb(x=3) == (6, 12)


def test_a_built_workflow_is_a_subworkflow_of_a_decorated_one() -> None:
    inner = chain_of(2)

    @workflow
    def outer(x: int) -> int:
        last, summed = inner(x=x)
        result: int = total(xs=[last, summed])
        return result

    assert outer(x=1) == 4 + 6
    assert inner.id in outer.entities


def test_constants_and_ordering_without_data() -> None:
    wb = Workflow("ordered")
    one = wb.add_entity(greet, name="ada")
    two = wb.add_entity(greet, name="grace")
    one >> two
    wb.add_workflow_output("first", one.outputs["o0"])
    assert wb() == "hello ada"
    assert "n0" in wb.template.nodes[1].upstream_node_ids


def test_discovery_finds_a_built_workflow_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "built_flows_mod.py"
    path.write_text(textwrap.dedent("""
        from wingspan import Workflow, task

        @task
        def inc(x: int) -> int:
            return x + 1

        wb = Workflow("built_flows_mod.generated")
        x = wb.add_workflow_input("x", int)
        wb.add_workflow_output("o0", wb.add_entity(inc, x=x).outputs["o0"])
    """))
    try:
        found = load_entities(path)
    finally:
        sys.modules.pop("built_flows_mod", None)
    assert set(found) == {"built_flows_mod.inc", "built_flows_mod.generated"}
    assert found["built_flows_mod.generated"](x=1) == 2


def test_mistakes_name_the_workflow_and_what_to_do() -> None:
    wb = Workflow("careful")
    x = wb.add_workflow_input("x", int)
    with pytest.raises(CompilationError, match="'careful' already has an input named 'x'"):
        wb.add_workflow_input("x", str)
    with pytest.raises(CompilationError, match="must be a Python identifier"):
        wb.add_workflow_input("not a name", int)
    def undecorated(a: int) -> int:
        return a

    with pytest.raises(CompilationError, match=r"takes a task, workflow or launch plan, not function.*@task"):
        wb.add_entity(undecorated, a=x)
    with pytest.raises(TypeError, match="has no input 'b'"):
        wb.add_entity(double, b=x)
    with pytest.raises(CompilationError, match=r"input 'a' expects int but got .* of type str"):
        wb.add_entity(double, a=wb.add_workflow_input("name", str))
    with pytest.raises(CompilationError, match="input 'a' is required but not given"):
        wb.add_entity(double)
    node = wb.add_entity(double, a=x)
    with pytest.raises(CompilationError, match=r"needs its type: .*python_type=list"):
        wb.add_workflow_output("both", [node.outputs["o0"], x])
    with pytest.raises(CompilationError, match="needs a non-empty str"):
        Workflow("")
    with pytest.raises(CompilationError, match="failure_policy='sometimes' is not one of"):
        Workflow("w", failure_policy="sometimes")


def test_a_list_output_with_its_type() -> None:
    wb = Workflow("listed")
    x = wb.add_workflow_input("x", int)
    a, b = wb.add_entity(double, a=x), wb.add_entity(double, a=3)
    wb.add_workflow_output("both", [a.outputs["o0"], b.outputs["o0"]], python_type=list[int])
    assert wb(x=1) == [2, 6]


def test_a_node_takes_overrides() -> None:
    wb = Workflow("overridden")
    x = wb.add_workflow_input("x", int)
    node = wb.add_entity(double, a=x).with_overrides(name="twice", retries=2)
    wb.add_workflow_output("o0", node.outputs["o0"])
    (model,) = wb.template.nodes
    assert model.metadata is not None and (model.metadata.name, model.metadata.retries) == ("twice", 2)
    assert wb(x=4) == 8


def test_flytekits_capital_failure_policy_is_read_as_ours() -> None:
    @workflow(failure_policy="FAIL_AFTER_EXECUTABLE_NODES_COMPLETE")
    def patient(a: int) -> int:
        doubled: int = double(a=a)  # a promise while the body is traced
        return doubled

    built = Workflow("built_patient", failure_policy="FAIL_AFTER_EXECUTABLE_NODES_COMPLETE")
    doubled = built.add_entity(double, a=built.add_workflow_input("a", int))
    built.add_workflow_output("out", doubled.outputs["o0"])
    for made in (patient, built):
        assert made.template.metadata is not None
        assert made.template.metadata.failure_policy == FailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
