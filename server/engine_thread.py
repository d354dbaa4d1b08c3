"""The engine role on a thread of its own, beside the API in one ``wingspan serve`` process.

Sharing one event loop, the engine's synchronous stretches (a big map's first batch of events
applied, a closure loaded, a journal replayed) held every HTTP and gRPC call behind them: the
console's page of a 10,000-node execution waited seconds for the loop, not for its work. Here
the engine runs on its own thread and event loop with its own service layer (its own database
pools and blob store client, as an engine replica in another process has), so the API's loop
answers while the engine works; the interpreter's switch interval shares the CPU between them.

What crossed between the roles in the process crosses threads here, each way by
``call_soon_threadsafe``: a new execution wakes the engine (:meth:`EngineThread.wake`), events
the engine stores wake the API's followers and the outbox's publishers (``on_stored``), and the
API reads a running attempt's log through its plugin on the engine's loop, where the plugin's
clients live (:meth:`EngineThread.log_readers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wingspan.core.config import Settings
from wingspan.core.plugins import Handle
from wingspan.server.bounded_stop import ENGINE_END_WITHIN, ended_within, run_bounded

if TYPE_CHECKING:
    from wingspan.server.engine.worker import EngineWorker
    from wingspan.server.metrics import EngineMetrics
    from wingspan.server.services.admin import AdminService
    from wingspan.server.services.logs import LogReader
    from wingspan.server.services.notifications import NotificationKinds

__all__ = ["EngineThread"]

log = logging.getLogger("wingspan.server")


class EngineThread:
    """Runs an :class:`~wingspan.server.engine.worker.EngineWorker` on its own thread and loop.

    ``on_stored`` is called on the engine's thread with the key of each execution whose events
    were stored; ``on_failed`` likewise with why the engine stopped by itself while serving."""

    def __init__(
        self, settings: Settings, *, replica_id: str, lease_seconds: float, poll_seconds: float,
        notification_kinds: NotificationKinds, metrics: EngineMetrics | None,
        on_stored: Callable[[int], None], on_failed: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.replica_id = replica_id
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.notification_kinds = notification_kinds
        self.metrics = metrics
        self.on_stored = on_stored
        self.on_failed = on_failed
        #: the worker, once started (read by the thread that started it only after :meth:`start`)
        self.engine: EngineWorker | None = None
        self.admin: AdminService | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._started: asyncio.Future[None] | None = None
        self._ended: asyncio.Future[None] | None = None
        self._stopping = False
        self._stop_task: asyncio.Task[None] | None = None  # held: the loop keeps only weak references
        self._cancelled: asyncio.Future[None] | None = None  # set once the stop cancelled the engine

    async def start(self) -> None:
        """Starts the thread; returns once its engine runs, or raises why it could not start."""
        caller = asyncio.get_running_loop()
        self._started, self._ended = caller.create_future(), caller.create_future()
        self._thread = threading.Thread(target=self._main, args=(caller,), name="wingspan engine",
                                        daemon=True)
        self._thread.start()
        await asyncio.shield(self._started)

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The engine's event loop (None until started)."""
        return self._loop

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Looks for new executions now (callable from any thread)."""
        loop, engine = self._loop, self.engine
        if loop is not None and engine is not None and not loop.is_closed():
            loop.call_soon_threadsafe(engine.wake)

    def log_readers(self) -> dict[str, LogReader]:
        """The task plugins' log readers, each run on the engine's loop (where the plugin's
        clients belong) and awaited from the caller's."""
        from wingspan.server.services.logs import plugin_log_readers

        assert self.engine is not None and self._loop is not None
        loop = self._loop

        def bridged(reader: LogReader) -> LogReader:
            async def on_engine_loop(handle: Handle, offset: int) -> bytes:
                return await reader(handle, offset)

            async def read(handle: Handle, offset: int = 0) -> bytes:
                running = asyncio.run_coroutine_threadsafe(on_engine_loop(handle, offset), loop)
                return await asyncio.wrap_future(running)

            return read

        readers = plugin_log_readers(self.engine.registry.plugins)
        return {name: bridged(reader) for name, reader in readers.items()}

    async def stop(self) -> None:
        """Stores what the engine's runs recorded (bounded, see ``EngineWorker.drain``), then
        detaches the engine (its attempts keep running), gives back its leases, closes its
        service layer and ends the thread (safe to call twice, and after a failed start).
        Every wait has a bound: a task that does not end in time is logged and left behind."""
        first = not self._stopping
        self._stopping = True
        loop, task = self._loop, self._task
        if first and loop is not None and task is not None and not loop.is_closed():
            def begin() -> None:
                self._stop_task = loop.create_task(self._drain_and_cancel(task), name="wingspan engine stop")

            loop.call_soon_threadsafe(begin)
        if self._ended is not None:
            await asyncio.shield(self._ended)
        if self._thread is not None:  # it has ended its loop; only its last line is left
            await asyncio.to_thread(self._thread.join)

    # ---- on the engine's thread --------------------------------------------------------------

    async def _drain_and_cancel(self, task: asyncio.Task[None]) -> None:
        engine = self.engine
        try:
            if engine is not None and not task.done():
                await engine.drain()
        finally:
            if engine is not None:
                engine.detach()
            task.cancel()
            if self._cancelled is not None and not self._cancelled.done():
                self._cancelled.set_result(None)

    async def _engine_ended(self, task: asyncio.Task[None], cancelled: asyncio.Future[None]) -> None:
        """Returns once the engine's task ended (raising what it raised, but for the stop's
        cancellation), or :data:`ENGINE_END_WITHIN` seconds after a stop cancelled it."""
        await asyncio.wait({task, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and not await ended_within({task}, ENGINE_END_WITHIN, what="stopping the engine"):
            return
        try:
            task.result()
        except asyncio.CancelledError:
            if not self._stopping:
                raise

    def _main(self, caller: asyncio.AbstractEventLoop) -> None:
        error: BaseException | None = None
        try:
            run_bounded(self._serve(caller))
        except BaseException as exc:  # reported to the caller's loop, which owns the outcome
            error = exc
        finally:
            with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits
                caller.call_soon_threadsafe(self._end, error)

    def _end(self, error: BaseException | None) -> None:
        assert self._started is not None and self._ended is not None
        if not self._started.done():
            self._started.set_exception(error or RuntimeError("the engine's thread ended while starting"))
        elif self._stopping:
            if error is not None and not isinstance(error, asyncio.CancelledError):
                log.error("the engine failed while stopping", exc_info=error)
        else:
            why = f"{type(error).__name__}: {error}" if error else "its loop returned"
            log.error("the engine stopped: %s", why, exc_info=error)
            self.on_failed(f"the engine stopped: {why}")
        self._ended.set_result(None)

    async def _serve(self, caller: asyncio.AbstractEventLoop) -> None:
        from wingspan.server.engine.worker import EngineWorker, server_registry
        from wingspan.server.services.admin import AdminService

        self._loop = asyncio.get_running_loop()
        admin = self.admin = await AdminService.open(self.settings)
        try:
            admin.entities.notification_kinds = admin.executions.notification_kinds = self.notification_kinds
            if self.metrics is not None:
                admin.db.on_transaction = self.metrics.transaction_held
            admin.events.on_stored.append(self.on_stored)
            registry = server_registry(self.settings)
            engine = EngineWorker(admin, registry, self.settings.home / "logs", replica_id=self.replica_id,
                                  lease_seconds=self.lease_seconds, poll_interval=self.poll_seconds,
                                  watch_interval=self.poll_seconds, metrics=self.metrics)
            # what the engine itself creates (a launch plan's run as a node) it looks for at once
            admin.executions.on_created.append(engine.wake)
            self.engine = engine
            self._cancelled = self._loop.create_future()
            self._task = asyncio.create_task(engine.run(), name="wingspan engine")
            assert self._started is not None
            caller.call_soon_threadsafe(_settle, self._started)
            try:
                await self._engine_ended(self._task, self._cancelled)
            finally:
                # its attempts keep running: a successor resumes them now, not once the leases run out
                await engine.release_leases()
        finally:
            await admin.aclose()


def _settle(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_result(None)
