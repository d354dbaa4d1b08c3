"""A map's items through `wingspan serve`: they run in chunks (many items per worker round
trip), their events are folded into their node and task rows (no event row per item: a map of
100,000 items must not store 600,000 events), yet an item's state is all there: its phase,
outputs, attempts and error; a server killed mid-map resumes without running again an item
whose success was recorded, and the attempts of a chunk it cut short end as interrupted and
are retried under new numbers (never run again silently); outputs holding None (items that
failed under min_success_ratio) are stored."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest

from tests.integration.engine.test_engine_crash import runs, until
from tests.unit.api.served import wingspan_serve
from wingspan._remote.client import AsyncRemote
from wingspan._remote.sync import Remote
from wingspan.core.model.execution import NodePhase, TaskPhase
from wingspan.protos import v1
from wingspan.server.services.map_items import PROMOTED

pytestmark = [pytest.mark.slow]

FLOW = '''
import os
import time
from functools import partial
from pathlib import Path

from wingspan import NonRetryableError, map_task, task, workflow


def count(name: str) -> None:
    with open(Path(os.environ["MAP_COUNTS"]) / name, "a") as runs:
        runs.write("x")


@task(retries=2)
def item(x: int, held_from: int) -> int:
    count(f"item-{x}")
    # items from held_from on run until the test lets them finish: running when the server dies
    while x >= held_from and not (Path(os.environ["MAP_COUNTS"]) / "release").exists():
        time.sleep(0.02)
    return x * 2


@workflow
def wide(xs: list[int], held_from: int = 1000) -> list[int]:
    return map_task(partial(item, held_from=held_from), concurrency=2)(x=xs)


@task(retries=2)
def flaky(x: int) -> int:
    count(f"flaky-{x}")
    if x == 1 and len((Path(os.environ["MAP_COUNTS"]) / "flaky-1").read_text()) == 1:
        raise ValueError("item 1 fails its first attempt")
    if x == 3:
        raise NonRetryableError("item 3 always fails")
    return x


@workflow
def partly(xs: list[int]) -> list[int]:
    return map_task(flaky)(x=xs)


@workflow
def half(xs: list[int]) -> list[int | None]:
    return map_task(flaky, min_success_ratio=0.5)(x=xs)
'''


def rows(home: Path, query: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(home / "db" / "wingspan.sqlite")) as db:
        return db.execute(query).fetchall()


def item_phases(home: Path) -> dict[str, int]:
    """The map n0's started items' phases as stored: in its aggregate, or its items' own rows."""
    found: dict[str, int] = dict(rows(  # type: ignore[arg-type]
        home, "SELECT node_id, phase FROM node_executions WHERE parent_node_id = 'n0'"))
    for phases, attempts in rows(home, "SELECT phases, attempts FROM map_items WHERE node_id = 'n0'"):
        assert isinstance(phases, bytes) and isinstance(attempts, bytes)
        for index, (phase, attempt) in enumerate(zip(phases, attempts, strict=True)):
            if attempt != PROMOTED and (phase or attempt):
                assert f"n0/{index}" not in found, "an item both aggregated and in rows"
                found[f"n0/{index}"] = phase
    return found


async def items_read(endpoint: str, name: str) -> dict[str, tuple[str, list[str], str]]:
    """The map n0's items as the API gives them: id -> (phase, its attempts' phases, error)."""
    remote = AsyncRemote(endpoint)
    execution = v1.ExecutionId(project="default", domain="development", name=name)
    found = {}
    try:
        answer = await remote.transport.call("list_node_executions", v1.ListNodeExecutionsRequest(
            execution_id=execution, parent_node_id="n0", limit=100), "list the items")
        for node in answer.node_executions:
            attempts = await remote.transport.call("list_task_executions", v1.ListTaskExecutionsRequest(
                node_execution_id=node.id, limit=100), "list an item's attempts")
            closure = node.closure
            found[node.id.node_id] = (
                NodePhase(int(closure.phase)).name,
                [TaskPhase(int(t.closure.phase)).name for t in sorted(
                    attempts.task_executions, key=lambda t: int(t.id.attempt))],
                closure.error.message if closure.error else "")
    finally:
        await remote.aclose()
    return found


def folders(tmp_path: Path, module: str) -> tuple[Path, Path, Path, dict[str, str]]:
    """``module``: the flows' module name, one per test (the test process imports it to register)."""
    home, counts, code = tmp_path / "home", tmp_path / "counts", tmp_path / "code"
    for folder in (home, counts, code):
        folder.mkdir()
    (code / f"{module}.py").write_text(FLOW)
    return home, counts, code, {"WINGSPAN_HOME": str(home), "MAP_COUNTS": str(counts)}


async def test_a_maps_items_leave_rows_not_events_and_a_kill_mid_map_reruns_no_finished_chunk(
    tmp_path: Path,
) -> None:
    home, counts, code, env = folders(tmp_path, "mapflow")
    succeeded, running = 3, 2  # NodePhase values
    async with wingspan_serve(env=env) as (server, _, host, port):
        remote = Remote(endpoint=f"{host}:{port}")
        await anyio.to_thread.run_sync(lambda: remote.register(code, project="default", domain="development"))
        # two lanes of 8 items: chunks 0-3 and 4-7; item 4 is held, so 5-7 wait behind it
        execution = await anyio.to_thread.run_sync(
            lambda: remote.execute("mapflow.wide", {"xs": list(range(8)), "held_from": 4}))
        name = execution.name

        def first_chunk_done_second_held() -> bool:
            phases = item_phases(home)
            return all(phases.get(f"n0/{i}") == succeeded for i in range(4)) and runs(counts, "item-4") == 1

        await until(first_chunk_done_second_held, "items 0-3 to succeed, item 4 to run")
        os.kill(server.process.pid, signal.SIGKILL)
        await server.process.wait()

    # the items' state is in the map's aggregate; none of their events is an event row
    assert rows(home, "SELECT count(*) FROM events WHERE node_id LIKE 'n0/%'") == [(0,)]
    assert (2,) in rows(home, "SELECT phase FROM events WHERE node_id = 'n0'")  # the map's own RUNNING
    # the held chunk's items: recorded as started, nothing more
    assert item_phases(home) == {**{f"n0/{i}": succeeded for i in range(4)},
                                 **{f"n0/{i}": running for i in range(4, 8)}}
    async with wingspan_serve(env=env) as (server, _, host, port):
        remote = Remote(endpoint=f"{host}:{port}")
        (counts / "release").write_text("")
        finished = await anyio.to_thread.run_sync(lambda: remote.execution(name).wait(timeout=120))
        assert finished.outputs == {"o0": [x * 2 for x in range(8)]}, finished.error
        items = await items_read(f"{host}:{port}", name)
    # the finished chunk's items ran once; the chunk cut short: its attempts, recorded as started,
    # ended interrupted and were retried (item 4 ran again, the items it never reached once)
    assert [runs(counts, f"item-{x}") for x in range(8)] == [1, 1, 1, 1, 2, 1, 1, 1]
    retried = ("SUCCEEDED", ["RETRYABLE_FAILURE", "SUCCEEDED"], "")
    assert items == {**{f"n0/{x}": ("SUCCEEDED", ["SUCCEEDED"], "") for x in range(4)},
                     **{f"n0/{x}": retried for x in range(4, 8)}}
    assert len(item_phases(home)) == 8
    # the finished chunk's items have no rows of their own; the retried ones have (two attempts each)
    assert rows(home, "SELECT node_id FROM node_executions WHERE parent_node_id = 'n0' ORDER BY node_id") == [
        (f"n0/{x}",) for x in range(4, 8)]
    assert rows(home, "SELECT count(*) FROM task_executions WHERE node_id LIKE 'n0/%'") == [(8,)]
    assert rows(home, "SELECT count(*) FROM events WHERE node_id LIKE 'n0/%'") == [(0,)]


async def run_to_end(endpoint: str, code: Path, flow: str, inputs: dict[str, Any]) -> tuple[str, Any]:
    """Registers ``code`` and runs ``flow`` to its end: the execution's name, and how it ended."""
    remote = Remote(endpoint=endpoint)
    await anyio.to_thread.run_sync(lambda: remote.register(code, project="default", domain="development"))
    execution = await anyio.to_thread.run_sync(lambda: remote.execute(flow, inputs))
    return execution.name, await anyio.to_thread.run_sync(lambda: execution.wait(timeout=120))


async def test_an_items_failure_and_retries_read_from_its_rows(tmp_path: Path) -> None:
    home, counts, code, env = folders(tmp_path, "mapretryflow")
    async with wingspan_serve(env=env) as (_, _, host, port):
        name, finished = await run_to_end(f"{host}:{port}", code, "mapretryflow.partly", {"xs": [0, 1, 2, 3]})
        assert finished.phase.name == "FAILED"
        assert "1 of 4 items failed" in str(finished.error) and "item 3" in str(finished.error)
        items = await items_read(f"{host}:{port}", name)
    assert items["n0/0"] == items["n0/2"] == ("SUCCEEDED", ["SUCCEEDED"], "")
    assert items["n0/1"] == ("SUCCEEDED", ["RETRYABLE_FAILURE", "SUCCEEDED"], "")
    phase, attempts, error = items["n0/3"]
    assert (phase, attempts) == ("FAILED", ["FAILED"]) and "item 3 always fails" in error
    assert runs(counts, "flaky-1") == 2
    assert rows(home, "SELECT count(*) FROM events WHERE node_id LIKE 'n0/%'") == [(0,)]


async def test_a_maps_outputs_holding_none_are_stored(tmp_path: Path) -> None:
    _, _, code, env = folders(tmp_path, "maphalfflow")
    async with wingspan_serve(env=env) as (_, _, host, port):
        _, finished = await run_to_end(f"{host}:{port}", code, "maphalfflow.half", {"xs": [0, 1, 2, 3]})
        assert finished.phase.name == "SUCCEEDED", finished.error
        assert finished.outputs == {"o0": [0, 1, 2, None]}


async def test_a_succeeded_maps_items_leave_no_rows_and_are_read_on_both_transports(tmp_path: Path) -> None:
    home, _, code, env = folders(tmp_path, "mapplainflow")
    async with wingspan_serve(env=env) as (_, http_url, host, port):
        name, finished = await run_to_end(f"{host}:{port}", code, "mapplainflow.wide",
                                          {"xs": list(range(300)), "held_from": 10**6})
        assert finished.outputs == {"o0": [x * 2 for x in range(300)]}, finished.error
        # no row of its own for any item: one aggregate, a row per group of chunks
        assert rows(home, "SELECT count(*) FROM node_executions WHERE node_id LIKE 'n0/%'") == [(0,)]
        assert rows(home, "SELECT count(*) FROM task_executions WHERE node_id LIKE 'n0/%'") == [(0,)]
        assert rows(home, "SELECT count(*) FROM map_items") == [(1,)]
        chunks = rows(home, "SELECT count(*) FROM map_item_chunks")[0][0]
        assert isinstance(chunks, int) and 1 <= chunks <= 10

        remote = AsyncRemote(f"{host}:{port}")
        execution = v1.ExecutionId(project="default", domain="development", name=name)
        item = v1.NodeExecutionId(execution_id=execution, node_id="n0/7")
        try:
            listed, token = [], ""
            while True:
                page = await remote.transport.call("list_node_executions", v1.ListNodeExecutionsRequest(
                    execution_id=execution, parent_node_id="n0", limit=128, token=token), "list the items")
                listed += [(n.id.node_id, NodePhase(int(n.closure.phase))) for n in page.node_executions]
                token = page.next_token
                if not token:
                    break
            assert listed == [(f"n0/{i}", NodePhase.SUCCEEDED) for i in range(300)]
            node = await remote.transport.call("get_node_execution", v1.GetNodeExecutionRequest(id=item),
                                               "get an item")
            assert NodePhase(int(node.closure.phase)) == NodePhase.SUCCEEDED and node.parent_node_id == "n0"
            data = await remote.transport.call("get_node_execution_data", v1.GetNodeExecutionRequest(id=item),
                                               "get its data")
            assert data.outputs.literals["o0"].integer == 14
            attempts = await remote.transport.call("list_task_executions", v1.ListTaskExecutionsRequest(
                node_execution_id=item, limit=10), "list its attempts")
            phases = [TaskPhase(int(t.closure.phase)) for t in attempts.task_executions]
            assert phases == [TaskPhase.SUCCEEDED]
            attempt = attempts.task_executions[0].id
            task_data = await remote.transport.call("get_task_execution_data", v1.GetTaskExecutionRequest(
                id=attempt), "get its attempt's data")
            assert task_data.outputs.literals["o0"].integer == 14
        finally:
            await remote.aclose()

        async with httpx.AsyncClient(base_url=http_url, timeout=30) as http:
            page = await http.get(f"/api/v1/node_executions/default/development/{name}",
                                  params={"parent": "n0", "limit": "50", "phase": "succeeded"})
            assert page.status_code == 200, page.text
            body = page.json()
            assert [n["id"]["nodeId"] for n in body["nodeExecutions"]] == [f"n0/{i}" for i in range(50)]
            assert body["nextToken"] == "50"
            execution_json = {"project": "default", "domain": "development", "name": name}
            node_json = await http.post("/api/v1/GetNodeExecution", json={"id": {
                "executionId": execution_json, "nodeId": "n0/7"}})
            assert node_json.status_code == 200, node_json.text
            assert node_json.json()["closure"]["phase"] == "NODE_PHASE_SUCCEEDED"
