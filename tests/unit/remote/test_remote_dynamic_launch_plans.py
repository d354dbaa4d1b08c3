"""A launch plan called inside a @dynamic body, run by `wingspan serve`: the plan is not in the
registered closure (the graph is made at run time), so the server loads it when the graph comes.
Also one awaited in an eager body (its workflow runs as a child node)."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.api.served import run_remote, served_at_home

FLOWS = """
    import asyncio

    from wingspan import LaunchPlan, dynamic, eager, task, workflow

    @task
    def double(x: int) -> int:
        return 2 * x

    @workflow
    def doubled(x: int) -> int:
        return double(x=x)

    doubled_plan = LaunchPlan.get_or_create(doubled, name="doubled_plan")

    @dynamic
    def fan(n: int) -> list[int]:
        return [doubled_plan(x=i) for i in range(n)]

    @workflow
    def fanned(n: int) -> list[int]:
        return fan(n=n)

    @dynamic
    def fans(n: int) -> list[list[int]]:
        return [fan(n=i) for i in range(n)]

    @workflow
    def nested(n: int) -> list[list[int]]:
        return fans(n=n)

    @eager
    async def gathered(n: int) -> int:
        return sum(await asyncio.gather(*(doubled_plan(x=i) for i in range(n))))
"""


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    async with served_at_home(tmp_path / "home") as answer:
        yield answer


async def test_a_launch_plan_called_in_a_dynamic_body_runs_on_the_server(
        served: tuple[str, str], tmp_path: Path) -> None:
    _, endpoint = served
    flows = tmp_path / "project" / "dynamic_plans.py"
    flows.parent.mkdir()
    flows.write_text(textwrap.dedent(FLOWS))
    code, out, err = await run_remote(endpoint, flows, "fanned", "--n", "3")
    assert (code, out) == (0, "[0, 2, 4]"), err
    code, out, err = await run_remote(endpoint, flows, "nested", "--n", "3")  # a dynamic made by a dynamic
    assert (code, out) == (0, "[[], [0], [0, 2]]"), err
    code, out, err = await run_remote(endpoint, flows, "gathered", "--n", "3")  # awaited in an eager body
    assert (code, out) == (0, "6"), err
