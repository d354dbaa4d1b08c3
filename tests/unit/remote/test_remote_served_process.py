"""Issue #22 items 14-17 against `wingspan serve` as a real process: each run with
`wingspan run --remote`, and an eager run's nodes read over both transports."""

from __future__ import annotations

import json
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.unit.api.served import run_remote, served_at_home
from wingspan._remote.client import AsyncRemote
from wingspan.core.model.execution import WorkflowPhase

FLOWS = """
    import asyncio
    from pathlib import Path

    from wingspan import (File, OutputLocation, ShellTask, Workflow, WorkflowFailure, eager, kwtypes,
                          task, workflow)

    @task
    def add_one(x: int) -> int:
        return x + 1

    @eager
    async def fan(n: int) -> int:
        return sum(await asyncio.gather(*(add_one(x=i) for i in range(n))))

    built = Workflow("served_flows.built")
    x = built.add_workflow_input("x", int)
    built.add_workflow_output("o0", built.add_entity(add_one, x=built.add_entity(add_one, x=x).outputs["o0"])
                              .outputs["o0"])

    shout = ShellTask(name="served_flows.shout", script="echo hello {inputs.who} | tr a-z A-Z > {outputs.o}",
                      inputs=kwtypes(who=str), output_locs=[OutputLocation("o", File, "loud.txt")])

    @task
    def read(f: File) -> str:
        return Path(f.download()).read_text().strip()

    @workflow
    def shouted(who: str) -> str:
        return read(f=shout(who=who))

    @task
    def note(report: str, err: WorkflowFailure | None = None) -> None:
        Path(report).write_text(err.failed_node_id if err else "no error")

    @task
    def explode(report: str) -> None:
        raise ValueError("boom")

    @workflow(on_failure=note)
    def guarded(report: str) -> None:
        explode(report=report)
"""


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    async with served_at_home(tmp_path / "home") as answer:
        yield answer


async def test_the_four_items_through_wingspan_serve(served: tuple[str, str], tmp_path: Path) -> None:
    http_url, endpoint = served
    flows = tmp_path / "project" / "served_flows.py"
    flows.parent.mkdir()
    flows.write_text(textwrap.dedent(FLOWS))
    code, out, err = await run_remote(endpoint, flows, "fan", "--n", "4")
    assert (code, out) == (0, "10"), err
    code, out, err = await run_remote(endpoint, flows, "served_flows.built", "--x", "1")
    assert (code, out) == (0, "3"), err
    code, out, err = await run_remote(endpoint, flows, "shouted", "--who", "ada")
    assert (code, out) == (0, "HELLO ADA"), err
    report = tmp_path / "report.txt"
    code, out, err = await run_remote(endpoint, flows, "guarded", "--report", str(report))
    assert code != 0 and "boom" in err
    assert report.read_text() == "n0"

    # the eager run's nodes, over gRPC and over HTTP alike
    remote = AsyncRemote(endpoint)
    try:
        fan = await remote.execute("served_flows.fan", {"n": 4}, wait=True, timeout=60)
        assert fan.phase == WorkflowPhase.SUCCEEDED, fan.error
        grpc_nodes = {n["node"] for n in await remote.nodes(fan)}
    finally:
        await remote.aclose()
    assert grpc_nodes == {"n0", *(f"n0/add_one-{i}" for i in range(4))}
    async with httpx.AsyncClient(base_url=http_url) as client:
        answer = await client.post("/api/v1/ListNodeExecutions", content=json.dumps({
            "executionId": {"project": "default", "domain": "development", "name": fan.name},
            "parentNodeId": "n0", "limit": 100}), headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    children = {n["id"]["nodeId"] for n in answer.json()["nodeExecutions"]}
    assert children == {f"n0/add_one-{i}" for i in range(4)}
