"""A graceful stop stores what the runs queued before it lets go: an attempt started just before
the stop, its handle still waiting for its write (it is not waited for, see
:mod:`wingspan.server.engine.sink`), is left running with its handle stored, and the successor
follows it instead of running it again. The window is held open by holding the engine's writer
at the write that carries the handle, not by timing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from tests.integration.engine.test_engine_errors import create, engine, row, wait_for
from wingspan.core.model import events as stored
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.interface import ExecutionId
from wingspan.core.model.literals import LiteralMap
from wingspan.core.plugins.contract import Handle, TaskContext, TaskPlugin, TaskStatus
from wingspan.core.plugins.registry import TaskPluginRegistry
from wingspan.core.types import default_engine
from wingspan.protos import v1
from wingspan.server.db.models import ExecutionRow, TaskExecutionRow
from wingspan.server.engine import leases, sink
from wingspan.server.engine.worker import EngineWorker
from wingspan.server.services.admin import AdminService

pytestmark = [pytest.mark.slow]

SUCCEEDED = int(v1.WorkflowPhase.SUCCEEDED)


class Held(TaskPlugin):
    """Python tasks that run until ``finish`` is set, then succeed; counts starts and aborts."""

    name: ClassVar[str] = "held"
    task_types: ClassVar[tuple[str, ...]] = ("python",)
    poll_interval: ClassVar[float] = 0.02

    def __init__(self, *, slow_start: bool = False) -> None:
        self.starts: list[tuple[str, int]] = []
        self.aborts: list[Handle] = []
        self.finish = False
        #: with ``slow_start``, each start waits for ``start_done`` once ``start_reached`` is set
        self.slow_start = slow_start
        self.start_reached = anyio.Event()
        self.start_done = anyio.Event()

    async def start(self, ctx: TaskContext) -> Handle:
        self.starts.append((ctx.node_id, ctx.attempt))
        if self.slow_start:
            self.start_reached.set()
            await self.start_done.wait()
        return {"pod": f"{ctx.node_id}-{ctx.attempt}"}

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        if not self.finish:
            return TaskStatus(TaskPhase.RUNNING)
        one = await default_engine().to_literal(1, int)
        return TaskStatus(TaskPhase.SUCCEEDED, outputs=LiteralMap({"o0": one}))

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        self.aborts.append(handle)


class AbortHangs(Held):
    """As :class:`Held`, but an abort never returns (a cluster that takes the call and never answers)."""

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        self.aborts.append(handle)
        await anyio.Event().wait()


def carries_a_handle(event: stored.Event) -> bool:
    return bool(getattr(event.value, "plugin_handle", b""))


def starts_n1(event: stored.Event) -> bool:
    value = event.value
    if not isinstance(value, stored.TaskExecutionEvent) or value.id is None:
        return False
    node = value.id.node_execution_id
    return node is not None and node.node_id == "n1"


class WriteHeld:
    """Holds the engine's writer at the first write with an event that ``holds``, until
    ``release`` is set (``reached`` says it is held there)."""

    def __init__(self, admin: AdminService, monkeypatch: pytest.MonkeyPatch,
                 holds: Callable[[stored.Event], bool] = carries_a_handle) -> None:
        self.holds = holds
        self.reached = anyio.Event()
        self.release = anyio.Event()
        self._ingest_many = admin.events.ingest_many
        monkeypatch.setattr(admin.events, "ingest_many", self.ingest_many)

    async def ingest_many(self, batches: Sequence[tuple[ExecutionId, Sequence[stored.Event], str]]) -> Any:
        if not self.release.is_set() and any(self.holds(e) for _, events, _ in batches for e in events):
            self.reached.set()
            await self.release.wait()
        return await self._ingest_many(batches)


async def handles_of(admin: AdminService, node_id: str) -> list[tuple[int, bytes | None]]:
    async with admin.db.read() as session:
        found = (await session.execute(select(TaskExecutionRow.attempt, TaskExecutionRow.plugin_handle)
                                       .where(col(TaskExecutionRow.node_id) == node_id))).all()
    return [(attempt, handle) for attempt, handle in found]


async def successor_ends(admin: AdminService, registry: TaskPluginRegistry, tmp_path: Path,
                         name: str) -> None:
    """Another replica claims the execution ``name`` (its lease given back) and runs it to success."""
    second = EngineWorker(admin, registry, tmp_path / "second", replica_id="replica-b", lease_seconds=600)
    async with anyio.create_task_group() as group:
        group.start_soon(second.run)

        async def succeeded() -> bool:
            return (await row(admin, name)).phase == SUCCEEDED

        await wait_for(succeeded, f"the successor to end {name}")
        group.cancel_scope.cancel()


async def test_a_stop_right_after_an_attempt_started_stores_its_handle_and_the_successor_follows_it(
    admin: AdminService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = Held()
    registry = TaskPluginRegistry([held], {"python": "held"})
    await create(admin, "just-started")
    writes = WriteHeld(admin, monkeypatch)
    first = engine(admin, tmp_path, registry)
    async with anyio.create_task_group() as group:
        group.start_soon(first.run)
        with anyio.fail_after(30, reason="the attempt's handle never went to the writer"):
            await writes.reached.wait()
        assert held.starts == [("n0", 0)]
        # the stop begins while the handle's write is held; the writer goes on only then (this
        # task runs once the stop waits for something: after it began)
        async def release() -> None:
            writes.release.set()

        group.start_soon(release)
        with anyio.fail_after(30, reason="the stop did not end"):
            await first.drain()
        first.detach()
        group.cancel_scope.cancel()
    await first.release_leases()
    assert held.aborts == []  # left running, to be followed
    assert [(attempt, handle is not None) for attempt, handle in await handles_of(admin, "n0")] == [(0, True)]

    held.finish = True
    await successor_ends(admin, registry, tmp_path, "just-started")
    # followed through its handle: attempt 0 only, started once, never aborted
    assert [s for s in held.starts if s[0] == "n0"] == [("n0", 0)]
    assert [attempt for attempt, _ in await handles_of(admin, "n0")] == [0]
    assert held.aborts == []


async def test_a_stop_whose_writes_cannot_commit_ends_within_its_bound(
    admin: AdminService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = Held()
    await create(admin, "unwritable")
    writes = WriteHeld(admin, monkeypatch)  # never released: the database does not answer
    first = engine(admin, tmp_path, TaskPluginRegistry([held], {"python": "held"}))
    async with anyio.create_task_group() as group:
        group.start_soon(first.run)
        with anyio.fail_after(30, reason="the attempt's handle never went to the writer"):
            await writes.reached.wait()
        with anyio.fail_after(10, reason="the stop waited for a write that cannot commit"):
            await first.drain(within=0.2)
        first.detach()
        group.cancel_scope.cancel()
    # nobody could follow it: aborted, as when the handle's write is refused
    assert held.aborts == [{"pod": "n0-0"}]


async def test_no_attempt_starts_once_the_stop_began(
    admin: AdminService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = Held()
    registry = TaskPluginRegistry([held], {"python": "held"})
    await create(admin, "next-held")
    held.finish = True  # n0 ends at once; the start of n1 is being stored when the stop begins
    writes = WriteHeld(admin, monkeypatch, holds=starts_n1)
    first = engine(admin, tmp_path, registry)
    async with anyio.create_task_group() as group:
        group.start_soon(first.run)
        with anyio.fail_after(30, reason="the start of n1 never went to the writer"):
            await writes.reached.wait()

        async def release() -> None:  # runs once the stop waits for something: after it began
            writes.release.set()

        group.start_soon(release)
        with anyio.fail_after(30, reason="the stop did not end"):
            await first.drain()
        first.detach()
        group.cancel_scope.cancel()
    await first.release_leases()
    assert held.starts == [("n0", 0)]  # n1's start was stored, its body never started

    await successor_ends(admin, registry, tmp_path, "next-held")
    # attempt 0 of n1, stored as starting without a handle, counts as interrupted (an engine's
    # retry, not the task's): the successor runs attempt 1, the only one that ever started
    assert held.starts == [("n0", 0), ("n1", 1)]


async def test_a_stop_while_an_attempt_is_starting_waits_for_its_handle_and_stores_it(
    admin: AdminService, tmp_path: Path
) -> None:
    held = Held(slow_start=True)
    registry = TaskPluginRegistry([held], {"python": "held"})
    await create(admin, "starting")
    first = engine(admin, tmp_path, registry)
    async with anyio.create_task_group() as group:
        group.start_soon(first.run)
        with anyio.fail_after(30, reason="the attempt never started"):
            await held.start_reached.wait()

        async def start_done() -> None:  # runs once the stop waits for something: after it began
            held.start_done.set()

        group.start_soon(start_done)
        with anyio.fail_after(30, reason="the stop did not end"):
            await first.drain()
        first.detach()
        group.cancel_scope.cancel()
    await first.release_leases()
    assert held.aborts == []
    assert [(attempt, handle is not None) for attempt, handle in await handles_of(admin, "n0")] == [(0, True)]

    held.finish, held.slow_start = True, False
    await successor_ends(admin, registry, tmp_path, "starting")
    assert [s for s in held.starts if s[0] == "n0"] == [("n0", 0)]  # followed, never started again


async def test_a_stop_whose_abort_of_an_unstored_attempt_never_returns_ends_within_its_bound(
    admin: AdminService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="wingspan.engine")
    monkeypatch.setattr(sink, "ABORT_UNSTORED_WITHIN", 0.5)
    hangs = AbortHangs()
    await create(admin, "abort-hangs")
    writes = WriteHeld(admin, monkeypatch)  # never released: the handle is never stored
    first = engine(admin, tmp_path, TaskPluginRegistry([hangs], {"python": "held"}))

    async def run_then_stop() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(first.run)
            with anyio.fail_after(30, reason="the attempt's handle never went to the writer"):
                await writes.reached.wait()
            await first.drain(within=0.2)
            first.detach()
            group.cancel_scope.cancel()  # the run's sink aborts the attempt (shielded) as it ends

    # a plain task, not a scope: an engine that waits on a shielded abort forever fails the test
    stopping = asyncio.create_task(run_then_stop())
    await asyncio.wait({stopping}, timeout=20)
    assert stopping.done(), "the engine's stop waited for an abort that never returns"
    stopping.result()
    assert hangs.aborts == [{"pod": "n0-0"}]  # tried, then given up on and named
    given_up = [r.getMessage() for r in caplog.records if "handles were not stored" in r.getMessage()]
    assert len(given_up) == 1 and "attempt 0 of node n0 on task plugin 'held'" in given_up[0]
    assert "'pod': 'n0-0'" in given_up[0]


async def test_leases_the_database_does_not_give_back_within_the_bound_are_left_to_run_out(
    admin: AdminService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="wingspan.engine")
    monkeypatch.setattr(leases, "RELEASE_ALL_WITHIN", 0.3)
    held = Held()
    await create(admin, "lease-kept")
    first = engine(admin, tmp_path, TaskPluginRegistry([held], {"python": "held"}))
    async with anyio.create_task_group() as group:
        group.start_soon(first.run)

        async def started() -> bool:
            return bool(held.starts)

        await wait_for(started, "the attempt to start")
        await first.drain()
        first.detach()
        group.cancel_scope.cancel()
    holding, let_go = anyio.Event(), anyio.Event()

    async def hold_the_row() -> None:  # SQLite's one writer, PostgreSQL's row lock: taken, kept
        async with admin.db.write() as session:
            await session.execute(update(ExecutionRow).where(col(ExecutionRow.owner) == "replica-a")
                                  .values(reason=""))
            holding.set()
            await let_go.wait()

    async with anyio.create_task_group() as group:
        group.start_soon(hold_the_row)
        await holding.wait()
        try:
            with anyio.fail_after(10, reason="the stop waited for the database to give the leases back"):
                await first.release_leases()
        finally:
            let_go.set()
    assert (await row(admin, "lease-kept")).owner == "replica-a"  # left to run out
    warned = [r.getMessage() for r in caplog.records if "releasing this replica's leases" in r.getMessage()]
    assert warned == ["releasing this replica's leases failed (TimeoutError: no answer within 0.3 s); "
                      "they run out within 600 s"]
