"""The local-process target's zygote: a fresh worker (a new code version's first) is forked
from a process that already imported what workers import, instead of started as a new
interpreter; workers outlive a zygote that died and a new one forks the next; a zygote that
runs threads is not used (workers are then spawned, as where fork is unavailable); and the
pools of code versions left idle, or beyond the cap, are retired."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wingspan.core.errors import SystemError_
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.literals import Literal, LiteralMap
from wingspan.core.plugins.contract import TaskContext
from wingspan.core.plugins.localproc.forkserver import PRELOAD, ForkServer, fork_server
from wingspan.core.plugins.localproc.target import LocalProcessTarget
from wingspan.core.plugins.localproc.zygote import WORKER_MODULE, receive

# each module a task's code version of its own: returns its worker's pid and parent's pid,
# or (the body given) what the body returns
TASK_MODULE = '''
import json
import os
import sys

from wingspan import task


@task
def one(x: int) -> str:
    return {body}
'''
PIDS = 'json.dumps([os.getpid(), os.getppid()])'


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    (tmp_path / "code").mkdir()
    yield tmp_path / "home"


def code_version(tmp_path: Path, name: str, body: str = PIDS) -> Any:
    """A new module, so a new code version: its first attempt needs a fresh worker."""
    (tmp_path / "code" / f"{name}.py").write_text(TASK_MODULE.format(body=body))
    return importlib.import_module(name).one


async def run_on(target: LocalProcessTarget, task: Any, home: Path) -> Any:
    ctx = TaskContext(task.template, LiteralMap({"x": Literal("integer", 1)}), "exec", "n0", 0,
                      work_dir=home / "logs")
    status = await target.watch(ctx, await target.start(ctx))
    assert status.phase == TaskPhase.SUCCEEDED and status.outputs is not None, status.error
    return json.loads(status.outputs.literals["o0"].value)


async def test_a_new_code_versions_worker_is_forked_by_the_zygote(tmp_path: Path, home: Path) -> None:
    target = LocalProcessTarget()
    try:
        zygote = fork_server()
        assert zygote is not None
        forked = zygote.forked
        first, parent = await run_on(target, code_version(tmp_path, "forked_a"), home)
        second, other_parent = await run_on(target, code_version(tmp_path, "forked_b"), home)
        # forked by the zygote (no interpreter started by this process), one worker per version
        assert parent == other_parent == zygote.process.pid != os.getpid()
        assert first != second and zygote.forked == forked + 2
        # and warm: the same version's next attempt goes to the same worker
        again, _ = await run_on(target, importlib.import_module("forked_a").one, home)
        assert again == first and zygote.forked == forked + 2
    finally:
        await target.aclose()


async def test_workers_are_spawned_when_the_zygote_is_not_used(tmp_path: Path, home: Path) -> None:
    target = LocalProcessTarget(fork_workers=False)
    try:
        _, parent = await run_on(target, code_version(tmp_path, "spawned_a"), home)
        assert parent == os.getpid()
    finally:
        await target.aclose()


def zygote_modules() -> set[str]:
    """What the zygote has loaded when it forks."""
    script = (
        "import importlib, json, sys\n"
        "import wingspan.core.plugins.worker_entry\n"
        "from wingspan.core.plugins.localproc.worker import warm_up\n"
        "warm_up()\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", script, *PRELOAD], capture_output=True, text=True,
                          timeout=120, check=True)
    return set(json.loads(done.stdout))


async def test_the_zygote_loads_what_a_workers_first_attempt_imports(tmp_path: Path, home: Path) -> None:
    # what a spawned worker has imported after one attempt, against what the zygote loads
    # before it forks: the difference is what each forked worker would import itself
    target = LocalProcessTarget(fork_workers=False)
    try:
        modules = code_version(tmp_path, "imports_a", "json.dumps(sorted(sys.modules))")
        after_one = set(await run_on(target, modules, home))
    finally:
        await target.aclose()
    missing = after_one - await asyncio.to_thread(zygote_modules) - {"imports_a", "runpy"}
    assert not missing, f"add to forkserver.PRELOAD what a worker's first attempt imports: {sorted(missing)}"


async def test_workers_outlive_their_zygote_and_a_new_one_forks_the_next(tmp_path: Path, home: Path) -> None:
    target = LocalProcessTarget()
    try:
        old = fork_server()
        assert old is not None
        worker, parent = await run_on(target, code_version(tmp_path, "outlive_a"), home)
        assert parent == old.process.pid
        os.kill(old.process.pid, signal.SIGKILL)
        old.process.wait(10)
        # the idle worker still serves its version
        again, _ = await run_on(target, importlib.import_module("outlive_a").one, home)
        assert again == worker
        # a new version: a new zygote
        fresh, new_parent = await run_on(target, code_version(tmp_path, "outlive_b"), home)
        new = fork_server()
        assert new is not None and new is not old and new_parent == new.process.pid != old.process.pid
        assert fresh != worker
    finally:
        await target.aclose()


def test_a_zygote_whose_imports_start_a_thread_is_refused(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # a fork copies other threads' locks in whatever state they are: such a zygote must not fork
    (tmp_path / "code" / "starts_a_thread.py").write_text(
        "import threading\nthreading.Thread(target=threading.Event().wait, daemon=True).start()\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "code"))
    with pytest.raises(SystemError_, match="runs 2 threads after its imports: it cannot fork safely"):
        ForkServer(preload=("starts_a_thread",))


def alive(pid: int) -> bool:
    return os.path.isdir(f"/proc/{pid}")


async def test_pools_of_code_versions_left_idle_are_retired(tmp_path: Path, home: Path) -> None:
    target = LocalProcessTarget(pool_idle_seconds=0.5)
    kept = LocalProcessTarget(pool_idle_seconds=3600.0)
    try:
        first, _ = await run_on(target, code_version(tmp_path, "idle_a"), home)
        other, _ = await run_on(kept, importlib.import_module("idle_a").one, home)
        # no other attempt starts: the idle pool goes by its own timer
        async with asyncio.timeout(10):
            while alive(first):  # noqa: ASYNC110 - a process's end has no event to wait on here
                await asyncio.sleep(0.05)
        assert alive(other)  # not idle long enough
        assert not target._pools and len(kept._pools) == 1
    finally:
        await target.aclose()
        await kept.aclose()


async def test_the_least_recently_used_pools_are_retired_beyond_the_cap(tmp_path: Path, home: Path) -> None:
    target = LocalProcessTarget(max_pools=2, pool_idle_seconds=3600.0)
    try:
        workers = [(await run_on(target, code_version(tmp_path, f"capped_{n}"), home))[0] for n in "abc"]
        assert [alive(pid) for pid in workers] == [False, True, True]
        # using b makes c the least recently used
        await run_on(target, importlib.import_module("capped_b").one, home)
        await run_on(target, code_version(tmp_path, "capped_d"), home)
        assert [alive(pid) for pid in workers] == [False, True, False]
    finally:
        await target.aclose()


def test_a_process_forked_from_this_one_starts_its_own_zygote() -> None:
    # a copy made by fork holds the parent's socket to the zygote: talking over it would mix
    # both processes' requests and answers
    script = (
        "import os, sys\n"
        "from wingspan.core.plugins.localproc.forkserver import fork_server\n"
        "parent = fork_server().process.pid\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    mine = fork_server()\n"
        "    print(mine.process.pid != parent and mine.owner == os.getpid(), flush=True)\n"
        "    mine.close()\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "print(fork_server().process.pid == parent, flush=True)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_a_zygote_whose_parent_is_gone_before_it_is_ready_ends_quietly() -> None:
    # a replica SIGKILLed while its zygote warms up: the zygote's "ready" finds no reader
    import socket

    parent, child = socket.socketpair()
    parent.close()
    code = ("import sys; from wingspan.core.plugins.localproc.zygote import serve; "
            "serve(int(sys.argv[1]), run_worker=lambda argv: None, warm_up=lambda: None)")
    done = subprocess.run([sys.executable, "-c", code, str(child.fileno())], pass_fds=[child.fileno()],
                          capture_output=True, text=True, timeout=60)
    child.close()
    assert (done.returncode, done.stderr) == (0, "")


def test_a_zygote_whose_parent_has_gone_ends_without_leaving_its_socket_open() -> None:
    """Its parent gone (a server stopped), the zygote ends its loop and closes its control socket
    and selector itself (left to the interpreter's exit, each printed a ResourceWarning into the
    server's log wherever warnings were shown)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    zygote = subprocess.Popen(
        [sys.executable, "-W", "always::ResourceWarning", "-m", WORKER_MODULE, "--fork-server",
         str(theirs.fileno())], pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    theirs.close()
    try:
        ours.settimeout(120)
        ready, _ = receive(ours)
        assert ready is not None and ready["ready"] == zygote.pid
    finally:
        ours.close()  # the parent is gone
    _, errors = zygote.communicate(timeout=60)
    assert zygote.returncode == 0, errors
    assert "ResourceWarning" not in errors, errors
