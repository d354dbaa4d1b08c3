"""The engine's failures are handled, never swallowed: each test makes the database (or a
task plugin) refuse at the moment the engine writes, and checks what the engine does.

- recording FAILED refused: the execution is held by its replica (not claimed again in a
  loop), and ends FAILED once the database takes the write;
- aborting an attempt raises (one left running by a stopped server, or one running when
  its execution is terminated): the abort is tried again, and the failure logged naming
  the execution;
- releasing a lease refused: logged naming the execution, the lease left to run out.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest
from sqlmodel import col, select

from tests.integration.engine.refusals import refusing
from tests.integration.services import flows
from tests.integration.services.builders import DOMAIN, PROJECT, ident, literals, register_workflow_with_tasks
from wingspan.core.engine.retry import RetryPolicy
from wingspan.core.model.execution import TaskPhase
from wingspan.core.plugins.contract import Handle, TaskContext, TaskPlugin, TaskStatus
from wingspan.core.plugins.registry import TaskPluginRegistry
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs
from wingspan.server.db.models import EventRow, ExecutionRow, TaskExecutionRow
from wingspan.server.engine.worker import EngineWorker
from wingspan.server.services.admin import AdminService

pytestmark = [pytest.mark.slow]

PIPELINE = "tests.integration.services.flows.pipeline"
FAST_RETRY = RetryPolicy(first_delay=0.05, factor=2.0, max_delay=0.2)
FAILED, ABORTED = int(v1.WorkflowPhase.FAILED), int(v1.WorkflowPhase.ABORTED)


class Stubborn(TaskPlugin):
    """Python tasks that run until aborted; the first abort fails (its cluster away)."""

    name: ClassVar[str] = "stubborn"
    task_types: ClassVar[tuple[str, ...]] = ("python",)
    poll_interval: ClassVar[float] = 0.02

    def __init__(self) -> None:
        self.abort_calls: list[Handle] = []

    async def start(self, ctx: TaskContext) -> Handle:
        return {"pod": f"{ctx.node_id}-{ctx.attempt}"}

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        return TaskStatus(TaskPhase.RUNNING)

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        self.abort_calls.append(handle)
        if len(self.abort_calls) == 1:
            raise ConnectionError("the cluster did not answer")


async def wait_for(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 30) -> None:
    """Polls ``check`` until it is true (fails naming ``what`` after ``seconds``)."""
    with anyio.fail_after(seconds, reason=f"waited {seconds} s for {what}"):
        while True:
            if await check():
                return
            await anyio.sleep(0.02)


async def create(admin: AdminService, name: str, python_target: str = "") -> None:
    await register_workflow_with_tasks(admin, flows.pipeline, "v1")
    await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
        project=PROJECT, domain=DOMAIN, name=name,
        spec=v1.ExecutionSpec(entity_id=ident(2, PIPELINE, "v1"), inputs=literals(x=1, y=2),
                              python_target=python_target)))


async def row(admin: AdminService, name: str) -> ExecutionRow:
    async with admin.db.read() as session:
        found: ExecutionRow = (
            await session.execute(select(ExecutionRow).where(col(ExecutionRow.name) == name))
        ).scalar_one()
    return found


def logged(
    caplog: pytest.LogCaptureFixture, text: str, logger: str = "wingspan.engine"
) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and text in r.getMessage()]


def engine(admin: AdminService, tmp_path: Path, registry: TaskPluginRegistry, **options: Any) -> EngineWorker:
    return EngineWorker(admin, registry, tmp_path / "logs", replica_id="replica-a", lease_seconds=600,
                        retry=FAST_RETRY, **options)


async def test_a_refused_failed_record_holds_the_execution_and_ends_it_failed_later(
    admin: AdminService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wingspan.engine")
    # an unknown target: the engine cannot run it and must record it FAILED
    await create(admin, "unrunnable", python_target="nowhere")
    worker = engine(admin, tmp_path, TaskPluginRegistry([]), poll_interval=0.02)
    key = (await row(admin, "unrunnable")).id
    async with anyio.create_task_group() as group:
        async with refusing(admin.db, "refuse_failed", column="phase",
                            when=f"NEW.phase = {FAILED} AND OLD.phase <> {FAILED}"):
            group.start_soon(worker.run)

            async def refused_three_times() -> bool:
                return len(logged(caplog, "recording it FAILED failed")) >= 3

            await wait_for(refused_three_times, "the engine to try recording FAILED three times")
            # held here, as its lease says; not claimed and run again while the write is refused
            assert key in worker.running
            assert (await row(admin, "unrunnable")).owner == "replica-a"
            assert len(logged(caplog, "the engine failed")) == 1
        # the database takes the write again

        async def ended() -> bool:
            return (await row(admin, "unrunnable")).phase == FAILED

        await wait_for(ended, "the execution to end FAILED")
        group.cancel_scope.cancel()
    done = await row(admin, "unrunnable")
    assert "nowhere" in done.reason
    assert len(logged(caplog, "the engine failed")) == 1
    async with admin.db.read() as session:
        failed_events = (await session.execute(select(EventRow.id).where(
            EventRow.execution_id == key, EventRow.kind == "workflow", EventRow.phase == FAILED))).all()
    assert len(failed_events) == 1


async def test_an_abort_that_fails_is_tried_again_and_logged(
    admin: AdminService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wingspan.engine")
    stubborn = Stubborn()
    registry = TaskPluginRegistry([stubborn], {"python": "stubborn"})
    await create(admin, "stuck")
    key = (await row(admin, "stuck")).id

    # a server runs it until its first attempt is started (its handle stored), then stops
    first = engine(admin, tmp_path, registry)
    async with anyio.create_task_group() as group:
        group.start_soon(first.run)

        async def started() -> bool:
            async with admin.db.read() as session:
                handles = (await session.execute(select(TaskExecutionRow.plugin_handle).where(
                    TaskExecutionRow.execution_id == key))).scalars().all()
            return any(handles)

        await wait_for(started, "the attempt to start")
        first.detach()
        group.cancel_scope.cancel()
    assert stubborn.abort_calls == []  # a stopping server leaves its attempts running

    # terminated while nobody runs it; the restarted server aborts what was left running
    await AdminRpcs(admin).terminate_execution(v1.TerminateExecutionRequest(
        id=v1.ExecutionId(project=PROJECT, domain=DOMAIN, name="stuck"), reason="stop it"))
    restarted = engine(admin, tmp_path, registry)
    async with anyio.create_task_group() as group:
        group.start_soon(restarted.run)

        async def ended() -> bool:
            return (await row(admin, "stuck")).phase == ABORTED

        await wait_for(ended, "the execution to end ABORTED")
        group.cancel_scope.cancel()
    assert stubborn.abort_calls == [{"pod": "n0-0"}, {"pod": "n0-0"}]
    failed = logged(caplog, "aborting attempt 0 of node n0", "wingspan.plugins")
    assert failed and f"{PROJECT}/{DOMAIN}/stuck" in failed[0].getMessage()
    assert "the cluster did not answer" in failed[0].getMessage()
    assert failed[0].levelno == logging.WARNING


async def test_terminating_a_run_whose_abort_fails_once_tries_the_abort_again(
    admin: AdminService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wingspan.plugins")
    stubborn = Stubborn()
    await create(admin, "live")
    key = (await row(admin, "live")).id
    worker = engine(admin, tmp_path, TaskPluginRegistry([stubborn], {"python": "stubborn"}))
    async with anyio.create_task_group() as group:
        group.start_soon(worker.run)

        async def started() -> bool:
            async with admin.db.read() as session:
                handles = (await session.execute(select(TaskExecutionRow.plugin_handle).where(
                    TaskExecutionRow.execution_id == key))).scalars().all()
            return any(handles)

        await wait_for(started, "the attempt to start")
        await AdminRpcs(admin).terminate_execution(v1.TerminateExecutionRequest(
            id=v1.ExecutionId(project=PROJECT, domain=DOMAIN, name="live"), reason="stop it"))

        async def ended() -> bool:
            return (await row(admin, "live")).phase == ABORTED

        await wait_for(ended, "the execution to end ABORTED")
        group.cancel_scope.cancel()
    assert stubborn.abort_calls == [{"pod": "n0-0"}, {"pod": "n0-0"}]
    failed = logged(caplog, "aborting attempt 0 of node n0", "wingspan.plugins")
    assert failed and f"{PROJECT}/{DOMAIN}/live" in failed[0].getMessage()


async def test_a_refused_lease_release_is_logged_and_the_lease_left_to_run_out(
    admin: AdminService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wingspan.engine")
    await create(admin, "unreleased", python_target="nowhere")
    key = (await row(admin, "unreleased")).id
    worker = engine(admin, tmp_path, TaskPluginRegistry([]))
    async with anyio.create_task_group() as group:
        async with refusing(admin.db, "refuse_release", column="owner",
                            when="NEW.owner = '' AND OLD.owner <> ''"):
            group.start_soon(worker.run)

            async def release_refused() -> bool:
                return bool(logged(caplog, "releasing its lease failed"))

            await wait_for(release_refused, "the engine to try releasing the lease")
            assert key not in worker.running
        group.cancel_scope.cancel()
    message = logged(caplog, "releasing its lease failed")[0]
    assert message.getMessage().startswith(f"execution {key}:")
    assert message.levelno == logging.WARNING
    ended = await row(admin, "unreleased")
    assert ended.phase == FAILED
    # still held by the replica until its lease runs out
    assert ended.owner == "replica-a" and ended.lease_expires_at is not None
