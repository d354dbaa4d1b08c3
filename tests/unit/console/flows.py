"""What the console's tests register: a workflow with a gate, a scheduled launch plan, typed inputs."""

from __future__ import annotations

import enum
from datetime import timedelta

from wingspan import CronSchedule, LaunchPlan, approve, task, workflow


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def paint(colour: Colour, times: int, tags: list[str], loud: bool = False) -> str:
    text = ",".join(tags) * times + colour.value
    return text.upper() if loud else text


@workflow
def chain(x: int, y: int = 3) -> int:
    return add(a=add(a=x, b=y), b=add(a=x, b=1))


@workflow
def reviewed(x: int) -> int:
    checked = approve(add(a=x, b=1), "review", timeout=timedelta(hours=1))
    return add(a=checked, b=100)


chain_plan = LaunchPlan.get_or_create(chain, name="chain_plan", default_inputs={"y": 10})
nightly = LaunchPlan.get_or_create(chain, name="nightly", default_inputs={"x": 1},
                                   schedule=CronSchedule("0 3 * * *"))
