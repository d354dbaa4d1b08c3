"""Remote against a live server on loopback: register code with its bundle, start executions
by object or by name, inspect and terminate them."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import pytest

from wingspan._remote import AsyncRemote
from wingspan._remote_sync import Remote
from wingspan.core.config import Settings
from wingspan.core.errors import NotFoundError, TypeTransformerError, UserError
from wingspan.core.model.execution import WorkflowPhase
from wingspan.server.serve import ApiServer

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0)
    async with ApiServer(settings, grace=2) as running:
        yield running


@pytest.fixture
async def remote(server: ApiServer) -> AsyncIterator[AsyncRemote]:
    client = AsyncRemote(server.grpc_address)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # one folder for the module: its files are imported as modules "remote_chain" and
    # "remote_subworkflow" (the examples' own names are taken by other tests)
    folder = tmp_path_factory.mktemp("remote") / "project"
    folder.mkdir()
    for name in ("chain.py", "subworkflow.py"):
        shutil.copy(EXAMPLES / name, folder / f"remote_{name}")
    (folder / ".gitignore").write_text("scratch/\n")
    (folder / "scratch").mkdir()
    (folder / "scratch" / "broken.py").write_text("raise RuntimeError('never imported')\n")
    return folder


async def test_register_a_folder_then_again_is_a_no_op(remote: AsyncRemote, project: Path) -> None:
    first = await remote.register(project)
    assert first == {"remote_chain.add": True, "remote_chain.double": True, "remote_chain.chain": True,
                     "remote_subworkflow.greet": True, "remote_subworkflow.shout": True,
                     "remote_subworkflow.greeting": True, "remote_subworkflow.two_greetings": True}
    again = await remote.register(project)
    assert set(again.values()) == {False}


async def test_execute_by_name_and_inspect(remote: AsyncRemote, project: Path) -> None:
    await remote.register(project)
    execution = await remote.execute("remote_chain.chain", {"x": 5}, name="run-one")
    assert execution.name == "run-one"
    assert execution.phase in (WorkflowPhase.QUEUED, WorkflowPhase.RUNNING)
    listed = await remote.list_executions()
    assert [e.name for e in listed] == ["run-one"]
    await remote.terminate(execution.id, "not needed")
    refreshed = await remote.execution(execution.id)
    assert refreshed.phase in (WorkflowPhase.ABORTED, WorkflowPhase.ABORTING)


async def test_inputs_are_checked_against_the_registered_interface(remote: AsyncRemote,
                                                                   project: Path) -> None:
    await remote.register(project)
    with pytest.raises(TypeTransformerError, match="'x': expected"):
        await remote.execute("remote_chain.chain", {"x": "five"})
    with pytest.raises(UserError, match=r"unknown inputs \['y'\]"):
        await remote.execute("remote_chain.chain", {"y": 1})
    with pytest.raises(NotFoundError, match=r"nothing named 'remote_chain\.nope'"):
        await remote.execute("remote_chain.nope", {})


async def test_the_synchronous_client(server: ApiServer, project: Path) -> None:
    def use() -> list[str]:
        with Remote(server.grpc_address) as client:
            client.register(project / "remote_chain.py")
            execution = client.execute("remote_chain.chain", {"x": 1})
            return [repr(execution), *(e.id.name for e in client.list_executions())]

    shown, *names = await anyio.to_thread.run_sync(use)
    assert shown.startswith("Execution(") and len(names) == 1


def test_a_bad_endpoint_is_refused_early() -> None:
    with pytest.raises(UserError, match="not host:port"):
        AsyncRemote("localhost")
