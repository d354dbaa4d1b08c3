"""register sends every reachable entity under one version, callees first."""

from __future__ import annotations

import functools

from wingspan import LaunchPlan, map_task, task, workflow
from wingspan._registration.plan import plan_registration
from wingspan.core.model.interface import ResourceType


@task
def double(x: int) -> int:
    return 2 * x


@task
def add(a: int, b: int) -> int:
    return a + b


@workflow
def inner(x: int) -> int:
    return double(x=x)


@workflow
def outer(x: int) -> list[int]:
    doubled = map_task(functools.partial(add, b=1))(a=[x, x])
    return [inner(x=x), add(a=doubled[0], b=1)]


plan_of_outer = LaunchPlan.get_or_create(outer, name="registration_outer", default_inputs={"x": 2})


def test_everything_reachable_is_registered_under_one_version() -> None:
    plan = plan_registration([plan_of_outer], project="p", domain="development", version="v1",
                             bundle_uri="s3://b/bundle.tar.gz")
    names = {task_id.name for task_id, _ in plan.tasks}
    assert names == {"test_sdk_registration.double", "test_sdk_registration.add"}
    for task_id, template in plan.tasks:
        assert (task_id.project, task_id.domain, task_id.version) == ("p", "development", "v1")
        assert task_id.resource_type == ResourceType.TASK and template.id == task_id
        assert template.code is not None and template.code.bundle_uri == "s3://b/bundle.tar.gz"
    assert [wf_id.name for wf_id, _, _ in plan.workflows] == [
        "test_sdk_registration.inner", "test_sdk_registration.outer"]
    outer_id, outer_template, subs = plan.workflows[1]
    assert outer_template.id == outer_id and outer_id.version == "v1"
    assert [sub.id.name if sub.id else None for sub in subs] == ["test_sdk_registration.inner"]
    (lp_id, spec), = plan.launch_plans
    assert lp_id.name == "registration_outer" and lp_id.resource_type == ResourceType.LAUNCH_PLAN
    assert spec.workflow_id == outer_id
    assert plan.size == 5


def test_the_same_entities_give_the_same_plan() -> None:
    first = plan_registration([outer, inner], project="p", domain="d", version="v")
    second = plan_registration([inner, outer, double], project="p", domain="d", version="v")
    assert first.tasks == second.tasks and first.workflows == second.workflows


plan_of_inner = LaunchPlan.get_or_create(inner, name="registration_inner", default_inputs={"x": 3})


@workflow
def via_plans(x: int) -> list[int]:
    # a launch plan of this module, called directly and from a subworkflow
    return [plan_of_inner(x=x), outer(x=x)[0]]


@workflow
def outer_via_plan(x: int) -> int:
    return plan_of_inner(x=x)


@workflow
def calls_a_subworkflow_that_calls_a_plan(x: int) -> int:
    return outer_via_plan(x=x)


def test_a_workflow_is_registered_after_the_launch_plans_it_calls() -> None:
    plan = plan_registration([via_plans, calls_a_subworkflow_that_calls_a_plan], project="p", domain="d",
                             version="v")
    sent: list[str] = []
    for workflows, launch_plans in plan.stages():
        sent += [wf_id.name for wf_id, _, _ in workflows] + [lp_id.name for lp_id, _ in launch_plans]
    for caller in ["test_sdk_registration.via_plans", "test_sdk_registration.outer_via_plan",
                   "test_sdk_registration.calls_a_subworkflow_that_calls_a_plan"]:
        assert sent.index("registration_inner") < sent.index(caller), sent
    assert sent.index("test_sdk_registration.inner") < sent.index("registration_inner")
    assert sorted(sent) == sorted([wf_id.name for wf_id, _, _ in plan.workflows] +
                                  [lp_id.name for lp_id, _ in plan.launch_plans])
