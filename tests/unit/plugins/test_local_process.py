"""The local-process target: warm workers reused across attempts and runs, the examples
with the same outputs as in-process, logs per attempt, a crash failing only its attempt
(with the signal) and the worker replaced, timeouts, CPU requests bounding concurrency,
and a handle another instance can poll."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from wingspan import LaunchPlan
from wingspan._authoring.workflow import Workflow, single_node_workflow
from wingspan._registration.discovery import load_entities
from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.core.model import codec
from wingspan.core.model.execution import TaskPhase, WorkflowPhase
from wingspan.core.model.literals import Literal, LiteralMap
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.plugins.contract import TaskContext
from wingspan.core.plugins.localproc import target as local_process
from wingspan.core.plugins.localproc.budget import CpuBudget, cpu_request
from wingspan.core.plugins.localproc.pool import WORKER_MODULE
from wingspan.core.plugins.localproc.target import LocalProcessTarget
from wingspan.core.plugins.localproc.worker import read_journal

# mypy names this folder's modules by their path from the root; pytest imports them by
# bare name from the folder it puts on sys.path, the name the task code runs under
if TYPE_CHECKING:
    from tests.unit.plugins import localproc_tasks as tasks
else:
    import localproc_tasks as tasks

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
TARGET = "local-process"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
    yield tmp_path / "home"


def run(entity: Any, target: str | None = TARGET, **values: Any) -> Any:
    workflow = entity if isinstance(entity, Workflow) else single_node_workflow(entity)
    return run_workflow_entity(workflow, values, target=target), workflow


def test_warm_workers_serve_attempt_after_attempt_in_another_process() -> None:
    result, wf = run(tasks.whoami, x=1)
    first = outputs_of(wf, result)
    result, wf = run(tasks.whoami, x=2)
    assert outputs_of(wf, result) == first != os.getpid()


EXAMPLE_INPUTS: dict[str, dict[str, Any]] = {
    "scheduled.daily_report": {"day": datetime(2026, 11, 29, tzinfo=UTC)},
    "subworkflow.greeting": {"name": "ada"},
}


@pytest.fixture(scope="module")
def examples() -> Iterator[dict[str, Any]]:
    path = list(sys.path)
    found: dict[str, Any] = {}
    # the queries of trino_* need a Trino server: tests/real/presto runs them
    for source in sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("trino_")):
        for name, entity in load_entities(source).items():
            if isinstance(entity, Workflow) and not isinstance(entity, LaunchPlan) and _python_only(entity):
                found[name] = entity
    yield found
    sys.path[:] = path
    for name, module in list(sys.modules.items()):  # the examples' modules go with their folder
        if str(getattr(module, "__file__", "") or "").startswith(str(EXAMPLES)):
            del sys.modules[name]


def _python_only(workflow: Workflow) -> bool:
    """Whether every task is a Python body this target runs (a plugin's example, such as
    spark_sales.py, runs on its plugin's target and is tested with its plugin)."""
    return all(t.template.type in LocalProcessTarget.task_types
               for t in workflow.closure.tasks if t.template is not None)


def test_the_examples_give_the_same_outputs_as_in_process(examples: dict[str, Any]) -> None:
    assert len(examples) >= 9
    for name, wf in examples.items():
        values = EXAMPLE_INPUTS.get(name, {})
        here = run_workflow_entity(wf, values)
        there = run_workflow_entity(wf, values, target=TARGET)
        assert there.phase == WorkflowPhase.SUCCEEDED, (name, there.error and there.error.message)
        assert outputs_of(wf, there) == outputs_of(wf, here), name
        # and the tasks did run elsewhere: their attempts have logs
        assert any(e.logs for e in there.events if e.kind == "task"), name


def test_each_attempt_has_its_own_log_of_stdout_and_stderr() -> None:
    result, wf = run(tasks.chatty, text="hello")
    assert outputs_of(wf, result) == "HELLO"
    (name, path), = next(e.logs for e in result.events if e.kind == "task" and e.phase == TaskPhase.SUCCEEDED)
    assert name == "stdout+stderr"
    text = Path(path).read_text()
    assert "to stdout: hello" in text and "to stderr: hello" in text
    assert "from a child process: hello" in text
    again, _ = run(tasks.chatty, text="again")
    (_, other), = next(e.logs for e in again.events if e.kind == "task" and e.phase == TaskPhase.SUCCEEDED)
    assert other != path and "hello" not in Path(other).read_text()


def test_a_crash_fails_only_its_attempt_with_the_signal_and_the_worker_is_replaced() -> None:
    _, wf = run(tasks.whoami, x=0)
    result, _ = run(tasks.crash, x=-1)
    assert result.phase == WorkflowPhase.FAILED
    assert result.error.code == "SIGKILL"
    assert "killed by SIGKILL" in result.error.message
    ok, _ = run(tasks.crash, x=5)
    assert ok.phase == WorkflowPhase.SUCCEEDED, ok.error
    after, _ = run(tasks.whoami, x=0)
    assert outputs_of(wf, after) > 0


def test_a_task_error_comes_back_as_the_same_exception() -> None:
    result, _ = run(tasks.fails, x=3)
    assert result.phase == WorkflowPhase.FAILED
    assert result.error.code == "USER:KeyError" and "no such key 3" in result.error.message
    assert isinstance(result.exception, KeyError)


def test_a_timeout_stops_the_worker() -> None:
    import time

    started = time.monotonic()
    result, _ = run(tasks.sleepy, seconds=60.0)
    assert result.phase == WorkflowPhase.TIMED_OUT
    assert time.monotonic() - started < 30
    ok, wf = run(tasks.sleepy, seconds=0.0)
    assert outputs_of(wf, ok) == 0.0


def test_cpu_requests_bound_how_many_attempts_run_at_once(tmp_path: Path) -> None:
    assert cpu_request(tasks.busy.template) == 2.0
    folder = tmp_path / "spans"
    folder.mkdir()
    result = run_workflow_entity(tasks.spans, {"folder": str(folder), "items": list(range(4))},
                                 target=TARGET)
    assert outputs_of(tasks.spans, result) == [0, 1, 2, 3]
    spans = sorted(tuple(map(float, p.read_text().split())) for p in folder.glob("*.span"))
    assert len(spans) == 4
    # each asked for 2 CPUs: the host's 2 allow one at a time (on a bigger host, this is a bound)
    budget = LocalProcessTarget().budget.total
    overlapping = max(sum(1 for s, e in spans if s < end and e > start) for start, end in spans)
    assert overlapping <= max(1, int(budget // 2))


async def test_the_budget_holds_back_what_does_not_fit() -> None:
    budget = CpuBudget(2)
    assert budget.try_acquire(1.5)
    assert not budget.try_acquire(1)
    assert budget.try_acquire(0.5)
    budget.release(2)
    assert budget.try_acquire(budget.clip(8))  # too big for the host: clipped, runs alone


async def test_waiting_for_the_budget_does_not_wake_the_loop() -> None:
    # ten thousand map items queued for two CPUs once polled the budget, waking the server's
    # loop hundreds of thousands of times a second: waiting must schedule nothing
    budget = CpuBudget(1)
    budget.try_acquire(1)
    loop = asyncio.get_running_loop()
    timers = 0
    real_call_at = loop.call_at

    def counting_call_at(*args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        nonlocal timers
        timers += 1
        return real_call_at(*args, **kwargs)

    loop.call_at = counting_call_at  # type: ignore[method-assign,assignment]
    try:
        waiting = [asyncio.create_task(budget.acquire(1)) for _ in range(200)]
        await asyncio.sleep(0.3)
        assert timers <= 1, f"{timers} timers scheduled by 200 waiters in 0.3 s"
    finally:
        loop.call_at = real_call_at  # type: ignore[method-assign]
    for _ in waiting:
        budget.release(1)
    await asyncio.wait_for(asyncio.gather(*waiting), 10)
    assert budget.used == 1


async def test_the_budget_serves_waiters_in_order_and_a_cancelled_one_leaves_the_line() -> None:
    budget = CpuBudget(2)
    budget.try_acquire(2)
    order: list[str] = []

    async def take(name: str, amount: float) -> None:
        await budget.acquire(amount)
        order.append(name)

    big = asyncio.create_task(take("big", 2))
    await asyncio.sleep(0)
    gone = asyncio.create_task(take("gone", 1))
    small = asyncio.create_task(take("small", 1))
    await asyncio.sleep(0)
    assert not budget.try_acquire(0.5)  # others wait: no jumping the line
    gone.cancel()
    budget.release(1)  # one CPU free: not enough for the first in line
    await asyncio.sleep(0.05)
    assert order == []
    budget.release(1)
    await asyncio.wait_for(big, 10)
    budget.release(2)
    await asyncio.wait_for(small, 10)
    assert order == ["big", "small"] and gone.cancelled()
    budget.release(1)
    assert budget.used == 0


async def test_a_release_wakes_a_waiter_on_another_threads_loop() -> None:
    budget = CpuBudget(1)
    budget.try_acquire(1)
    woke = threading.Event()

    def other_run() -> None:
        async def wait() -> None:
            await budget.acquire(1)
            woke.set()

        asyncio.run(asyncio.wait_for(wait(), 10))

    thread = threading.Thread(target=other_run)
    thread.start()
    async with asyncio.timeout(10):
        while not budget._waiters:  # noqa: ASYNC110 - its place in the line has no event to wait on
            await asyncio.sleep(0.01)
    budget.release(1)
    assert await asyncio.to_thread(woke.wait, 10)
    thread.join(10)


async def test_another_instance_can_poll_a_handle_to_its_end(home: Path) -> None:
    template = tasks.whoami.template
    ctx = TaskContext(template, LiteralMap({"x": Literal("integer", 1)}), "exec", "n0", 0,
                      work_dir=home / "logs")
    starter = LocalProcessTarget()
    try:
        handle = await starter.start(ctx)
        resumed = json.loads(json.dumps(handle))
        status = await LocalProcessTarget().watch(ctx, resumed)  # knows only the handle
        assert status.phase == TaskPhase.SUCCEEDED and status.outputs is not None
        assert status.outputs.literals["o0"] == Literal("integer", handle["pid"])
    finally:
        await starter.aclose()


def test_a_script_run_as_main_is_imported_by_path(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        "import os\n"
        "from wingspan import task, workflow\n\n"
        "@task\n"
        "def pid_plus(x: int) -> int:\n"
        "    return os.getpid() + x\n\n"
        "@workflow\n"
        "def wf(x: int) -> int:\n"
        "    return pid_plus(x=x)\n\n"
        "if __name__ == '__main__':\n"
        "    print(wf(x=0) != os.getpid())\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "WINGSPAN_TASK_TARGETS": "local-process"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_wingspan_run_takes_a_target() -> None:
    done = subprocess.run([sys.executable, "-m", "wingspan.cli", "run", str(EXAMPLES / "chain.py"), "chain",
                           "--x", "5", "--target", "local-process"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "24"
    bad = subprocess.run([sys.executable, "-m", "wingspan.cli", "run", str(EXAMPLES / "chain.py"), "chain",
                          "--target", "pods"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert bad.returncode == 2 and "no plugin named 'pods'" in bad.stderr


async def test_abort_stops_the_attempts_worker(home: Path) -> None:
    template = tasks.sleepy.template
    ctx = TaskContext(template, LiteralMap({"seconds": Literal("float", 60.0)}), "exec", "n0", 0,
                      work_dir=home / "logs")
    target = LocalProcessTarget()
    try:
        handle = await target.start(ctx)
        assert os.path.isdir(f"/proc/{handle['pid']}")  # noqa: ASYNC240 - a quick look at /proc
        await target.abort(ctx, handle)
        assert not os.path.isdir(f"/proc/{handle['pid']}")  # noqa: ASYNC240 - killed and reaped
        status = await LocalProcessTarget().poll(ctx, handle)
        assert status.phase == TaskPhase.FAILED and status.error is not None
        assert status.error.code == "WORKER_LOST"
    finally:
        await target.aclose()


def waiting_worker() -> tuple[subprocess.Popen[bytes], int]:
    """A real worker process, waiting for its first message until its pipe (the fd given) closes."""
    request_read, request_write = os.pipe()
    worker = subprocess.Popen([sys.executable, "-m", WORKER_MODULE, str(request_read), "1"],
                              pass_fds=(request_read,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(request_read)
    # until it has exec'd, its /proc cmdline is still this process's, and it is not yet a worker
    # to look at (a poll then takes it for one that ended): no event says so, so look, bounded
    deadline = time.monotonic() + 30
    while WORKER_MODULE.encode() not in Path(f"/proc/{worker.pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline, "the worker process never started"
        time.sleep(0.01)
    return worker, request_write


async def test_a_reply_written_as_a_left_worker_exits_between_a_polls_two_looks_is_its_result(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A successor polls an attempt whose worker, left running by a stopped engine, writes its
    reply and exits at once. Between the poll's look at the journal and its look at the worker
    (the window held open here by letting the worker finish inside the journal's read), that
    reply was taken for a worker that ended without one: a success reported as a failure."""
    worker, request_write = waiting_worker()
    journal = tmp_path / "worker.journal"
    reply = pickle.dumps({"id": "a1", "ok": True, "outputs": codec.encode(LiteralMap({}))})

    def worker_ends_during_the_read(path: str, attempt_id: str) -> dict[str, Any] | None:
        found = read_journal(path, attempt_id)
        journal.write_bytes(len(reply).to_bytes(4, "big") + reply)  # its reply, then its end
        os.close(request_write)
        worker.wait(30)
        return found

    monkeypatch.setattr(local_process, "read_journal", worker_ends_during_the_read)
    ctx = TaskContext(TaskTemplate(), LiteralMap({}), "p/d/e", "n0", 0)
    handle = {"attempt_id": "a1", "pid": worker.pid, "journal": str(journal), "log": str(tmp_path / "n0.log")}
    target = LocalProcessTarget()
    assert (await target.poll(ctx, handle)).phase == TaskPhase.RUNNING  # alive when looked at
    monkeypatch.undo()
    assert (await target.poll(ctx, handle)).phase == TaskPhase.SUCCEEDED
