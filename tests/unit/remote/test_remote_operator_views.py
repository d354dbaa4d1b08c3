"""What an operator reads about a run on a server whose engine runs it (issue #25, item 5):
node names in `execution show`, the log link of an attempt while it runs, and a retried
attempt's exception in its log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from tests.unit.remote.servers import api_server
from wingspan._remote.client import AsyncRemote
from wingspan.cli import cli
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.interface import ExecutionId
from wingspan.protos import v1
from wingspan.server.serve import ApiServer

FLOWS = '''
import os
import time
from wingspan import current_context, task, workflow

@task
def waits(path: str) -> str:
    print("ready", flush=True)
    deadline = time.time() + 30
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)
    return "released" if os.path.exists(path) else "nobody came"

@task
def shout(text: str) -> str:
    return text.upper()

@workflow
def waiting(path: str) -> str:
    return shout(text=waits(path=path))

@task(retries=1)
def flaky(x: int) -> int:
    if current_context().attempt == 0:
        raise ValueError("the first try fails on purpose")
    return x

@workflow
def retried(x: int) -> int:
    return flaky(x=x)
'''


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # one folder for the module: it is imported as the module "operator_views" once
    folder = tmp_path_factory.mktemp("operator-views") / "code"
    folder.mkdir()
    (folder / "operator_views.py").write_text(FLOWS)
    return folder


@pytest.fixture
async def served(code: Path, tmp_path: Path) -> AsyncIterator[tuple[ApiServer, AsyncRemote]]:
    async with api_server(tmp_path / "home", engine=True) as server:
        client = AsyncRemote(server.grpc_address)
        try:
            await client.register(code)
            yield server, client
        finally:
            await client.aclose()


async def _attempt(client: AsyncRemote, execution: ExecutionId, node: str) -> v1.TaskExecution | None:
    answer = await client.transport.call("list_task_executions", v1.ListTaskExecutionsRequest(
        node_execution_id=v1.NodeExecutionId(execution_id=v1.ExecutionId(
            project=execution.project, domain=execution.domain, name=execution.name), node_id=node),
        limit=10), "list attempts")
    return answer.task_executions[0] if answer.task_executions else None


async def test_a_running_attempt_shows_its_log_link_and_nodes_show_their_names(
        served: tuple[ApiServer, AsyncRemote], tmp_path: Path) -> None:
    server, client = served
    release = tmp_path / "release"
    run = await client.execute("operator_views.waiting", {"path": str(release)})
    with anyio.fail_after(60):
        async for chunk in client.logs(run, "n0", follow=True):
            if b"ready" in chunk.data:
                break
    # the attempt runs until released: its task events so far are RUNNING ones
    attempt = await _attempt(client, run.id, "n0")
    assert attempt is not None and attempt.closure is not None
    assert TaskPhase(int(attempt.closure.phase)) == TaskPhase.RUNNING
    links = {log.name: log.uri for log in attempt.closure.logs}  # it had none until the attempt ended
    assert links.keys() == {"stdout+stderr"} and links["stdout+stderr"].endswith(".log")
    release.write_text("go")
    await run.wait(timeout=60)
    assert await run.outputs() == {"o0": "RELEASED"}

    names = [(row["node"], row["name"]) for row in await client.nodes(run)]
    assert names == [("n0", "waits"), ("n1", "shout")]  # the names were empty
    shown = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(
        cli, ["execution", "show", run.name, "--endpoint", server.grpc_address]))
    assert shown.exit_code == 0, shown.output
    assert "waits" in shown.output and "shout" in shown.output


async def test_a_retried_attempts_exception_is_in_its_log(served: tuple[ApiServer, AsyncRemote]) -> None:
    _, client = served
    run = await client.execute("operator_views.retried", {"x": 4})
    await run.wait(timeout=60)
    assert await run.outputs() == {"o0": 4}
    first = b"".join([chunk.data async for chunk in client.logs(run, "n0", attempt=0)]).decode()
    assert "ValueError: the first try fails on purpose" in first and "Traceback" in first, first
