"""A server's stop never waits forever for a task on the engine's loop.

The hang a CI run met (a console test's server stop, under load): a run cancelled mid-read has
its aiosqlite connection invalidated; SQLAlchemy closes it in a shielded task of its own, and
once its caller is cancelled too, stops the connection's thread. That task, cancelled in turn
when the engine's loop ends, awaits in aiosqlite's ``Connection.close`` ``finally`` a reply from
the thread that has ended: ``asyncio.run`` waited for it forever. The first test makes that
task, with the real aiosqlite, on a running server's engine loop."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
import anyio.to_thread
import pytest

from wingspan.core.config import Settings
from wingspan.server import serve
from wingspan.server.bounded_stop import ended_within, run_bounded
from wingspan.server.serve import ApiServer

pytestmark = pytest.mark.slow

#: the tasks these tests leave on a loop, held (a loop keeps only weak references to its tasks)
kept: list[Any] = []


async def leave_an_aiosqlite_close_that_waits_again(scratch: Path) -> None:
    """What SQLAlchemy leaves on the loop when a connection is invalidated as its caller is
    cancelled: ``close()`` in a shielded task, queued behind a call the connection's thread is
    busy with, then the thread told to stop. The busy call returns once the loop's end has
    cancelled the close, so the close's ``finally`` waits for a thread that ends meanwhile."""
    busy = threading.Event()
    connection = await aiosqlite.connect(scratch)
    await connection.create_function("busy", 0, lambda: int(busy.wait()))

    async def select_busy() -> None:
        await connection.execute("SELECT busy()")

    async def free_the_thread_once_cancelled() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            busy.set()

    kept.append(asyncio.ensure_future(select_busy()))
    await asyncio.sleep(0)  # the thread takes the busy call
    # SQLAlchemy's terminate(): the graceful close, shielded, given up on by its cancelled caller
    kept.append(asyncio.shield(connection.close()))
    await asyncio.sleep(0)  # the close is queued behind the busy call
    connection.stop()  # ...and the force close: the thread ends after the close
    kept.append(asyncio.ensure_future(free_the_thread_once_cancelled()))


async def test_a_server_stops_though_an_aiosqlite_close_left_on_the_engine_loop_waits_again(
        tmp_path: Path) -> None:
    server = ApiServer(Settings(home=tmp_path / "home", http_port=0, grpc_port=0), grace=2)
    await server.start()
    try:
        assert server.engine_thread is not None and server.engine_thread.loop is not None
        left = asyncio.run_coroutine_threadsafe(
            leave_an_aiosqlite_close_that_waits_again(tmp_path / "scratch.sqlite"), server.engine_thread.loop)
        await asyncio.wrap_future(left)
    finally:
        started = time.monotonic()
        with anyio.fail_after(60, reason="the server's stop waited forever for the aiosqlite close"):
            await server.stop()
        for plugin in server.engine.registry.plugins if server.engine is not None else ():
            await plugin.aclose()
    assert time.monotonic() - started < 30
    assert server.engine_thread is not None and not server.engine_thread.alive


class Stubborn:
    """A task's body that swallows every cancellation until ``give_in`` is set."""

    def __init__(self) -> None:
        self.give_in = False

    async def swallows_every_cancellation(self) -> None:
        while not self.give_in:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue


async def leave_a_task_that_never_ends() -> None:
    kept.append(asyncio.create_task(Stubborn().swallows_every_cancellation(), name="never-ends"))
    await asyncio.sleep(0)


async def test_a_task_that_swallows_every_cancellation_is_named_with_its_stack_and_left_behind(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="wingspan.server")
    started = time.monotonic()
    with anyio.fail_after(30, reason="the loop's end waited forever for a task that never ends"):
        await anyio.to_thread.run_sync(lambda: run_bounded(leave_a_task_that_never_ends(), within=0.5),
                                       abandon_on_cancel=True)
    assert time.monotonic() - started < 10
    (report,) = [r.getMessage() for r in caplog.records if "left behind" in r.getMessage()]
    assert "'never-ends'" in report and "swallows_every_cancellation" in report


async def test_a_call_left_running_on_the_default_executor_is_waited_for_within_the_bound(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="wingspan.server")
    blocked = threading.Event()

    async def leave_a_blocked_call() -> None:
        asyncio.get_running_loop().run_in_executor(None, blocked.wait)

    try:
        with anyio.fail_after(30, reason="the loop's end waited forever for its default executor"):
            await anyio.to_thread.run_sync(lambda: run_bounded(leave_a_blocked_call(), within=0.3),
                                           abandon_on_cancel=True)
    finally:
        blocked.set()
    assert any("the default executor's calls" in r.getMessage() for r in caplog.records)


async def test_a_wait_for_a_task_that_does_not_end_gives_up_at_its_bound_and_says_where_it_waits(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="wingspan.server")
    stubborn = Stubborn()
    stuck = asyncio.create_task(stubborn.swallows_every_cancellation(), name="stuck-engine")
    await asyncio.sleep(0)  # it runs, then is cancelled
    stuck.cancel()
    try:
        assert not await ended_within({stuck}, 0.2, what="stopping the engine")
        (report,) = [r.getMessage() for r in caplog.records]
        assert report.startswith("stopping the engine: 'stuck-engine' not ended within 0.2 s")
        assert "swallows_every_cancellation" in report
    finally:
        stubborn.give_in = True
        stuck.cancel()
        await asyncio.wait({stuck})


async def test_a_server_loop_that_does_not_end_once_cancelled_is_named_and_the_stop_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="wingspan.server")
    monkeypatch.setattr(serve, "LOOPS_END_WITHIN", 0.3)
    server = ApiServer(Settings(home=tmp_path / "home", http_port=0, grpc_port=0), grace=2)
    stubborn = Stubborn()
    await server.start()
    try:
        # a role's loop as the server runs them (an event publisher whose sink never closes, say)
        loop_task = server.supervise("stubborn loop", stubborn.swallows_every_cancellation())
        server._loops.append(loop_task)
        await asyncio.sleep(0)  # it runs
        # a plain task, not a scope: a stop stuck on a task that swallows cancellation fails the test
        stopping = asyncio.create_task(server.stop())
        await asyncio.wait({stopping}, timeout=30)
        assert stopping.done(), "the server's stop waited forever for one of its loops"
        stopping.result()
    finally:
        for plugin in server.engine.registry.plugins if server.engine is not None else ():
            await plugin.aclose()
        stubborn.give_in = True
        loop_task.cancel()
        await asyncio.wait({loop_task})
    (report,) = [r.getMessage() for r in caplog.records if "stopping the server's loops" in r.getMessage()]
    assert "'wingspan stubborn loop' not ended within 0.3 s" in report
