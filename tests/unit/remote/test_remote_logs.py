"""Task logs through GetTaskLogs: the service, its gRPC and HTTP transports, Remote.logs and
`wingspan logs`, against the real service layer on SQLite with attempts recorded by events
(see tests/unit/remote/logged.py)."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from click.testing import CliRunner

from tests.integration.services.builders import TEST_ENGINE
from tests.unit.remote.logged import RUN, Served, serve_logs
from wingspan._remote.client import AsyncRemote, LogChunk
from wingspan.cli import cli
from wingspan.core.config import Settings
from wingspan.core.errors import NotFoundError
from wingspan.protos import v1
from wingspan.server.api.http_app import create_app
from wingspan.server.api.rpcs import EngineRpcs


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with serve_logs(Settings(home=tmp_path / "home")) as running:
        yield running


@pytest.fixture
async def remote(served: Served) -> AsyncIterator[AsyncRemote]:
    client = AsyncRemote(served.address)
    try:
        yield client
    finally:
        await client.aclose()


async def text(chunks: AsyncIterator[LogChunk]) -> str:
    return b"".join([c.data async for c in chunks]).decode()


async def test_the_latest_attempt_by_default_any_attempt_on_request(served: Served,
                                                                   remote: AsyncRemote) -> None:
    first, second = served.folder / "n0-1.log", served.folder / "n0-2.log"
    first.write_text("first try\n")
    second.write_text("second try\n")
    await served.attempt("n0", 1, v1.TaskPhase.RETRYABLE_FAILURE, log=first)
    await served.attempt("n0", 2, v1.TaskPhase.SUCCEEDED, log=second)
    assert await text(remote.logs(RUN, "n0")) == "second try\n"
    assert await text(remote.logs(RUN, "n0", attempt=1)) == "first try\n"


async def test_from_an_offset_over_grpc_and_http(served: Served, remote: AsyncRemote) -> None:
    log = served.folder / "n0.log"
    log.write_bytes(b"0123456789")
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log=log)
    node = v1.NodeExecutionId(execution_id=v1.ExecutionId(project="default", domain="development", name=RUN),
                              node_id="n0")
    request = v1.GetTaskLogsRequest(node_execution_id=node, offset=4)
    chunks = [c async for c in remote.transport.stream("get_task_logs", request, "logs")]
    assert [(bytes(c.data), c.next_offset, c.complete) for c in chunks] == [(b"456789", 10, True)]

    app: Any = create_app(served.backend)  # an ASGI app; httpx's annotation is narrower
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as http:
        answer = await http.post("/api/v1/GetTaskLogs", json={
            "nodeExecutionId": {"executionId": {"project": "default", "domain": "development", "name": RUN},
                                "nodeId": "n0"}, "offset": "7"})
    assert answer.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert len(lines) == 1 and lines[0]["complete"] is True and lines[0]["nextOffset"] == "10"


async def test_a_link_may_be_a_file_uri(served: Served, remote: AsyncRemote) -> None:
    log = served.folder / "with space#1.log"
    log.write_text("by uri\n")
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log=log.as_uri())
    assert await text(remote.logs(RUN, "n0")) == "by uri\n"


async def test_large_logs_come_in_bounded_chunks(served: Served, remote: AsyncRemote) -> None:
    from wingspan.server.services.logs import CHUNK_BYTES, READ_BYTES

    log = served.folder / "big.log"
    data = bytes(range(256)) * ((READ_BYTES + 3 * CHUNK_BYTES) // 256 + 1)
    log.write_bytes(data)
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log=log)
    chunks = [c async for c in remote.logs(RUN, "n0")]
    assert b"".join(c.data for c in chunks) == data
    assert max(len(c.data) for c in chunks) == CHUNK_BYTES
    assert [c.offset for c in chunks] == list(range(0, len(data), CHUNK_BYTES))


async def test_follow_sends_output_as_it_is_written_until_the_attempt_ends(
        served: Served, remote: AsyncRemote) -> None:
    # a poll interval far beyond the test's waits: only the wake-up by events can deliver in time
    served.admin.logs.poll_interval = 60
    log = served.folder / "n0.log"
    await served.attempt("n0", 1, v1.TaskPhase.RUNNING, log=log)  # running before it wrote anything
    got: list[bytes] = []
    arrived = anyio.Event()
    ended = anyio.Event()

    async def follow() -> None:
        nonlocal arrived
        async for chunk in remote.logs(RUN, "n0", follow=True):
            got.append(chunk.data)
            arrived.set()
        ended.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(follow)
        log.write_text("one\n")
        await served.attempt("n0", 1, v1.TaskPhase.RUNNING, log=log, handle={"step": "progress"})
        with anyio.fail_after(10):
            await arrived.wait()
        assert got == [b"one\n"]
        arrived = anyio.Event()
        with log.open("a") as file:
            file.write("two\n")
        await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log=log)
        with anyio.fail_after(10):
            await ended.wait()
    assert b"".join(got) == b"one\ntwo\n"


async def test_follow_over_http_streams_a_line_per_chunk(served: Served) -> None:
    served.admin.logs.poll_interval = 60  # only the wake-up by events can deliver in time
    log = served.folder / "n0.log"
    await served.attempt("n0", 1, v1.TaskPhase.RUNNING, log=log)
    body = {"nodeExecutionId": {"executionId": {"project": "default", "domain": "development", "name": RUN},
                                "nodeId": "n0"}, "follow": True}
    with anyio.fail_after(20):
        async with httpx.AsyncClient(base_url=served.http_url, timeout=30) as http, \
                http.stream("POST", "/api/v1/GetTaskLogs", json=body) as answer:
            assert answer.status_code == 200
            lines = answer.aiter_lines()
            assert json.loads(await anext(lines)).get("data", "") == ""  # at once: nothing yet
            log.write_text("written\n")
            await served.attempt("n0", 1, v1.TaskPhase.RUNNING, log=log, handle={"step": 2})
            chunk = json.loads(await anext(lines))
            assert base64.b64decode(chunk["data"]) == b"written\n" and not chunk.get("complete")
            await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log=log)
            rest = [json.loads(line) async for line in lines]
    assert [line.get("complete") for line in rest] == [True]


async def test_follow_goes_on_to_the_retry(served: Served, remote: AsyncRemote) -> None:
    served.admin.logs.poll_interval = 60
    first, second = served.folder / "n0-1.log", served.folder / "n0-2.log"
    first.write_text("failed\n")
    await served.attempt("n0", 1, v1.TaskPhase.RUNNING, log=first)
    chunks: list[LogChunk] = []
    seen = anyio.Event()

    async def follow() -> None:
        async for chunk in remote.logs(RUN, "n0", follow=True):
            chunks.append(chunk)
            seen.set()

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(follow)
            await seen.wait()
            await served.attempt("n0", 1, v1.TaskPhase.RETRYABLE_FAILURE, log=first)
            second.write_text("worked\n")
            await served.attempt("n0", 2, v1.TaskPhase.RUNNING, log=second)
            await served.attempt("n0", 2, v1.TaskPhase.SUCCEEDED, log=second)
    assert [(c.attempt, c.data) for c in chunks] == [(1, b"failed\n"), (2, b"worked\n")]


async def test_following_a_node_on_the_command_line_shows_its_retry_under_a_line(served: Served) -> None:
    served.admin.logs.poll_interval = 60
    first, second = served.folder / "n0-1.log", served.folder / "n0-2.log"
    first.write_text("failed\n")
    await served.attempt("n0", 1, v1.TaskPhase.RUNNING, log=first)
    command = [sys.executable, "-m", "wingspan.cli", "logs", RUN, "n0", "--follow",
               "--endpoint", served.address]
    with anyio.fail_after(60):
        async with await anyio.open_process(command) as process:
            assert process.stdout is not None
            printed = b""
            async for data in process.stdout:  # it follows attempt 1: its output is out
                printed += data
                if printed == b"failed\n":
                    break
            await served.attempt("n0", 1, v1.TaskPhase.RETRYABLE_FAILURE, log=first)
            second.write_text("worked\n")
            await served.attempt("n0", 2, v1.TaskPhase.SUCCEEDED, log=second)
            async for data in process.stdout:
                printed += data
    assert process.returncode == 0
    assert printed == b"failed\n=== n0 (attempt 2) ===\nworked\n"


async def test_every_task_node_in_turn_on_the_command_line(served: Served) -> None:
    for node, words in (("n0", "adding\n"), ("n1", "doubling\n")):
        (served.folder / f"{node}.log").write_text(words)
        await served.attempt(node, 1, v1.TaskPhase.SUCCEEDED, log=served.folder / f"{node}.log")
    result = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(
        cli, ["logs", RUN, "--endpoint", served.address]))
    assert result.exit_code == 0, result.output
    assert result.output == "=== n0 (attempt 1) ===\nadding\n=== n1 (attempt 1) ===\ndoubling\n"
    one = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(
        cli, ["logs", RUN, "n1", "--attempt", "1", "--endpoint", served.address]))
    assert one.exit_code == 0 and one.output == "doubling\n"


async def test_following_every_node_takes_new_nodes_until_the_execution_ends(
        served: Served, remote: AsyncRemote) -> None:
    first, second = served.folder / "n0.log", served.folder / "n1.log"
    first.write_text("first\n")
    await served.attempt("n0", 0, v1.TaskPhase.SUCCEEDED, log=first)
    got: list[tuple[str, bytes]] = []
    seen = anyio.Event()

    async def follow() -> None:
        async for chunk in remote.logs(RUN, follow=True):
            got.append((chunk.node_id, chunk.data))
            seen.set()

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(follow)
            await seen.wait()
            second.write_text("second\n")
            await served.attempt("n1", 0, v1.TaskPhase.SUCCEEDED, log=second)
            served.sequence += 1
            await EngineRpcs(served.admin.events).create_workflow_event(v1.WorkflowExecutionEvent(
                execution_id=v1.ExecutionId(project="default", domain="development", name=RUN),
                producer_id=TEST_ENGINE,
                phase=v1.WorkflowPhase.SUCCEEDED, occurred_at=datetime.now(UTC), sequence=served.sequence))
    assert got == [("n0", b"first\n"), ("n1", b"second\n")]


async def test_a_plugin_reads_the_logs_of_its_own_attempts(served: Served, remote: AsyncRemote) -> None:
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, plugin="fake", handle={"pod": "pod-7"})
    assert await text(remote.logs(RUN, "n0")) == "from the plugin for pod-7"


async def test_a_local_process_attempt_is_read_through_its_handle_while_it_runs(
        served: Served, remote: AsyncRemote) -> None:
    log = served.folder / "worker.log"
    log.write_text("started\n")
    # the engine records the handle when the attempt starts; the links come with its end
    await served.attempt("n0", 0, v1.TaskPhase.RUNNING, plugin="local-process", handle={"log": str(log)})
    assert await text(remote.logs(RUN, "n0")) == "started\n"
    log.unlink()
    await served.attempt("n0", 0, v1.TaskPhase.SUCCEEDED)
    with pytest.raises(NotFoundError, match="node 'n0' attempt 0 of execution logged: its log is gone"):
        await text(remote.logs(RUN, "n0"))


def test_the_readers_of_plugins_that_declare_one() -> None:
    from wingspan.plugin import Handle, ReadsLogs, TaskContext, TaskPlugin, TaskStatus
    from wingspan.server.services.logs import plugin_log_readers

    class Plugin(TaskPlugin):
        task_types = ("python",)

        async def start(self, ctx: TaskContext) -> Handle:
            raise NotImplementedError

        async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
            raise NotImplementedError

        async def abort(self, ctx: TaskContext, handle: Handle) -> None:
            raise NotImplementedError

    class Reading(Plugin, ReadsLogs):
        name = "pods"

        async def read_logs(self, handle: Handle, offset: int = 0) -> bytes:
            return b""

    class Silent(Plugin):
        name = "silent"

    class Undeclared(Plugin):
        # a method of that name is not the ability: the plugin does not say it reads logs
        name = "undeclared"

        async def read_logs(self, handle: object) -> str:
            return "not bytes"

    reading = Reading()
    assert plugin_log_readers([reading, Silent(), Undeclared()]) == {"pods": reading.read_logs}


@pytest.mark.parametrize(("node", "attempt", "message"), [
    ("n9", None, "execution logged has no node 'n9'"),
    ("n0", 5, "node 'n0' of execution logged has no attempt 5"),
])
async def test_unknown_nodes_and_attempts_are_named(served: Served, remote: AsyncRemote, node: str,
                                                    attempt: int | None, message: str) -> None:
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log=served.folder / "n0.log")
    (served.folder / "n0.log").write_text("x")
    with pytest.raises(NotFoundError, match=message):
        await text(remote.logs(RUN, node, attempt))


async def test_an_unknown_execution_is_named(remote: AsyncRemote) -> None:
    with pytest.raises(NotFoundError, match="default/development/nope does not exist"):
        await text(remote.logs("nope", "n0"))


async def test_a_pruned_log_says_so(served: Served, remote: AsyncRemote) -> None:
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log=served.folder / "gone.log")
    with pytest.raises(NotFoundError, match=r"its log file .*gone\.log is gone \(pruned"):
        await text(remote.logs(RUN, "n0"))
    result = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(
        cli, ["logs", RUN, "n0", "--endpoint", served.address]))
    assert result.exit_code == 1 and "is gone (pruned" in result.output


async def test_links_the_server_cannot_read_are_shown(served: Served, remote: AsyncRemote) -> None:
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log="https://dashboard.example/pod-7")
    with pytest.raises(NotFoundError, match=r"not kept by this server; see stdout\+stderr: https://dash"):
        await text(remote.logs(RUN, "n0"))


# ---- what a caller names is never opened (issue #17, item 1) --------------------------------

async def logs_over_both_transports(served: Served, node: str) -> list[str]:
    """The error each transport answers for GetTaskLogs of ``node`` (as an outsider calls it)."""
    from tests.unit.api.transports import CallError, GrpcClient, HttpClient

    request = v1.GetTaskLogsRequest(node_execution_id=v1.NodeExecutionId(
        execution_id=v1.ExecutionId(project="default", domain="development", name=RUN), node_id=node))
    host, port = served.address.rsplit(":", 1)
    answers = []
    for client in (GrpcClient(host, int(port)), HttpClient(served.http_url)):
        try:
            chunks = await client.stream("GetTaskLogs", request)
            answers.append("read: " + b"".join(bytes(c.data) for c in chunks).decode(errors="replace"))
        except CallError as exc:
            answers.append(f"{exc.code}: {exc.message}")
        finally:
            await client.aclose()
    return answers


@pytest.mark.parametrize("location", ["/etc/passwd", "file:///etc/passwd", "file://localhost/etc/passwd",
                                      "{logs}/../../../../../../etc/passwd", "{logs}/../../signing.key"])
async def test_a_log_link_naming_a_file_of_the_host_is_shown_never_read(served: Served,
                                                                         location: str) -> None:
    location = location.format(logs=served.folder)
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log=location)
    for answer in await logs_over_both_transports(served, "n0"):
        assert answer.startswith("NOT_FOUND: ") and "not kept by this server; see stdout+stderr: " in answer
        assert "root:" not in answer


async def test_a_local_process_handle_naming_a_file_of_the_host_is_not_read(served: Served) -> None:
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, plugin="local-process",
                         handle={"log": "/etc/passwd"})
    for answer in await logs_over_both_transports(served, "n0"):
        assert answer.startswith("NOT_FOUND: ") and "is outside the execution's logs folder" in answer
        assert "root:" not in answer


async def test_a_symbolic_link_in_the_logs_folder_to_a_file_of_the_host_is_not_followed(
        served: Served) -> None:
    link = served.folder / "n0.log"
    link.symlink_to("/etc/passwd")
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log=link)
    await served.attempt("n1", 1, v1.TaskPhase.SUCCEEDED, plugin="local-process", handle={"log": str(link)})
    for node in ("n0", "n1"):
        for answer in await logs_over_both_transports(served, node):
            assert answer.startswith("NOT_FOUND: ") and "root:" not in answer


async def test_only_objects_below_the_executions_own_prefix_are_read(served: Served) -> None:
    store = served.admin.store
    other = store.uri("executions", "default", "development", "another-run", "n0.log")
    await store.put(other, b"another execution's log\n")
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log=other)
    own = store.uri("executions", "default", "development", RUN, "n1.log")
    await store.put(own, b"its own log\n")
    await served.attempt("n1", 1, v1.TaskPhase.SUCCEEDED, log=own)
    for answer in await logs_over_both_transports(served, "n0"):
        assert answer.startswith("NOT_FOUND: ") and "another execution's" not in answer
    assert await logs_over_both_transports(served, "n1") == ["read: its own log\n"] * 2


async def test_another_executions_log_in_the_logs_folder_is_not_read(served: Served) -> None:
    other = served.folder.parent / "default-development-another" / "n0-0.log"
    other.parent.mkdir()
    other.write_text("another execution's secret\n")
    await served.attempt("n0", 1, v1.TaskPhase.SUCCEEDED, log=other)
    await served.attempt("n1", 1, v1.TaskPhase.SUCCEEDED, plugin="local-process", handle={"log": str(other)})
    for node in ("n0", "n1"):
        for answer in await logs_over_both_transports(served, node):
            assert answer.startswith("NOT_FOUND: ") and "another execution's secret" not in answer
