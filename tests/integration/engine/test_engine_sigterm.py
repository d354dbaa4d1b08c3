"""`wingspan serve` stopped with SIGTERM leaves the attempts it runs on local-process workers
to its successor, which follows them (they are not rerun), and a followed attempt's timeout
counts from when it started, not from the resume (issue #25, item 5)."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from tests.integration.engine.test_engine_crash import handle_of, runs, until
from tests.unit.api.served import wingspan_serve
from wingspan._remote.sync import Remote
from wingspan.core.model.execution import NodePhase, WorkflowPhase

pytestmark = [pytest.mark.slow]

FLOW = '''
import os
import time
from datetime import timedelta
from pathlib import Path

from wingspan import task, workflow

def count(name: str) -> None:
    with open(Path(os.environ["TERM_COUNTS"]) / name, "a") as runs:
        runs.write("x")


@task
def held(x: int) -> int:
    count("held_start")
    while not (Path(os.environ["TERM_COUNTS"]) / "release").exists():
        time.sleep(0.02)
    count("held_end")
    return x * 10


@workflow
def followed(x: int) -> int:
    return held(x=x)


@task(timeout=timedelta(seconds=TIMEOUT))
def stuck() -> int:
    count("stuck_start")
    while True:
        time.sleep(0.05)


@workflow
def timed() -> int:
    return stuck()
'''

TIMEOUT = 4.0
GRACE = 5.0  # the engine's grace for a plugin to stop a timed out attempt itself


def resumed_at(home: Path, node_id: str) -> float:
    """When the successor's engine took the execution up: its node's last QUEUED event."""
    with closing(sqlite3.connect(home / "db" / "wingspan.sqlite")) as db:
        (at,) = db.execute("SELECT MAX(occurred_at) FROM events WHERE kind = 'node' AND node_id = ? AND "
                           "phase = ?", (node_id, int(NodePhase.QUEUED))).fetchone()
    return datetime.fromisoformat(at).timestamp()


def attempt_times(home: Path, node_id: str) -> tuple[datetime, datetime | None, int]:
    with closing(sqlite3.connect(home / "db" / "wingspan.sqlite")) as db:
        started, finished, count = db.execute(
            "SELECT MIN(started_at), MAX(finished_at), COUNT(*) FROM task_executions WHERE node_id = ?",
            (node_id,)).fetchone()
    return (datetime.fromisoformat(started), datetime.fromisoformat(finished) if finished else None, count)


async def stop_with_sigterm(process: object) -> None:
    os.kill(process.pid, signal.SIGTERM)  # type: ignore[attr-defined]
    with anyio.fail_after(60):
        assert await process.wait() == 0  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # one folder for the module: it is imported as the module "termflow" once
    folder = tmp_path_factory.mktemp("sigterm") / "code"
    folder.mkdir()
    (folder / "termflow.py").write_text(FLOW.replace("TIMEOUT", str(TIMEOUT)))
    return folder


@pytest.fixture
def home(tmp_path: Path, code: Path) -> tuple[Path, Path, dict[str, str]]:
    home, counts = tmp_path / "home", tmp_path / "counts"
    for folder in (home, counts):
        folder.mkdir()
    return home, counts, {"WINGSPAN_HOME": str(home), "TERM_COUNTS": str(counts), "TERM_CODE": str(code)}


async def start(env: dict[str, str], home: Path, entity: str, inputs: dict[str, int], body: str) -> str:
    """Starts ``entity`` on a served engine, stopped with SIGTERM once its attempt's body runs."""
    async with wingspan_serve(env=env) as (server, _, host, port):
        remote = Remote(endpoint=f"{host}:{port}")
        await anyio.to_thread.run_sync(lambda: remote.register(Path(env["TERM_CODE"])))
        name: str = (await anyio.to_thread.run_sync(lambda: remote.execute(entity, inputs))).name
        counts = Path(env["TERM_COUNTS"])
        await until(lambda: handle_of(home, "n0") and runs(counts, body) == 1, "the attempt to start")
        await anyio.to_thread.run_sync(remote.close)
        await stop_with_sigterm(server.process)
    return name


async def test_an_attempt_running_at_sigterm_is_followed_after_a_restart_not_rerun(
        home: tuple[Path, Path, dict[str, str]]) -> None:
    folder, counts, env = home
    name = await start(env, folder, "termflow.followed", {"x": 3}, "held_start")
    assert runs(counts, "held_start") == 1 and runs(counts, "held_end") == 0
    (counts / "release").write_text("")  # the worker, left running, finishes now
    await until(lambda: runs(counts, "held_end") == 1, "the left worker to finish its attempt")
    async with wingspan_serve(env=env) as (_, _, host, port):
        remote = Remote(endpoint=f"{host}:{port}")
        finished = await anyio.to_thread.run_sync(lambda: remote.execution(name).wait(timeout=60))
        assert finished.outputs == {"o0": 30}, finished.error
        await anyio.to_thread.run_sync(remote.close)
    # the worker was killed at SIGTERM and the attempt run again: held_start was 2
    assert runs(counts, "held_start") == 1 and attempt_times(folder, "n0")[2] == 1


async def test_a_followed_attempts_timeout_counts_from_its_start(
        home: tuple[Path, Path, dict[str, str]]) -> None:
    folder, counts, env = home
    name = await start(env, folder, "termflow.timed", {}, "stuck_start")
    started = attempt_times(folder, "n0")[0]
    # the successor resumes past the attempt's whole timeout and grace (a time to pass, not a
    # state to wait for)
    await anyio.sleep(max(0.0, started.timestamp() + TIMEOUT + GRACE + 1 - time.time()))
    async with wingspan_serve(env=env) as (_, _, host, port):
        remote = Remote(endpoint=f"{host}:{port}")
        finished = await anyio.to_thread.run_sync(lambda: remote.execution(name).wait(timeout=60))
        await anyio.to_thread.run_sync(remote.close)
    assert finished.phase == WorkflowPhase.TIMED_OUT or "timed out" in finished.error, finished.error
    _, ended, attempts = attempt_times(folder, "n0")
    assert ended is not None and attempts == 1 and runs(counts, "stuck_start") == 1
    # past its deadline when followed, it is stopped at once; it ran for TIMEOUT + GRACE more
    # (the deadline restarted at the resume)
    late = ended.timestamp() - resumed_at(folder, "n0")
    assert 0 <= late < TIMEOUT, late
