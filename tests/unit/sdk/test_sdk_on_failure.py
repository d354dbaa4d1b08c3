# workflow bodies return promises, typed as what they stand for
# mypy: disable-error-code="no-any-return"
"""``on_failure`` (issue #22 item 17): a workflow that fails runs its handler with its inputs
and the error, then fails as it would have; a handler that does not fit is refused at
definition, naming the input."""

from __future__ import annotations

import pytest

from wingspan import Workflow, WorkflowFailure, task, workflow
from wingspan._runner.run import run_workflow_entity
from wingspan.core.compiler import compile_workflow
from wingspan.core.errors import CompilationError, ExecutionFailedError
from wingspan.core.model.execution import NodePhase, WorkflowPhase
from wingspan.core.model.record import replace
from wingspan.core.model.workflows import Binding, BindingData, OutputReference

told: list[tuple[str, WorkflowFailure | None]] = []


@task
def clean_up(name: str, err: WorkflowFailure | None = None) -> None:
    told.append((name, err))


@task
def fail_if(name: str, fail: bool) -> str:
    if fail:
        raise ValueError(f"no luck for {name}")
    return name.upper()


@workflow(on_failure=clean_up)
def guarded(name: str, fail: bool = True) -> str:
    first = fail_if(name=name, fail=False)
    return fail_if(name=first, fail=fail)


@pytest.fixture(autouse=True)
def fresh() -> None:
    told.clear()


def test_the_handler_runs_with_the_inputs_and_the_error_then_the_workflow_fails() -> None:
    with pytest.raises(ExecutionFailedError, match=r"at node 'n1'.*no luck for ADA"):
        guarded(name="ada")
    ((name, err),) = told
    assert name == "ada"
    assert isinstance(err, WorkflowFailure)
    assert err.failed_node_id == "n1" and "no luck for ADA" in err.message


def test_a_workflow_that_succeeds_never_runs_it() -> None:
    assert guarded(name="ada", fail=False) == "ADA"
    assert told == []


def test_the_handler_is_a_node_of_the_run_and_its_own_failure_changes_nothing() -> None:
    @task
    def broken_handler(err: WorkflowFailure) -> None:
        raise RuntimeError("the handler broke too")

    @workflow(on_failure=broken_handler)
    def doomed(name: str) -> str:
        return fail_if(name=name, fail=True)

    result = run_workflow_entity(doomed, {"name": "x"})
    assert result.phase == WorkflowPhase.FAILED
    assert result.error is not None and result.error.node_id == "n0"
    assert "no luck for x" in result.error.message
    phases = [(e.node_id, e.phase) for e in result.events if e.kind == "node"]
    assert ("on-failure", NodePhase.FAILED) in phases
    # the handler ran after the failing node ended
    assert phases.index(("n0", NodePhase.FAILED)) < phases.index(("on-failure", NodePhase.RUNNING))


def test_a_subworkflow_runs_its_own_handler() -> None:
    @workflow
    def outer(name: str) -> str:
        return guarded(name=name)

    with pytest.raises(ExecutionFailedError):
        outer(name="bo")
    assert [n for n, _ in told] == ["bo"]


def test_a_built_workflow_takes_a_handler() -> None:
    wb = Workflow("built_guarded")
    name = wb.add_workflow_input("name", str)
    node = wb.add_entity(fail_if, name=name, fail=True)
    wb.add_workflow_output("o0", node.outputs["o0"])
    wb.add_on_failure_handler(clean_up)
    with pytest.raises(ExecutionFailedError):
        wb(name="cy")
    assert [n for n, _ in told] == ["cy"]


def test_handlers_that_do_not_fit_are_refused_at_definition() -> None:
    @task
    def wants_more(name: str, other: int) -> None: ...

    @task
    def wrong_type(name: int) -> None: ...

    with pytest.raises(CompilationError, match=r"on_failure handler .*wants_more', input 'other' \(int\) "
                                               r"is neither an input of the workflow nor the error"):
        @workflow(on_failure=wants_more)
        def one(name: str) -> None:
            fail_if(name=name, fail=True)

    with pytest.raises(CompilationError, match=r"input 'name' expects int but got .* of type str"):
        @workflow(on_failure=wrong_type)
        def two(name: str) -> None:
            fail_if(name=name, fail=True)

    with pytest.raises(CompilationError, match="on_failure takes a task or workflow, not builtin_function"):
        @workflow(on_failure=print)
        def three(name: str) -> None:
            fail_if(name=name, fail=True)


def test_the_compiler_keeps_a_failure_node_off_other_nodes_outputs() -> None:
    # a hand-made template (as a server may be sent): the handler may not use node n0
    template = guarded.template
    assert template.failure_node is not None
    bad = replace(template.failure_node, inputs=(
        Binding("name", BindingData("promise", OutputReference("n0", "o0"))),))
    from wingspan._authoring.workflow import templates_of

    with pytest.raises(CompilationError, match=r"the failure handler .* may use only the workflow's inputs "
                                               r"and the error, not nodes \['n0'\]"):
        compile_workflow(replace(template, failure_node=bad), *templates_of(guarded.entities))


def test_the_handler_may_be_a_workflow() -> None:
    @workflow
    def clean_up_flow(name: str, err: WorkflowFailure | None = None) -> None:
        clean_up(name=name, err=err)

    @workflow(on_failure=clean_up_flow)
    def guarded_by_a_flow(name: str) -> str:
        return fail_if(name=name, fail=True)

    with pytest.raises(ExecutionFailedError):
        guarded_by_a_flow(name="di")
    ((name, err),) = told
    assert name == "di" and err is not None and err.failed_node_id == "n0"
