"""Remote against a live server on loopback: register code with its bundle, start executions
by object or by name, inspect and terminate them."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from tests.unit.remote.servers import api_server
from wingspan._remote.client import AsyncRemote
from wingspan._remote.sync import Remote
from wingspan.core.errors import FailedPreconditionError, NotFoundError, TypeTransformerError, UserError
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.interface import ResourceType
from wingspan.server.serve import ApiServer

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    async with api_server(tmp_path / "home") as running:
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
    assert set(again.values()) == {False} and again.version == first.version


async def test_registering_unchanged_code_uploads_nothing(server: ApiServer, remote: AsyncRemote,
                                                          project: Path) -> None:
    from wingspan.core.model import codec
    from wingspan.core.model.interface import Identifier
    from wingspan.protos import v1


    first = await remote.register(project)
    task_id = Identifier(ResourceType.TASK, "default", "development", "remote_chain.add", first.version)
    found = await remote.transport.call("get_task", v1.GetEntityRequest(id=codec.to_proto(task_id)), "get")
    bundle = codec.from_proto(found.template).code.bundle_uri
    assert await server.admin.store.exists(bundle)
    await server.admin.store.delete(bundle)  # gone: only a new upload would bring it back
    await remote.register(project)
    assert not await server.admin.store.exists(bundle)
    await remote.register(project, version="other")  # another version: uploaded for it
    assert await server.admin.store.exists(bundle)


async def test_execute_by_name_and_inspect(remote: AsyncRemote, project: Path) -> None:
    await remote.register(project)
    execution = await remote.execute("remote_chain.chain", {"x": 5}, name="run-one")
    assert execution.name == "run-one" and execution.entity.startswith("remote_chain.chain:")
    assert execution.phase in (WorkflowPhase.QUEUED, WorkflowPhase.RUNNING, WorkflowPhase.SUCCEEDED)
    listed = await remote.list_executions()
    assert [e.name for e in listed] == ["run-one"]
    assert (await remote.execution("run-one")).id == execution.id


async def test_execute_by_name_takes_the_latest_version_from_its_listing(remote: AsyncRemote,
                                                                       project: Path) -> None:
    # the listing carries the entity whole: getting it again cost the server a second encoding
    # of its closure for every execution started by name
    await remote.register(project, version="v1")
    await remote.register(project, version="v2")
    methods: list[str] = []
    call = remote.transport.call

    async def recorded(method: str, request: Any, what: str) -> Any:
        methods.append(method)
        return await call(method, request, what)

    remote.transport.call = recorded  # type: ignore[method-assign]
    execution = await remote.execute("remote_chain.chain", {"x": 5})
    assert execution.entity == "remote_chain.chain:v2"
    assert "get_workflow" not in methods and methods.count("list_workflows") == 1, methods


async def test_execute_reads_the_new_execution_from_the_creates_answer(remote: AsyncRemote,
                                                                        project: Path) -> None:
    # a GetExecution after each create cost the server a third of the gets of a started-and-waited
    # execution
    await remote.register(project)
    methods: list[str] = []
    call = remote.transport.call

    async def recorded(method: str, request: Any, what: str) -> Any:
        methods.append(method)
        return await call(method, request, what)

    remote.transport.call = recorded  # type: ignore[method-assign]
    execution = await remote.execute("remote_chain.chain", {"x": 5}, name="from-answer")
    assert methods[-1] == "create_execution" and "get_execution" not in methods, methods
    assert execution.name == "from-answer" and execution.entity.startswith("remote_chain.chain:")
    assert execution.phase == WorkflowPhase.QUEUED and execution.created_at is not None
    assert not execution.archived and execution.settings == (await remote.execution("from-answer")).settings


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


GATED = ("from wingspan import task, wait_for_input, workflow\n\n"
         "@task\ndef plus(a: int, b: int) -> int:\n    return a + b\n\n"
         "@workflow\ndef held(x: int) -> int:\n"
         "    return plus(a=x, b=wait_for_input('more', expected_type=int))\n")


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # one folder for the module: a module name is imported once per process
    folder = tmp_path_factory.mktemp("gated") / "gated"
    folder.mkdir()
    (folder / "remote_held.py").write_text(GATED)
    return folder


async def test_waiting_past_the_timeout_names_the_execution_and_its_phase(remote: AsyncRemote,
                                                                          gated: Path) -> None:
    await remote.register(gated)
    execution = await remote.execute("remote_held.held", {"x": 1}, name="held-run")
    with pytest.raises(TimeoutError, match=r"execution held-run did not end within 0.3 s; it is "
                                           r"(QUEUED|RUNNING)"):
        await execution.wait(timeout=0.3)


async def test_outputs_of_an_execution_that_did_not_succeed_say_why(remote: AsyncRemote, gated: Path) -> None:
    await remote.register(gated)
    execution = await remote.execute("remote_held.held", {"x": 1}, name="stopped-run")
    await remote.terminate("stopped-run", "not needed", force=True)
    with pytest.raises(FailedPreconditionError, match="execution stopped-run has no outputs: it is ABORTED"):
        await execution.outputs()
    ended = await execution.wait(timeout=10)
    assert ended.phase == WorkflowPhase.ABORTED


async def test_relaunch_and_recover_start_new_executions(remote: AsyncRemote, gated: Path) -> None:
    registered = await remote.register(gated, version="v7")
    assert registered.version == "v7" and registered == {"remote_held.plus": True, "remote_held.held": True}
    first = await remote.execute("remote_held.held", {"x": 2}, name="first-run")
    again = await remote.relaunch(first, name="second-run")
    assert again.name == "second-run" and again.phase in (WorkflowPhase.QUEUED, WorkflowPhase.RUNNING)
    await remote.terminate(first.id, "ending it for recover", force=True)
    recovered = await remote.recover("first-run")
    assert recovered.name not in ("first-run", "second-run")
    names = {e.name for e in await remote.list_executions()}
    assert {"first-run", "second-run", recovered.name} <= names
    with pytest.raises(NotFoundError, match="nope"):
        await remote.relaunch("nope")


async def test_outputs_as_python_values_of_a_run_followed_to_its_end(project: Path, tmp_path: Path) -> None:
    from wingspan._registration.discovery import load_entities

    chain = load_entities(project / "remote_chain.py")["remote_chain.chain"]
    async with api_server(tmp_path / "home", engine=True) as server:
        client = AsyncRemote(server.grpc_address)
        try:
            await client.register(project)
            by_object = await client.execute(chain, {"x": 5}, wait=True, timeout=60)
            assert (by_object.phase, await by_object.outputs()) == (WorkflowPhase.SUCCEEDED, {"o0": 24})
            by_name = await client.execute("remote_subworkflow.two_greetings", {"first": "ada"})
            await by_name.wait(timeout=60)
            assert await by_name.outputs() == {"o0": ["HELLO ADA!", "HELLO GRACE!"]}
        finally:
            await client.aclose()


async def test_code_in_a_package_runs_under_its_module_names(tmp_path: Path) -> None:
    package = tmp_path / "project" / "remote_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "steps.py").write_text("from wingspan import task\n\n"
                                      "@task\ndef inc(x: int) -> int:\n    return x + 1\n")
    (package / "flows.py").write_text("from wingspan import workflow\nfrom remote_pkg.steps import inc\n\n"
                                      "@workflow\ndef twice(x: int) -> int:\n    return inc(x=inc(x=x))\n")
    async with api_server(tmp_path / "home", engine=True) as server:
        # a file of the package, from a client in its own process (this one never imports the
        # package, so the server's workers can import it only from the bundle)
        done = await anyio.run_process(
            [sys.executable, "-m", "wingspan.cli", "run", "--remote", str(package / "flows.py"), "twice",
             "--x", "1", "--endpoint", server.grpc_address], check=False)
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout.decode().strip() == "3"
        # the package folder itself: its modules, under the same names
        client = AsyncRemote(server.grpc_address)
        try:
            assert set(await client.register(package)) == {"remote_pkg.steps.inc", "remote_pkg.flows.twice"}
        finally:
            await client.aclose()


FILES = ("from wingspan import File, task, workflow\n\n"
         "@task\ndef size(source: File) -> int:\n    return len(open(source.download()).read())\n\n"
         "@task\ndef sizes(sources: list[File]) -> list[int]:\n"
         "    return [len(open(s.download()).read()) for s in sources]\n\n"
         "@workflow\ndef measure(source: File) -> int:\n    return size(source=source)\n\n"
         "@workflow\ndef measure_all(sources: list[File]) -> list[int]:\n    return sizes(sources=sources)\n")


async def test_local_files_given_as_inputs_go_to_the_server_first(tmp_path: Path) -> None:
    from wingspan._registration.discovery import load_entities
    from wingspan.core.types.files import Directory, File

    code = tmp_path / "code"
    code.mkdir()
    (code / "remote_files.py").write_text(FILES)
    short, longer = tmp_path / "short.txt", tmp_path / "longer.txt"
    short.write_text("abc")
    longer.write_text("abcdefgh")
    entities = load_entities(code / "remote_files.py")
    async with api_server(tmp_path / "home", engine=True) as server:
        client = AsyncRemote(server.grpc_address)
        try:
            await client.register(code)
            # by name, a path; by object, File objects, in a list too
            by_name = await client.execute("remote_files.measure", {"source": str(short)}, wait=True,
                                           timeout=60)
            assert (by_name.error, await by_name.outputs()) == ("", {"o0": 3})
            by_object = await client.execute(entities["remote_files.measure_all"],
                                             {"sources": [File(str(short)), File(str(longer))]},
                                             wait=True, timeout=60)
            assert (by_object.error, await by_object.outputs()) == ("", {"o0": [3, 8]})
            with pytest.raises(UserError, match="cannot take the local folder"):
                await client.execute("remote_files.measure", {"source": Directory(str(tmp_path))})
            with pytest.raises(UserError, match=r"no file .*nope\.txt to upload"):
                await client.execute("remote_files.measure", {"source": str(tmp_path / "nope.txt")})
        finally:
            await client.aclose()


async def test_a_script_that_never_closes_its_remote_still_exits(server: ApiServer) -> None:
    script = (f"from wingspan import Remote\nremote = Remote({server.grpc_address!r})\n"
              "print(len(remote.list_projects()))\n")
    with anyio.fail_after(60):  # it hung for ever: the client's loop thread kept the process alive
        done = await anyio.run_process([sys.executable, "-W", "error", "-c", script], check=False)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, b"1", b"")


async def test_a_remote_used_synchronously_then_through_aio_in_asyncio_run(server: ApiServer) -> None:
    script = (f"import asyncio\nfrom wingspan import Remote\nremote = Remote({server.grpc_address!r})\n"
              "print(len(remote.list_projects()))\n"
              "async def main():\n"
              "    print(len(await remote.aio.list_projects()))\n"
              "    await remote.aio.aclose()\n"
              "asyncio.run(main())\n"
              "print(len(remote.list_projects()))\nremote.close()\n")
    with anyio.fail_after(60):  # it hung: the gRPC channel of the sync loop was used on asyncio.run's
        done = await anyio.run_process([sys.executable, "-W", "error", "-c", script], check=False)
    assert (done.returncode, done.stdout.split(), done.stderr) == (0, [b"1", b"1", b"1"], b"")


async def test_a_scheduled_launch_plan_started_without_its_kickoff_input_is_refused(
        remote: AsyncRemote, tmp_path: Path) -> None:
    folder = tmp_path / "kickoff"
    folder.mkdir()
    (folder / "kickoff_flows.py").write_text(
        "from datetime import datetime\nfrom wingspan import CronSchedule, LaunchPlan, task, workflow\n\n"
        "@task\ndef stamp(t: datetime) -> str:\n    return t.isoformat()\n\n"
        "@workflow\ndef daily(t: datetime) -> str:\n    return stamp(t=t)\n\n"
        "nightly = LaunchPlan.get_or_create(daily, name='kickoff_flows.nightly',\n"
        "    schedule=CronSchedule('0 3 * * *', kickoff_time_input_arg='t'))\n")
    await remote.register(folder)
    # it was created, and failed at the node with KeyError 't'
    with pytest.raises(UserError, match=r"'t' is the schedule's kickoff time, .* give it \(a datetime\)"):
        await remote.execute("kickoff_flows.nightly", {})
    assert await remote.list_executions() == []
    given = await remote.execute("kickoff_flows.nightly", {"t": datetime(2026, 1, 1, tzinfo=UTC)})
    assert given.phase == WorkflowPhase.QUEUED
