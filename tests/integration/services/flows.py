"""Tasks, workflows and launch plans the service tests register."""

from __future__ import annotations

from datetime import timedelta

from wingspan import LaunchPlan, task, wait_for_input, workflow


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def double(x: int) -> int:
    return 2 * x


@task
def shout(text: str) -> str:
    return text.upper()


@workflow
def pipeline(x: int, y: int = 3) -> int:
    return double(x=add(a=x, b=y))


@workflow
def inner(x: int) -> int:
    return double(x=x)


@workflow
def outer(x: int = 1) -> int:
    return inner(x=inner(x=x))


@workflow
def gated(x: int) -> int:
    factor = wait_for_input("factor", timeout=timedelta(hours=1), expected_type=int)
    return add(a=x, b=factor)


pipeline_plan = LaunchPlan.get_or_create(pipeline, name="pipeline_plan", default_inputs={"y": 10})
fixed_plan = LaunchPlan.get_or_create(pipeline, name="fixed_plan", fixed_inputs={"y": 5})
