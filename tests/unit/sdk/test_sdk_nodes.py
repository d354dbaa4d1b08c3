# workflow bodies return promises, which the SDK types as Any
# mypy: disable-error-code="no-any-return"
"""Every node kind's compiled form: subworkflows, launch plans, branches, maps, dynamic
tasks, gates and container tasks; and launch plans' defaults, fixed inputs and settings."""

from __future__ import annotations

import functools
import typing
from datetime import datetime, timedelta

import pytest

from wingspan import (
    ConcurrencyPolicy,
    ContainerTask,
    CronSchedule,
    Email,
    FixedRate,
    LaunchPlan,
    Resources,
    Slack,
    Webhook,
    approve,
    conditional,
    dynamic,
    map_task,
    sleep,
    task,
    wait_for_input,
    workflow,
)
from wingspan._authoring.workflow import Workflow
from wingspan.core.errors import CompilationError, ExecutionFailedError
from wingspan.core.model import codec
from wingspan.core.model.interface import ResourceType
from wingspan.core.model.launch_plans import LaunchPlanSpec, WhenFull
from wingspan.core.model.workflows import (
    START_NODE,
    BindingData,
    ComparisonOperator,
    CompiledWorkflow,
    ConjunctionOperator,
    Node,
    OutputReference,
)


@task
def inc(x: int) -> int:
    return x + 1


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@task
def describe(x: int) -> str:
    return str(x)


@task
def flag(x: int) -> bool:
    return x > 0


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def note() -> None:
    pass


@workflow
def twice(x: int) -> int:
    return inc(x=inc(x=x))


@workflow
def report(day: datetime, region: str = "eu", copies: int = 1) -> str:
    return describe(x=copies)


def connections(wf: Workflow) -> dict[str, tuple[str, ...]]:
    assert wf.closure.primary is not None and wf.closure.primary.connections is not None
    return {k: v.ids for k, v in wf.closure.primary.connections.upstream.items()}


def promise(node_id: str, var: str = "o0") -> BindingData:
    return BindingData("promise", OutputReference(node_id, var))


def error_of(define: object) -> str:
    assert callable(define)
    with pytest.raises(CompilationError) as caught:
        define()
    return str(caught.value)


# ---- subworkflows ---------------------------------------------------------------------------


def test_a_workflow_called_in_a_workflow_is_a_subworkflow_node_in_the_closure() -> None:
    @workflow
    def outer(x: int) -> int:
        return twice(x=twice(x=x))

    first, second = outer.template.nodes
    assert first.kind == "workflow_node" and first.value.kind == "subworkflow_id"
    assert first.value.value == twice.id
    assert second.inputs[0].binding == promise("n0")
    subs = [s.template.id for s in outer.closure.sub_workflows if s.template]
    assert subs == [twice.id]
    assert [t.template.id.name for t in outer.closure.tasks if t.template and t.template.id] == [inc.name]


def test_a_subworkflows_compiled_form_has_its_own_connections() -> None:
    @workflow
    def outer(x: int) -> int:
        return twice(x=x)

    (sub,) = outer.closure.sub_workflows
    assert isinstance(sub, CompiledWorkflow) and sub.connections is not None
    assert sub.connections.order == ("n0", "n1")


# ---- launch plans ---------------------------------------------------------------------------

NIGHTLY = LaunchPlan.get_or_create(
    report, name="test_sdk_nodes.nightly", default_inputs={"region": "us"}, fixed_inputs={"copies": 3},
    schedule=CronSchedule("0 2 * * *", kickoff_time_input_arg="day", timezone="Europe/Paris"),
    notifications=[Email(recipients=["ops@example.com"], phases=["failed"]),
                   Slack(webhook_url="https://hooks.example.com/x"), Webhook(url="http://127.0.0.1:9/h")],
    max_parallelism=4, concurrency=ConcurrencyPolicy(max=1, when_full="skip"),
)


def test_a_launch_plan_called_in_a_workflow_is_a_launch_plan_node() -> None:
    @workflow
    def caller(day: datetime) -> str:
        return NIGHTLY(day=day)

    (node,) = caller.template.nodes
    assert node.kind == "workflow_node" and node.value.kind == "launch_plan_id"
    assert node.value.value == NIGHTLY.id and NIGHTLY.id.resource_type == ResourceType.LAUNCH_PLAN
    assert [i.var for i in node.inputs] == ["day"]  # defaults and fixed inputs stay with the plan
    assert caller.closure.launch_plans == (NIGHTLY.id,)


def test_overriding_a_fixed_input_is_a_clear_error() -> None:
    def define() -> None:
        @workflow
        def caller(day: datetime) -> str:
            return NIGHTLY(day=day, copies=5)

    with pytest.raises(TypeError) as caught:
        define()
    assert str(caught.value) == ("launch plan 'test_sdk_nodes.nightly' fixes inputs ['copies']; they "
                                 "cannot be overridden")


def test_a_default_input_may_be_overridden() -> None:
    @workflow
    def caller(day: datetime) -> str:
        return NIGHTLY(day=day, region="jp")

    (node,) = caller.template.nodes
    assert sorted(i.var for i in node.inputs) == ["day", "region"]


def test_a_launch_plan_still_needs_its_required_inputs() -> None:
    def define() -> None:
        @workflow
        def caller(day: datetime) -> str:
            return NIGHTLY(region="jp")

    assert error_of(define) == "launch plan 'test_sdk_nodes.nightly', input 'day' is required but not given"


def test_the_launch_plan_spec_holds_defaults_fixed_inputs_and_settings() -> None:
    spec = NIGHTLY.spec()
    assert spec.workflow_id == report.id
    assert spec.default_inputs is not None
    params = {p.variable.name: p for p in spec.default_inputs.parameters if p.variable}
    assert sorted(params) == ["day", "region"]  # a fixed input is not a parameter
    assert params["day"].required and params["day"].default is None
    region = params["region"].default
    assert not params["region"].required and region is not None and region.value == "us"
    assert spec.fixed_inputs is not None and spec.fixed_inputs.literals["copies"].value == 3
    assert spec.schedule is not None and spec.schedule.kind == "cron"
    assert (spec.schedule.value.expression, spec.schedule.value.timezone) == ("0 2 * * *", "Europe/Paris")
    assert spec.schedule.kickoff_time_input_arg == "day"
    assert [n.kind for n in spec.notifications] == ["email", "slack", "webhook"]
    assert spec.notifications[0].value.recipients == ("ops@example.com",)
    assert spec.max_parallelism == 4
    assert spec.concurrency is not None
    assert (spec.concurrency.max, spec.concurrency.when_full) == (1, WhenFull.SKIP)
    assert codec.decode(LaunchPlanSpec, codec.encode(spec)) == spec


def test_a_fixed_rate_schedule() -> None:
    plan = LaunchPlan.get_or_create(report, name="test_sdk_nodes.hourly",
                                    schedule=FixedRate(timedelta(hours=1)))
    schedule = plan.spec().schedule
    assert schedule is not None and schedule.kind == "rate" and schedule.value.interval == timedelta(hours=1)


def test_get_or_create_returns_the_same_plan_for_the_same_settings() -> None:
    again = LaunchPlan.get_or_create(
        report, name="test_sdk_nodes.nightly", default_inputs={"region": "us"}, fixed_inputs={"copies": 3},
        schedule=CronSchedule("0 2 * * *", kickoff_time_input_arg="day", timezone="Europe/Paris"),
        notifications=[Email(recipients=["ops@example.com"], phases=["failed"]),
                       Slack(webhook_url="https://hooks.example.com/x"), Webhook(url="http://127.0.0.1:9/h")],
        max_parallelism=4, concurrency=ConcurrencyPolicy(max=1, when_full="skip"),
    )
    assert again is NIGHTLY


def test_other_settings_under_an_existing_name_are_an_error() -> None:
    message = error_of(lambda: LaunchPlan.get_or_create(report, name="test_sdk_nodes.nightly"))
    assert message == ("launch plan 'test_sdk_nodes.nightly' already exists with other settings; give "
                       "this one another name")


def test_every_launch_plan_problem_is_reported_at_once() -> None:
    found = error_of(lambda: LaunchPlan.get_or_create(
        report, name="test_sdk_nodes.broken", default_inputs={"zone": 1, "region": 5},
        fixed_inputs={"region": "x"}, schedule=CronSchedule("every day", kickoff_time_input_arg="region"),
        notifications=[Email(["ops@example.com"], phases=["exploded"])],  # type: ignore[list-item]
        concurrency=ConcurrencyPolicy(max=0, when_full="later")))  # type: ignore[arg-type]
    for text in [
        "launch plan 'test_sdk_nodes.broken': default_inputs names 'zone', which workflow "
        "'test_sdk_nodes.report' does not take (inputs: day, region, copies)",
        "input 'region' is both a default and fixed; pick one",
        "default input 'region'",
        "CronSchedule('every day') is not a valid cron expression",
        "kickoff_time_input_arg 'region' must name a datetime input",
        "Email: phases ['exploded']",
        "ConcurrencyPolicy(max=0): max must be an int >= 1",
        "ConcurrencyPolicy(when_full='later'): one of wait, skip, replace",
    ]:
        assert text in found, (text, found)
    assert found.startswith("8 problems:")


def test_a_launch_plan_takes_only_a_workflow() -> None:
    message = error_of(lambda: LaunchPlan.get_or_create(inc, name="test_sdk_nodes.of_a_task"))  # type: ignore[arg-type]
    assert message.startswith("LaunchPlan.get_or_create takes a @workflow, not <task ")


# ---- branches -------------------------------------------------------------------------------


def test_a_conditional_compiles_to_a_branch_node_with_its_cases_and_else() -> None:
    @workflow
    def signed(x: int) -> str:
        return (conditional("sign")
                .if_((x > 0) & (x < 10)).then(describe(x=x))
                .elif_((x == 10) | (x != -1)).then(describe(x=x))
                .elif_(x >= 100).then(describe(x=x))
                .elif_(x <= -100).then(describe(x=x))
                .else_().then(describe(x=x)))

    (branch,) = signed.template.nodes
    assert branch.kind == "branch_node" and branch.metadata is not None
    assert branch.metadata.name == "sign"
    cases = branch.value.cases
    first = cases[0].condition
    assert first.kind == "conjunction" and first.value.operator == ConjunctionOperator.AND
    assert [first.value.left.value.operator, first.value.right.value.operator] == [
        ComparisonOperator.GT, ComparisonOperator.LT]
    second = cases[1].condition
    assert second.value.operator == ConjunctionOperator.OR
    assert [second.value.left.value.operator, second.value.right.value.operator] == [
        ComparisonOperator.EQ, ComparisonOperator.NEQ]
    assert [c.condition.value.operator for c in cases[2:]] == [ComparisonOperator.GTE,
                                                                ComparisonOperator.LTE]
    left = first.value.left.value.left
    assert left.kind == "promise" and left.value == OutputReference(START_NODE, "x")
    assert first.value.left.value.right.kind == "literal"
    assert [c.then_node.kind for c in cases] == ["task_node"] * 4
    assert branch.value.kind == "else_node" and branch.value.value.kind == "task_node"
    assert signed.template.outputs[0].binding == promise(branch.id)


def test_the_branch_outputs_feed_later_nodes_and_arms_depend_on_outer_nodes() -> None:
    @workflow
    def downstream(x: int) -> str:
        y = inc(x=x)
        picked = conditional("pick").if_(y > 0).then(twice(x=y)).else_().then(inc(x=y))
        return describe(x=picked)

    by_id = {n.id: n for n in downstream.template.nodes}
    assert list(by_id) == ["n0", "n1", "n4"]  # the arms n2, n3 live inside the branch
    assert connections(downstream) == {"n0": (), "n1": ("n0",), "n4": ("n1",)}
    assert by_id["n4"].inputs[0].binding == promise("n1")
    assert [s.template.id for s in downstream.closure.sub_workflows if s.template] == [twice.id]


def test_is_true_and_is_false_test_a_bool_promise() -> None:
    @workflow
    def flagged(x: int) -> int:
        positive = flag(x=x)
        return (conditional("flag").if_(positive.is_true()).then(inc(x=x))
                .elif_(positive.is_false()).then(inc(x=0)).else_().fail("unreachable"))

    branch = flagged.template.nodes[1]
    for case, expected in zip(branch.value.cases, [True, False], strict=True):
        comparison = case.condition.value
        assert comparison.operator == ComparisonOperator.EQ
        assert comparison.right.kind == "literal" and comparison.right.value.value is expected
    assert branch.value.kind == "else_fail" and branch.value.value == "unreachable"


@task
def maybe_small(x: int) -> int | None:
    return x if x < 3 else None


def test_is_none_branches_on_an_optional_output() -> None:
    @workflow
    def by_size(x: int) -> int:
        small = maybe_small(x=x)
        return conditional("none").if_(small.is_none()).then(inc(x=x)).else_().then(scale(x=x, factor=10))

    assert by_size(x=5) == 6
    assert by_size(x=2) == 20


def test_is_none_on_a_promise_that_is_never_none_is_refused() -> None:
    def define() -> None:
        @workflow
        def wrong(x: int) -> int:
            return conditional("c").if_(x.is_none()).then(inc(x=x)).else_().fail("no")  # type: ignore[attr-defined]

    assert error_of(define).startswith("Promise(start.x: int).is_none(): is_none() tests an Optional promise")


def test_is_true_on_a_non_bool_promise_says_to_compare_instead() -> None:
    def define() -> None:
        @workflow
        def wrong(x: int) -> int:
            return conditional("c").if_(x.is_true()).then(inc(x=x)).else_().fail("no")  # type: ignore[attr-defined]

    assert error_of(define) == ("Promise(start.x: int).is_true(): is_true() tests a bool promise, but "
                                "this one is int; compare it instead, e.g. x > 0 or x == 'done'")


def test_a_condition_constant_of_the_wrong_type_is_named() -> None:
    def define() -> None:
        @workflow
        def wrong(x: int) -> int:
            return conditional("c").if_(x > "ten").then(inc(x=x)).else_().fail("no")  # type: ignore[operator]

    assert error_of(define) == ("a condition compares Promise(start.x: int) with the constant 'ten', "
                                "which does not fit int (expected int, got str 'ten')")


def test_arms_that_disagree_on_outputs_are_rejected() -> None:
    def define() -> None:
        @workflow
        def mixed(x: int) -> int:
            return conditional("mixed").if_(x > 0).then(inc(x=x)).else_().then(describe(x=x))

    message = error_of(define)
    assert "node 'n0' (mixed): the arms of the conditional disagree on their outputs" in message
    assert "node 'n1' (inc) gives {o0: int}, node 'n2' (describe) gives {o0: str}" in message


@pytest.mark.parametrize(("body", "expected"), [
    (lambda x: conditional("c").if_(x > 0).then(inc(x=inc(x=x))),
     "each arm must call exactly one task or workflow (this one called 2 nodes)"),
    (lambda x: conditional("c").if_(x > 0).then(3),
     "each arm must call exactly one task or workflow (this one called no task or workflow)"),
    (lambda x: conditional("c").if_(x), "is not a condition: compare a promise, e.g. x > 0"),
    (lambda x: conditional("c").if_((x > 0) and (x < 5)), "combine conditions with & and |"),
    (lambda x: conditional("c").if_(x > 0).then(inc(x=x)),
     "conditional 'c' has no outputs until it ends: finish it with .else_().then(...)"),
    (lambda x: conditional("c").elif_(x > 0), "conditional 'c': start with if_"),
    (lambda x: conditional("c").if_(x > 0), "a conditional's case was left without .then(...)"),
])
def test_conditional_mistakes_say_what_to_write(body: object, expected: str) -> None:
    assert callable(body)

    def define() -> None:
        @workflow
        def wrong(x: int) -> int:
            return body(x)

    assert expected in error_of(define)


def test_a_conditional_outside_a_workflow_is_an_error() -> None:
    assert error_of(lambda: conditional("c")) == "conditional('c') works only inside a @workflow body"


# ---- maps -----------------------------------------------------------------------------------


def test_map_task_is_an_array_node_over_its_list_inputs() -> None:
    @workflow
    def mapped(xs: list[int], factor: int = 2) -> int:
        return total(xs=map_task(functools.partial(scale, factor=factor), concurrency=3)(x=xs))

    node = mapped.template.nodes[0]
    assert node.kind == "array_node" and node.metadata is not None
    assert node.metadata.name == "map scale"
    array = node.value
    assert (array.parallelism, array.min_success_ratio, array.mapped_inputs) == (3, 1.0, ("x",))
    assert array.node.kind == "task_node" and array.node.value.task_id == scale.id
    inputs = {b.var: b.binding for b in node.inputs}
    assert inputs["x"] == promise(START_NODE, "xs") and inputs["factor"] == promise(START_NODE, "factor")
    assert [t.template.id for t in mapped.closure.tasks if t.template] == sorted(
        [scale.id, total.id], key=str)


def test_a_map_below_full_success_yields_optional_items() -> None:
    @workflow
    def lenient(xs: list[int]) -> list[int | None]:
        return map_task(functools.partial(scale, factor=2), min_success_ratio=0.5)(x=xs)

    assert lenient.template.nodes[0].value.min_success_ratio == 0.5


def test_every_map_task_problem_is_reported_at_once() -> None:
    message = error_of(lambda: map_task(functools.partial(scale, bogus=1), concurrency=0,
                                        min_success_ratio=2))
    assert message == (f"3 problems:\n  - map_task({scale.name}): concurrency must be an int >= 1\n"
                       f"  - map_task({scale.name}): min_success_ratio must be in [0, 1]\n"
                       f"  - map_task({scale.name}): partial binds ['bogus'], which are not inputs")


def test_map_task_needs_lists_for_its_mapped_inputs() -> None:
    def define() -> None:
        @workflow
        def scalar(x: int) -> list[int]:
            return map_task(functools.partial(scale, factor=2))(x=x)

    assert error_of(define) == (f"map task '{scale.name}', input 'x' expects list[int] but got "
                                "Promise(start.x: int) of type int")


def test_map_task_takes_a_task() -> None:
    assert error_of(lambda: map_task(twice)).startswith("map_task takes a @task")
    assert "bind unmapped inputs by name" in error_of(lambda: map_task(functools.partial(scale, 1)))


# ---- dynamic --------------------------------------------------------------------------------


@dynamic
def squares(n: int) -> int:
    return total(xs=[inc(x=i) for i in range(n)])


def test_a_dynamic_task_is_a_task_node_of_type_dynamic() -> None:
    @workflow
    def fan(n: int) -> int:
        return squares(n=n)

    (node,) = fan.template.nodes
    assert node.kind == "task_node" and node.value.task_id == squares.id
    (compiled,) = fan.closure.tasks
    assert compiled.template is not None and compiled.template.type == "dynamic"


def test_a_dynamic_task_builds_its_graph_from_actual_values() -> None:
    spec, entities = squares.build({"n": 3})
    assert [n.id for n in spec.nodes] == ["n0", "n1", "n2", "n3"]
    assert spec.nodes[0].inputs[0].binding is not None
    assert spec.nodes[0].inputs[0].binding.value.value == 0
    assert spec.connections is not None and spec.connections.upstream["n3"].ids == ("n0", "n1", "n2")
    assert spec.outputs[0].binding == promise("n3")
    assert set(entities) == {inc.id, total.id}


# ---- gates ----------------------------------------------------------------------------------


def test_gates_compile_to_gate_nodes() -> None:
    @workflow
    def gated(x: int) -> int:
        y = inc(x=x)
        approved = approve(y, "looks-right", timeout=timedelta(hours=1))
        extra = wait_for_input("extra", timeout=60, expected_type=int)
        pause = sleep(timedelta(seconds=3))
        after = inc(x=approved)
        pause >> after
        return scale(x=after, factor=extra)

    by_id = {n.id: n for n in gated.template.nodes}
    approve_node, signal_node, sleep_node = by_id["n1"], by_id["n2"], by_id["n3"]
    assert approve_node.kind == "gate_node" and approve_node.value.kind == "approve"
    assert approve_node.value.value.signal_id == "looks-right"
    assert approve_node.value.timeout == timedelta(hours=1)
    assert approve_node.inputs[0].binding == promise("n0")
    assert signal_node.value.kind == "signal" and signal_node.value.value.signal_id == "extra"
    assert signal_node.value.timeout == timedelta(seconds=60)
    assert sleep_node.value.kind == "sleep" and sleep_node.value.value.duration == timedelta(seconds=3)
    assert by_id["n4"].inputs[0].binding == promise("n1")
    assert connections(gated)["n4"] == ("n1", "n3")
    assert connections(gated)["n5"] == ("n2", "n4")


def test_an_approved_value_keeps_its_type() -> None:
    def define() -> None:
        @workflow
        def gated(x: int) -> str:
            return describe(x=approve(describe(x=x), "ok"))

    assert "expects int but got Promise(n1.o0: str) of type str" in error_of(define)


def test_a_signal_has_the_expected_type() -> None:
    def define() -> None:
        @workflow
        def gated(x: int) -> int:
            return inc(x=wait_for_input("name", expected_type=str))

    assert "expects int but got Promise(n0.o0: str) of type str" in error_of(define)


# a type variable: no type at all, refused even by the pickle fallback
Unknown = typing.TypeVar("Unknown")


@pytest.mark.parametrize(("make", "expected"), [
    (lambda: sleep(-1), "sleep(): give a timedelta >= 0 (or seconds), not "),
    (lambda: approve(3, "ok"), "approve(..., 'ok') takes the promise to approve, not int"),
    (lambda: wait_for_input("n", expected_type=Unknown),
     "wait_for_input('n'): type ~Unknown is not supported"),
    (lambda: wait_for_input(""), "wait_for_input() needs a signal name"),
])
def test_gate_mistakes_are_clear(make: object, expected: str) -> None:
    assert callable(make)

    def define() -> None:
        @workflow
        def gated(x: int) -> None:
            make()

    assert expected in error_of(define)


def test_gates_work_only_in_a_workflow() -> None:
    assert error_of(lambda: sleep(3)) == "sleep() works only inside a @workflow body"


# ---- container tasks ------------------------------------------------------------------------

COUNT = ContainerTask("test_sdk_nodes.count", "alpine:3", ["sh", "-c", "echo {{.inputs.x}}"],
                      inputs={"x": int}, outputs={"lines": int})


def test_a_container_task_is_a_task_node_with_its_template_in_the_closure() -> None:
    @workflow
    def counted(x: int) -> int:
        return COUNT(x=x)

    (node,) = counted.template.nodes
    assert node.kind == "task_node" and node.value.task_id == COUNT.id
    (compiled,) = counted.closure.tasks
    assert compiled.template is not None and compiled.template.type == "container"
    assert counted.template.outputs[0].binding == promise("n0", "lines")


def test_a_node_without_outputs_can_be_ordered_but_not_returned() -> None:
    @workflow
    def ordered(x: int) -> int:
        first = note()
        result = inc(x=x)
        first >> result
        return result

    nodes: dict[str, Node] = {n.id: n for n in ordered.template.nodes}
    assert nodes["n1"].upstream_node_ids == ("n0",)


def test_overriding_a_fixed_input_in_a_direct_call_fails_before_running() -> None:
    with pytest.raises(TypeError, match=r"fixes inputs \['copies'\]; they cannot be overridden"):
        NIGHTLY(day=datetime(2026, 1, 1), copies=5)


def test_notifications_take_their_target_first_and_check_it() -> None:
    assert Email(["ops@example.com"]).recipients == ["ops@example.com"]
    assert Slack("https://hooks.example.com/x").webhook_url == "https://hooks.example.com/x"
    assert Webhook("http://127.0.0.1:9/h", phases=["failed"]).url == "http://127.0.0.1:9/h"
    assert Email("ops@example.com").problems() == [
        "Email(recipients='ops@example.com'): give a list of addresses, e.g. Email(['ops@example.com'])"]
    assert Email(["x@example.com"], phases="failed").problems() == [  # type: ignore[arg-type]
        "Email: phases must be a list, e.g. phases=['failed'], not a str"]
    assert Slack().problems() == ["Slack needs the webhook_url of the channel"]
    assert Webhook().problems() == ["Webhook needs a url to post to"]


def test_resources_overridden_on_a_map_apply_to_each_item() -> None:
    @workflow
    def heavy(xs: list[int]) -> list[int]:
        return map_task(functools.partial(scale, factor=2))(x=xs).with_overrides(
            requests=Resources(mem="2Gi"), retries=1)

    node = heavy.template.nodes[0]
    assert node.metadata is not None and node.metadata.retries == 1
    overrides = node.value.node.value.overrides
    assert overrides is not None and overrides.resources.requests.memory == "2Gi"


@task
def positive(x: int) -> int:
    return x


def test_a_conditional_on_values_in_a_dynamic_body_says_to_use_if() -> None:
    @dynamic
    def branchy(x: int) -> int:
        decided: typing.Any = x > 0  # a value here: the dynamic body's inputs are values
        return conditional("d").if_(decided).then(positive(x=x)).else_().fail("negative")

    @workflow
    def outer(x: int) -> int:
        return branchy(x=x)

    with pytest.raises(ExecutionFailedError, match=r"inputs are plain values\); use Python.s if"):
        outer(x=2)
