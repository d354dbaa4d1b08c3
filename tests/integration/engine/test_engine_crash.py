"""The server's engine survives SIGKILL: an execution with a sleeping gate, a pending
approval and a running attempt completes after a restart, and nothing whose success was
recorded runs again (each task counts its runs in a file)."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from tests.unit.api.served import wingspan_serve
from wingspan._remote.sync import Remote

pytestmark = [pytest.mark.slow]

FLOW = '''
import os
import time
from datetime import timedelta
from pathlib import Path

from wingspan import approve, sleep, task, workflow

def count(name: str) -> None:
    with open(Path(os.environ["CRASH_COUNTS"]) / name, "a") as runs:
        runs.write("x")


@task
def first(x: int) -> int:
    count("first")
    return x + 1


@task
def held(x: int) -> int:
    count("held_start")
    # runs until the test lets it finish: it is running when the server is killed
    while not (Path(os.environ["CRASH_COUNTS"]) / "release").exists():
        time.sleep(0.02)
    count("held_end")
    return x * 10


@task
def total(a: int, b: int) -> int:
    count("total")
    return a + b


@workflow
def crashy(x: int = 1) -> int:
    a = first(x=x)
    pause = sleep(timedelta(seconds=4))
    b = held(x=a)
    ok = approve(a, "go", timeout=timedelta(minutes=5))
    result = total(a=ok, b=b)
    pause >> result
    return result
'''


def runs(counts: Path, name: str) -> int:
    path = counts / name
    return len(path.read_text()) if path.exists() else 0


def handle_of(home: Path, node_id: str) -> bool:
    with contextlib.closing(sqlite3.connect(home / "db" / "wingspan.sqlite")) as db:
        query = "SELECT plugin_handle FROM task_executions WHERE node_id = ?"
        found = db.execute(query, (node_id,)).fetchone()
    return found is not None and found[0] is not None


async def until(check: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    """Polls ``check`` (in a thread: it may call the server) until it returns a true value."""
    with anyio.fail_after(seconds):
        while True:
            found = await anyio.to_thread.run_sync(check)
            if found:
                return found
            await anyio.sleep(0.05)
    raise AssertionError(what)


async def test_a_killed_server_resumes_its_execution_and_repeats_no_recorded_success(tmp_path: Path) -> None:
    home, counts, code = tmp_path / "home", tmp_path / "counts", tmp_path / "code"
    for folder in (home, counts, code):
        folder.mkdir()
    (code / "crashflow.py").write_text(FLOW)
    env = {"WINGSPAN_HOME": str(home), "CRASH_COUNTS": str(counts)}

    async with wingspan_serve(env=env) as (server, _, host, port):
        remote = Remote(endpoint=f"{host}:{port}")
        await anyio.to_thread.run_sync(lambda: remote.register(code, project="default", domain="development"))
        execution = await anyio.to_thread.run_sync(lambda: remote.execute("crashflow.crashy", {"x": 1}))
        name = execution.name
        # killed while: the sleep waits (4 s), the approval is pending, the held attempt runs
        # once its handle is stored: a kill before that is an interrupted attempt, retried
        await until(lambda: runs(counts, "held_start") == 1 and handle_of(home, "n2"), "held to start")
        os.kill(server.process.pid, signal.SIGKILL)
        await server.process.wait()

    assert runs(counts, "first") == 1 and runs(counts, "held_end") == 0
    async with wingspan_serve(env=env) as (server, _, host, port):
        remote = Remote(endpoint=f"{host}:{port}")
        (counts / "release").write_text("")
        await anyio.to_thread.run_sync(lambda: remote.set_signal(name, "go", True))
        finished = await anyio.to_thread.run_sync(lambda: remote.execution(name).wait(timeout=90))
        assert finished.outputs == {"o0": 2 + 20}, finished.error
    # nothing that succeeded before the kill ran again; the held attempt was followed, not rerun
    assert runs(counts, "first") == 1
    assert runs(counts, "held_start") == 1 and runs(counts, "held_end") == 1
    assert runs(counts, "total") == 1
