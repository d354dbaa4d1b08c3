"""Issue #22 items 14-17 through a served run (`wingspan serve`'s server in this process, its
engine and warm workers): workflows built by calls, shell tasks, failure handlers, and the
refusal of eager workflows on a server."""

from __future__ import annotations

import os
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.remote.servers import api_server
from wingspan._remote.client import AsyncRemote
from wingspan.core.model.execution import WorkflowPhase

BUILT = """
    from wingspan import Workflow, task

    @task
    def double(a: int) -> int:
        return a * 2

    @task
    def total(xs: list[int]) -> int:
        return sum(xs)

    generated = Workflow("served_built.generated")
    x = generated.add_workflow_input("x", int)
    steps = [generated.add_entity(double, a=x)]
    for _ in range(3):
        steps.append(generated.add_entity(double, a=steps[-1].outputs["o0"]))
    summed = generated.add_entity(total, xs=[s.outputs["o0"] for s in steps])
    generated.add_workflow_output("last", steps[-1].outputs["o0"])
    generated.add_workflow_output("sum", summed.outputs["o0"])
"""

SHELL = """
    from pathlib import Path

    from wingspan import Directory, File, OutputLocation, ShellTask, kwtypes, task, workflow

    write = ShellTask(
        name="served_shell.write",
        script='''
        mkdir -p {outputs.folder}
        for i in $(seq {inputs.n}); do echo "line $i" >> {outputs.folder}/lines.txt; done
        tr a-z A-Z < {outputs.folder}/lines.txt > {outputs.loud}
        ''',
        inputs=kwtypes(n=int),
        output_locs=[OutputLocation("folder", Directory, "out"), OutputLocation("loud", File, "loud.txt")],
    )

    @task
    def read(folder: Directory, loud: File) -> list[str]:
        return [*(Path(folder.download()) / "lines.txt").read_text().split("\\n")[:1],
                Path(loud.download()).read_text().splitlines()[-1]]

    @workflow
    def lines(n: int) -> list[str]:
        folder, loud = write(n=n)
        return read(folder=folder, loud=loud)
"""

GUARDED = """
    from pathlib import Path

    from wingspan import WorkflowFailure, task, workflow

    @task
    def clean_up(report: str, err: WorkflowFailure | None = None) -> None:
        assert err is not None
        Path(report).write_text(f"{err.failed_node_id}|{err.message.splitlines()[0]}")

    @task
    def explode(report: str) -> int:
        raise ValueError("it broke")

    @workflow(on_failure=clean_up)
    def guarded(report: str) -> int:
        return explode(report=report)
"""

EAGER = """
    import asyncio

    from wingspan import eager, task, workflow
    from wingspan.core.errors import ExecutionFailedError

    @task
    def add_one(x: int) -> int:
        return x + 1

    @task
    def double(x: int) -> int:
        return x * 2

    @eager
    async def branching(x: int) -> int:
        y = await add_one(x=x)
        if y > 10:
            return await double(x=y)
        return sum(await asyncio.gather(*(add_one(x=i) for i in range(y))))

    @task
    def fragile(x: int) -> int:
        if x < 0:
            raise ValueError(f"negative: {x}")
        return x

    @eager
    async def careful(x: int) -> str:
        try:
            return str(await fragile(x=x))
        except ExecutionFailedError as failed:
            assert "ValueError: negative: -2" in str(failed)
            return f"{failed.node_id} failed; then {await fragile(x=-x)}"

    @workflow
    def add_then_double(x: int) -> int:
        return double(x=add_one(x=x))

    @eager
    async def awaits_a_workflow(x: int) -> int:
        return await add_then_double(x=await add_then_double(x=x))

    @eager
    async def countdown(n: int) -> int:
        # each level a body waiting on the next: more levels than the host has CPUs
        if n == 0:
            return await add_one(x=0)
        return await countdown(n=n - 1) + 1
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("built") / "project"
    folder.mkdir()
    (folder / "served_built.py").write_text(textwrap.dedent(BUILT))
    (folder / "served_shell.py").write_text(textwrap.dedent(SHELL))
    (folder / "served_guarded.py").write_text(textwrap.dedent(GUARDED))
    (folder / "served_eager.py").write_text(textwrap.dedent(EAGER))
    return folder


@pytest.fixture
async def remote(tmp_path: Path, project: Path) -> AsyncIterator[AsyncRemote]:
    async with api_server(tmp_path / "home", engine=True) as server:
        client = AsyncRemote(server.grpc_address)
        try:
            await client.register(project)
            yield client
        finally:
            await client.aclose()


async def test_a_built_workflow_runs_on_the_server(remote: AsyncRemote) -> None:
    run = await remote.execute("served_built.generated", {"x": 1}, wait=True, timeout=60)
    assert run.phase == WorkflowPhase.SUCCEEDED, run.error
    assert await run.outputs() == {"last": 16, "sum": 30}


async def test_a_shell_task_runs_in_the_servers_workers(remote: AsyncRemote) -> None:
    run = await remote.execute("served_shell.lines", {"n": 3}, wait=True, timeout=60)
    assert run.phase == WorkflowPhase.SUCCEEDED, run.error
    assert await run.outputs() == {"o0": ["line 1", "LINE 3"]}


async def test_a_failure_handler_runs_on_the_server(remote: AsyncRemote, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    run = await remote.execute("served_guarded.guarded", {"report": str(report)}, wait=True, timeout=60)
    assert run.phase == WorkflowPhase.FAILED
    assert "it broke" in (run.error or "")
    assert report.read_text() == "n0|ValueError: it broke"


async def test_an_eager_workflow_runs_on_the_server_each_task_a_node(remote: AsyncRemote) -> None:
    big = await remote.execute("served_eager.branching", {"x": 20}, wait=True, timeout=60)
    assert big.phase == WorkflowPhase.SUCCEEDED, big.error
    assert await big.outputs() == {"o0": 42}
    small = await remote.execute("served_eager.branching", {"x": 3}, wait=True, timeout=60)
    assert small.phase == WorkflowPhase.SUCCEEDED, small.error
    assert await small.outputs() == {"o0": 1 + 2 + 3 + 4}
    # the eager node, and each task its body awaited as a child node of it
    phases = {n["node"]: n["phase"] for n in await remote.nodes(small)}
    assert phases == {"n0": "SUCCEEDED", **{f"n0/add_one-{i}": "SUCCEEDED" for i in range(5)}}


async def test_a_failed_task_raises_in_an_eager_body_on_the_server(remote: AsyncRemote) -> None:
    run = await remote.execute("served_eager.careful", {"x": -2}, wait=True, timeout=60)
    assert run.phase == WorkflowPhase.SUCCEEDED, run.error
    assert await run.outputs() == {"o0": "n0/fragile-0 failed; then 2"}
    phases = {n["node"]: n["phase"] for n in await remote.nodes(run)}
    assert phases == {"n0": "SUCCEEDED", "n0/fragile-0": "FAILED", "n0/fragile-1": "SUCCEEDED"}


async def test_eager_bodies_nest_deeper_than_the_host_has_cpus(remote: AsyncRemote) -> None:
    levels = (os.cpu_count() or 1) + 1
    run = await remote.execute("served_eager.countdown", {"n": levels}, wait=True, timeout=60)
    assert run.phase == WorkflowPhase.SUCCEEDED, run.error
    assert await run.outputs() == {"o0": levels + 1}
    deepest = "n0" + "/countdown-0" * levels + "/add_one-0"
    assert deepest in {n["node"] for n in await remote.nodes(run)}


async def test_an_eager_body_awaits_a_workflow_on_the_server(remote: AsyncRemote) -> None:
    run = await remote.execute("served_eager.awaits_a_workflow", {"x": 1}, wait=True, timeout=60)
    assert run.phase == WorkflowPhase.SUCCEEDED, run.error
    assert await run.outputs() == {"o0": ((1 + 1) * 2 + 1) * 2}
    phases = {n["node"]: n["phase"] for n in await remote.nodes(run)}
    assert phases["n0/add_then_double-1"] == "SUCCEEDED"
