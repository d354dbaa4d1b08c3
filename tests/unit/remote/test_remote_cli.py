"""wingspan register / get / execution terminate against a live server."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.to_thread
import pytest
from click.testing import CliRunner, Result

from tests.unit.remote.servers import api_server
from wingspan.cli import cli
from wingspan.server.serve import ApiServer

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    async with api_server(tmp_path / "home") as running:
        yield running


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-remote") / "code"
    folder.mkdir()
    # a module name of its own: the examples are imported under their names elsewhere
    shutil.copy(EXAMPLES / "diamond.py", folder / "cli_diamond.py")
    return folder


GATES = ("from datetime import timedelta\n"
         "from wingspan import approve, task, wait_for_input, workflow\n\n"
         "@task\ndef double(x: int) -> int:\n    return 2 * x\n\n"
         "@workflow\ndef reviewed(x: int) -> int:\n"
         "    extra = wait_for_input('extra', expected_type=int)\n"
         "    return double(x=approve(double(x=extra), 'ok'))\n")


@pytest.fixture(scope="module")
def gates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # runs of this workflow wait for their signals: they stay running for as long as a test needs
    folder = tmp_path_factory.mktemp("cli-signals") / "gates"
    folder.mkdir()
    (folder / "gates_example.py").write_text(GATES)
    return folder


async def start(server: ApiServer, entity: str, inputs: dict[str, object], name: str) -> str:
    from wingspan._remote.client import AsyncRemote

    client = AsyncRemote(server.grpc_address)
    try:
        return (await client.execute(entity, inputs, name=name)).name
    finally:
        await client.aclose()


async def wingspan(server: ApiServer, *args: str) -> Result:
    # the command's client blocks; the server runs on this loop, so the command runs in a thread
    return await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(cli, [*args, "--endpoint", server.grpc_address]))


async def test_register_get_and_terminate(server: ApiServer, code: Path, gates: Path) -> None:
    registered = await wingspan(server, "register", str(code), "--version", "v1")
    assert registered.exit_code == 0, registered.output
    assert "registered 4 entities in default/development: 4 new, 0 unchanged" in registered.output
    again = await wingspan(server, "register", str(code), "--version", "v1")
    assert "0 new, 4 unchanged" in again.output

    workflows = await wingspan(server, "get", "workflows", "-o", "json")
    assert [row["name"] for row in json.loads(workflows.output)] == ["cli_diamond.diamond"]
    versions = await wingspan(server, "get", "tasks", "cli_diamond.mean", "-o", "yaml")
    assert "version: v1" in versions.output
    projects = await wingspan(server, "get", "projects")
    assert "default" in projects.output

    started = await start(server, "cli_diamond.diamond", {"values": [1, 2]}, "cli-run")
    listed = await wingspan(server, "get", "executions", "-o", "json")
    row = json.loads(listed.output)[0]
    assert row["name"] == started
    assert row["entity"] == "cli_diamond.diamond:v1" and row["created"].startswith("20")
    assert (await wingspan(server, "register", str(gates))).exit_code == 0
    await start(server, "gates_example.reviewed", {"x": 1}, "cli-waits")
    stopped = await wingspan(server, "execution", "terminate", "cli-waits", "--reason", "done")
    assert stopped.exit_code == 0 and "terminating default/development/cli-waits" in stopped.output


async def test_errors_name_the_problem(server: ApiServer) -> None:
    missing = await wingspan(server, "execution", "terminate", "no-such-run")
    assert missing.exit_code == 1 and "no-such-run" in missing.output
    for kind in ("executions", "workflows"):  # they listed [] with exit 0
        unknown = await wingspan(server, "get", kind, "-p", "no-such-project", "-o", "json")
        assert unknown.exit_code == 1 and "project 'no-such-project' does not exist" in unknown.output


async def test_signals_are_listed_and_set_with_type_checks(server: ApiServer, gates: Path) -> None:
    assert (await wingspan(server, "register", str(gates))).exit_code == 0
    await start(server, "gates_example.reviewed", {"x": 1}, "gated-run")
    listed = await wingspan(server, "signal", "list", "gated-run", "-o", "json")
    assert {row["name"]: row["type"] for row in json.loads(listed.output)} == {"extra": "int",
                                                                              "ok": "bool"}
    wrong = await wingspan(server, "signal", "set", "gated-run", "extra", "seven")
    assert wrong.exit_code == 1 and "'extra': expected int" in wrong.output
    given = await wingspan(server, "signal", "set", "gated-run", "extra", "7")
    assert given.exit_code == 0, given.output
    approved = await wingspan(server, "signal", "set", "gated-run", "ok", "true")
    assert approved.exit_code == 0, approved.output
    after = json.loads((await wingspan(server, "signal", "list", "gated-run", "-o", "json")).output)
    assert {row["name"]: row["value"] for row in after} == {"extra": 7, "ok": True}
    unknown = await wingspan(server, "signal", "set", "gated-run", "nope", "1")
    assert unknown.exit_code == 1 and "has no signal 'nope'" in unknown.output


async def test_relaunch_and_recover_print_the_new_execution(server: ApiServer, gates: Path) -> None:
    assert (await wingspan(server, "register", str(gates))).exit_code == 0
    from wingspan._remote.client import AsyncRemote

    client = AsyncRemote(server.grpc_address)
    try:
        await start(server, "gates_example.reviewed", {"x": 1}, "to-again")
        again = await wingspan(server, "execution", "relaunch", "to-again", "--name", "again-run")
        assert again.exit_code == 0, again.output
        assert again.stdout.strip() == "again-run"
        assert "relaunched default/development/to-again as again-run" in again.stderr
        assert (await client.execution("again-run")).name == "again-run"
        stopped = await wingspan(server, "execution", "terminate", "to-again", "--force")
        assert stopped.exit_code == 0, stopped.output
        recovered = await wingspan(server, "execution", "recover", "to-again")
        assert recovered.exit_code == 0, recovered.output
        assert (await client.execution(recovered.stdout.strip())).phase.name in ("QUEUED", "RUNNING")
    finally:
        await client.aclose()
    missing = await wingspan(server, "execution", "relaunch", "no-such-run")
    assert missing.exit_code == 1 and "no-such-run" in missing.output


async def test_run_remote_no_wait_registers_starts_and_prints_the_name(server: ApiServer, code: Path) -> None:
    started = await wingspan(server, "run", "--remote", "--no-wait", str(code / "cli_diamond.py"), "diamond",
                             "--values", "[1, 2, 3]", "--version", "nw1")
    assert started.exit_code == 0, started.output
    name = started.stdout.strip()
    assert "registered 4 entities at version nw1 (4 new)" in started.stderr
    from wingspan._remote.client import AsyncRemote

    client = AsyncRemote(server.grpc_address)
    try:
        listed = await client.list_executions()
    finally:
        await client.aclose()
    assert [e.name for e in listed] == [name]
    wrong = await wingspan(server, "run", "--remote", str(code / "cli_diamond.py"), "diamond",
                           "--values", "three")
    assert wrong.exit_code == 2 and "--values: cannot read 'three'" in wrong.output


FAILING = ("from wingspan import task, workflow\n\n"
           "@task\ndef refuse(x: int) -> int:\n    raise ValueError(f'refusing {x}')\n\n"
           "@workflow\ndef refused(x: int = 1) -> int:\n    return refuse(x=x)\n")


async def test_run_remote_follows_the_run_and_prints_its_outputs(code: Path, gates: Path,
                                                                 tmp_path: Path) -> None:
    async with api_server(tmp_path / "home", engine=True) as server:
        done = await wingspan(server, "run", "--remote", str(code / "cli_diamond.py"), "diamond",
                              "--values", "[1, 2, 3]", "-o", "json")
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout) == {"o0": 2.0, "o1": 4.666666666666667}  # as `wingspan run` prints
        assert "SUCCEEDED" in done.stderr  # the progress, followed from the server's events
        (tmp_path / "cli_refused.py").write_text(FAILING)
        failed = await wingspan(server, "run", "--remote", str(tmp_path / "cli_refused.py"), "refused")
        assert failed.exit_code == 1
        assert "FAILED: ValueError: refusing 1" in failed.stderr and "refuse" in failed.stderr
        gated = await wingspan(server, "run", "--remote", str(gates / "gates_example.py"), "reviewed",
                               "--x", "1", "--signal", "extra=5", "--signal", "ok=true")
        assert gated.exit_code == 0, gated.output
        assert gated.stdout.strip() == "20"  # its gates were given their values from the flags
        shown = await wingspan(server, "execution", "show", gated.stderr.split("execution ", 1)[1].split()[0],
                               "-o", "json")
        assert shown.exit_code == 0, shown.output
        summary = json.loads(shown.stdout)
        assert summary["phase"] == "SUCCEEDED" and summary["entity"].startswith("gates_example.reviewed:")
        assert [(n["node"], n["phase"], n["attempts"]) for n in summary["nodes"]] == [
            ("n0", "SUCCEEDED", 0), ("n1", "SUCCEEDED", 1), ("n2", "SUCCEEDED", 0), ("n3", "SUCCEEDED", 1)]


async def test_run_remote_says_how_to_give_what_a_run_waits_for(gates: Path, tmp_path: Path) -> None:
    from wingspan._remote.client import AsyncRemote

    async with api_server(tmp_path / "home", engine=True) as server:
        command = [sys.executable, "-m", "wingspan.cli", "run", "--remote", str(gates / "gates_example.py"),
                   "reviewed", "--x", "1", "--endpoint", server.grpc_address]
        client = AsyncRemote(server.grpc_address)
        try:
            with anyio.fail_after(90):
                async with await anyio.open_process(command) as process:
                    assert process.stderr is not None and process.stdout is not None
                    told, answers = b"", {"extra": 5, "ok": True}
                    async for data in process.stderr:
                        told += data
                        for name in [n for n in answers if f"waiting for signal '{n}'".encode() in told]:
                            run = told.split(b"execution ", 1)[1].split()[0].decode()
                            assert f"`wingspan signal set {run} {name} VALUE`".encode() in told
                            await client.set_signal(run, name, answers.pop(name))
                        if not answers:
                            break
                    printed = b"".join([data async for data in process.stdout])
        finally:
            await client.aclose()
    assert process.returncode == 0 and printed.strip() == b"20"
