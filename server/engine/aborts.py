"""Stopping what terminated executions run: the runs on this replica of executions asked to
abort, and the attempts an earlier run left running (pods, processes) when nobody runs them.

Aborting an attempt goes through its task plugin, which may fail for a moment (its cluster
unreachable): ``abort_attempt`` tries again with backoff and logs every failure, so that an
attempt left running is never silent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import anyio
from sqlmodel import col, select

from wingspan.core.engine import RetryPolicy
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.plugins import TaskContext
from wingspan.core.plugins.aborts import ABORT_RETRY, abort_attempt
from wingspan.server.db.engine import DATABASE_ERRORS, Database
from wingspan.server.db.models import ExecutionRow

if TYPE_CHECKING:
    from wingspan.core.engine import WorkflowRun
    from wingspan.core.engine.journal import Journal
    from wingspan.core.plugins import TaskPluginRegistry

__all__ = ["AbortWatcher", "abort_left_running"]

log = logging.getLogger("wingspan.engine")

_STOPPING = (int(WorkflowPhase.ABORTING), int(WorkflowPhase.ABORTED))


class AbortWatcher:
    """Aborts the runs (``runs()``: by execution key) of executions terminated: ABORTING, or
    ABORTED by force, or deleted. One query for every run here, each ``interval`` seconds, or
    at once when woken (``wake``: an execution was asked to stop)."""

    def __init__(
        self, db: Database, runs: Callable[[], Mapping[int, WorkflowRun]], *, interval: float = 0.25
    ) -> None:
        self.db = db
        self.runs = runs
        self.interval = interval
        self._aborted: set[int] = set()
        self._woken = anyio.Event()

    def wake(self) -> None:
        """Looks now rather than at the next interval."""
        self._woken.set()

    async def run(self) -> None:
        while True:
            with anyio.move_on_after(self.interval):
                await self._woken.wait()
            # woken during the look below: looked again at once
            self._woken = anyio.Event()
            try:
                await self.look()
            except DATABASE_ERRORS as exc:  # the database is away: looked for again next time
                log.warning("looking for terminated executions failed (%s: %s)", type(exc).__name__, exc)
            except Exception:
                log.exception("looking for terminated executions failed")

    async def look(self) -> None:
        """Aborts, once each, the runs of executions that are stopping."""
        runs = dict(self.runs())
        self._aborted &= set(runs)
        if not runs:
            return
        statement = select(ExecutionRow.id, ExecutionRow.phase, ExecutionRow.reason).where(
            col(ExecutionRow.id).in_(list(runs))
        )
        # one statement, no session: no BEGIN and ROLLBACK around a look repeated four times a second
        found = {key: (phase, reason) for key, phase, reason in await self.db.query(statement)}
        for execution_key, run in runs.items():
            phase, reason = found.get(execution_key, (None, ""))
            if execution_key not in self._aborted and (phase is None or phase in _STOPPING):
                self._aborted.add(execution_key)
                run.abort(reason or "terminated")


async def abort_left_running(
    registry: TaskPluginRegistry,
    journal: Journal,
    execution_id: str,
    *,
    retry: RetryPolicy = ABORT_RETRY,
) -> None:
    """Aborts the attempts ``journal`` records as running (an earlier run's, followed by
    nobody now), each through the plugin that started it, tried again when it fails."""
    for node_id, running in journal.running.items():
        plugin = next((p for p in registry.plugins if p.name == running.plugin), None)
        if plugin is None or running.handle is None:
            continue
        context = TaskContext(TaskTemplate(), LiteralMap({}), execution_id, node_id, running.attempt)
        await abort_attempt(plugin, context, running.handle, retry=retry)
