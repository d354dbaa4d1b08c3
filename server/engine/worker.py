"""The engine in the server: claims runnable executions and runs each to its end.

An execution is claimed with a lease (owner, expiry) that a heartbeat extends
(``leases``); a replica that stops heartbeating loses its executions to others, a
restarted server takes its own back at once, and a server stopped gracefully stores what its
runs recorded (``drain``: the handles of attempts just started), then gives the leases back
(``release_leases``) for another replica to follow at once. A claimed execution runs through the same
engine as a local run, resumed from what the database recorded of it (``runs``).
Terminating an execution (phase ABORTING) aborts its run (``aborts``); one the engine
cannot run ends FAILED, held here until that is recorded (``failures``).

Wake-ups: new executions are looked for each ``poll_interval`` seconds, stop requests and
signals of those running here each ``watch_interval`` seconds; on PostgreSQL a listener
hears of each at once, whichever process wrote it (:mod:`wingspan.server.db.wakeups`), and
polling is only the fallback.

Fencing: every batch of events is written only while this replica holds the lease
(checked with the execution's row locked). A replica that finds its lease lost (a
write refused, or a heartbeat that could not extend it) detaches that run at once:
no more events, its attempts left running for the replica that took over.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from wingspan.core.engine import RetryPolicy
from wingspan.server.db.engine import DATABASE_ERRORS
from wingspan.server.db.wakeups import CREATED, SIGNALLED, STOPPING, WakeupListener
from wingspan.server.engine.aborts import AbortWatcher
from wingspan.server.engine.failures import FailureRecorder
from wingspan.server.engine.leases import Leases
from wingspan.server.engine.runs import ClaimedExecution, ExecutionDriver
from wingspan.server.metrics import EngineMetrics, MeteredSink

if TYPE_CHECKING:
    from wingspan.core.engine import WorkflowRun
    from wingspan.core.plugins import TaskPluginRegistry
    from wingspan.server.services.admin import AdminService

__all__ = ["EngineWorker", "default_replica_id", "server_registry"]

log = logging.getLogger("wingspan.engine")

#: how the engine tries again what failed for a moment (recording FAILED, aborting an attempt)
ENGINE_RETRY = RetryPolicy(first_delay=0.5, factor=2.0, max_delay=30.0)
#: at most this long a graceful stop waits for the runs' queued events to be stored
STOP_FLUSH_WITHIN = 5.0


def server_registry(settings: Any) -> TaskPluginRegistry:
    """The task plugins of this server: Python tasks (and dynamic and eager tasks' bodies) run in local
    worker processes unless ``task_targets`` says otherwise."""
    from wingspan.core.plugins import load_plugins, parse_targets

    plugins = load_plugins(settings=settings)
    for failure in plugins.failed:
        log.warning("plugin %r did not load (%s): %s", failure.name, failure.stage, failure.error)
    plugins.install_transformers()
    plugins.install_environments()
    choices = {"python": "local-process", "dynamic": "local-process", "eager": "local-process",
               **parse_targets(settings.task_targets)}
    return plugins.registry(choices)


def default_replica_id(home: Path) -> str:
    """A stable id for a server on one machine and home: restarted, it knows its executions."""
    return f"{socket.gethostname()}:{abs(hash(str(home.resolve()))) % 10**8:08d}"


class EngineWorker:
    """Claims and runs executions until cancelled."""

    def __init__(
        self,
        admin: AdminService,
        registry: TaskPluginRegistry,
        work_dir: Path,
        *,
        replica_id: str = "",
        lease_seconds: float = 30.0,
        poll_interval: float = 0.2,
        watch_interval: float = 0.2,
        max_executions: int = 64,
        claim_batch: int = 8,
        retry: RetryPolicy = ENGINE_RETRY,
        metrics: EngineMetrics | None = None,
    ) -> None:
        self.admin = admin
        self.registry = registry
        self.replica_id = replica_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = lease_seconds
        self.poll_interval = poll_interval
        self.max_executions = max_executions
        # executions claimed at most per look: a burst of new ones is spread across replicas
        self.claim_batch = claim_batch
        # the executions held here, from their claim until their lease is given back
        self.running: dict[int, ClaimedExecution] = {}
        self.detached = False
        #: a graceful stop began (:meth:`drain`): nothing more is claimed
        self.stopping = False
        self._wake = anyio.Event()
        self.leases = Leases(admin.db, self.replica_id, seconds=lease_seconds)
        # the executions run here: their stop requests and their gates' signals read again so often
        self.driver = ExecutionDriver(admin, registry, work_dir, replica_id=self.replica_id, retry=retry,
                                      poll_interval=watch_interval, metrics=metrics)
        if metrics is not None:
            self.leases.on_takeover = metrics.took_over
            metrics.running_attempts.source = self._metered_runs
        self.failures = FailureRecorder(admin, self.replica_id, retry)
        self.aborts = AbortWatcher(admin.db, self._live_runs, interval=watch_interval)
        self.listener: WakeupListener | None = None
        if admin.db.dialect == "postgresql":
            self.listener = WakeupListener(admin.db.url, {
                CREATED: lambda _payload: self.wake(),
                STOPPING: lambda _payload: self.aborts.wake(),
                SIGNALLED: self._signal_set,
            })

    async def drain(self, within: float = STOP_FLUSH_WITHIN) -> None:
        """A graceful stop's first step, before :meth:`detach`: claims nothing more, starts no
        attempt, and stores what every run recorded so far, the handles of the attempts just
        started above all (detached first, those would be dropped and their attempts aborted,
        then run again by the successor). Waits at most ``within`` seconds: a write that cannot
        commit (its lease lost, the database away) does not hold the stop. The attempts whose
        start is under way are waited for first: their handles are among what is stored."""
        self.stopping = self.driver.stopping = True
        with anyio.move_on_after(within) as waited:
            await self.driver.starts.none()  # their handles, recorded meanwhile, are stored below
            sinks = [c.sink for c in list(self.running.values()) if c.sink is not None and not c.lost]
            for sink in sinks:
                if sink.lease_lost:  # its events are another replica's to write now
                    continue
                try:
                    await sink.flush()
                except Exception as exc:  # its run ends with it; the other runs' events still count
                    log.warning("execution %s: its events could not be stored while stopping (%s: %s)",
                                sink.execution_id.name, type(exc).__name__, exc)
        if waited.cancelled_caught:
            log.warning("stopping: events of running executions were not stored within %s s; the "
                        "attempts whose handles were among them are aborted", within)

    def detach(self) -> None:
        """Stops recording and leaves attempts running (the server stops; another takes over):
        what the runs would record as they are cancelled is not the executions' fate."""
        self.detached = True
        for claimed in self.running.values():
            claimed.detach()

    async def release_leases(self) -> None:
        """Once detached and its run ended, gives back the leases of what it held: another
        replica claims them at once and follows their attempts, left running."""
        released = await self.leases.release_all()
        if released:
            log.info("gave back the leases of %d execution(s) for another replica to resume", released)

    def lose(self, execution_key: int) -> None:
        """Stops acting on an execution whose lease this replica no longer holds: records
        nothing more, leaves its attempts running, ends its run."""
        claimed = self.running.get(execution_key)
        if claimed is None or claimed.lost:
            return
        log.warning("execution %s: lease lost; detaching its run", execution_key)
        claimed.lost = True
        claimed.detach()
        claimed.scope.cancel()

    def wake(self) -> None:
        """Looks for new executions now rather than at the next poll."""
        self._wake.set()

    def _signal_set(self, payload: str) -> None:
        if payload.isdigit():
            self.driver.signals_set.ring(int(payload))
        else:  # the listener (re)connected: what was set meanwhile went unheard
            self.driver.signals_set.ring_all()

    async def run(self) -> None:
        async with anyio.create_task_group() as group:
            if self.listener is not None:
                group.start_soon(self.listener.run)
            group.start_soon(self._heartbeat)
            group.start_soon(self.aborts.run)
            group.start_soon(self.driver.writer.run)
            while True:
                keys = await self._claim()
                for execution_key in keys:
                    self.running[execution_key] = ClaimedExecution(execution_key)
                    group.start_soon(self._run_one, self.running[execution_key])
                # a full batch: more may wait, looked for again soon (other replicas claim too)
                full = len(keys) >= self.claim_batch
                with anyio.move_on_after(self.poll_interval / 4 if full else self.poll_interval):
                    await self._wake.wait()
                self._wake = anyio.Event()

    async def _claim(self) -> list[int]:
        room = min(self.max_executions - len(self.running), self.claim_batch)
        if room <= 0 or self.stopping:
            return []
        return await self.leases.claim(room, besides=list(self.running))

    async def _heartbeat(self) -> None:
        while True:
            await anyio.sleep(self.lease / 3)
            try:
                await self.heartbeat()
            except DATABASE_ERRORS as exc:  # the database is away: the leases run out, others take over
                log.warning("heartbeat failed (%s: %s)", type(exc).__name__, exc)
            except Exception:
                log.exception("heartbeat failed")

    async def heartbeat(self) -> None:
        """Extends the leases of the executions held here; detaches those it could not
        extend (another replica owns them now)."""
        keys = [k for k, claimed in self.running.items() if not claimed.lost]
        extended = await self.leases.extend(keys)
        for execution_key in keys:
            if execution_key not in extended:
                self.lose(execution_key)

    def _metered_runs(self) -> list[MeteredSink]:
        # a copy: a scrape may run in another thread while runs start and end
        return [c.metered for c in list(self.running.values()) if c.metered is not None and not c.lost]

    def _live_runs(self) -> dict[int, WorkflowRun]:
        return {k: c.run for k, c in self.running.items() if c.run is not None and not c.lost}

    async def _run_one(self, claimed: ClaimedExecution) -> None:
        execution_key = claimed.key
        try:
            with claimed.scope:
                await self.driver.drive(claimed, on_lease_lost=lambda: self.lose(execution_key))
        except Exception as exc:
            if not claimed.lost:
                log.exception("execution %s: the engine failed", execution_key)
                # still among self.running while this tries: held, not claimed again
                await self.failures.record(
                    execution_key, exc, holding=lambda: not (claimed.lost or self.detached)
                )
        finally:
            self.running.pop(execution_key, None)
            await self.leases.release(execution_key)
