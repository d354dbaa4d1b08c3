"""Ending an execution the engine cannot run (a bad target, a closure it cannot load):
FAILED, saying what went wrong, rather than claimed again and again.

Recording that can itself fail (the database away, or refusing the write). The execution is
then held by the replica that could not record it: it stays among the replica's running
executions, so this replica does not claim it again and its heartbeat keeps the lease, so no
other replica does either, while the recording is tried again with backoff
(``RetryPolicy``: 0.5 s doubling up to 30 s, every failure logged with its count). It ends
FAILED once the database answers. Holding stops when the lease is lost (another replica has
taken the execution over and will meet the same problem) or the server stops (its lease then
runs out, and a replica that claims it records the failure).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from wingspan.core.engine import RetryPolicy
from wingspan.core.engine.failures import error_from_exception
from wingspan.core.errors import LeaseLostError
from wingspan.core.model.events import Event, WorkflowExecutionEvent
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.interface import ExecutionId
from wingspan.core.model.literals import ErrorKind
from wingspan.core.model.record import replace
from wingspan.server.db.engine import DATABASE_ERRORS, now
from wingspan.server.db.models import ExecutionRow
from wingspan.server.engine.journal import last_sequence
from wingspan.server.engine.leases import RUNNABLE

if TYPE_CHECKING:
    from wingspan.server.services.admin import AdminService

__all__ = ["FailureRecorder"]

log = logging.getLogger("wingspan.engine")

#: the longest reason stored with the FAILED phase (the full error goes with it)
_REASON_CHARS = 300


class FailureRecorder:
    """Records executions that replica ``replica_id`` could not run as FAILED."""

    def __init__(self, admin: AdminService, replica_id: str, retry: RetryPolicy) -> None:
        self.admin = admin
        self.replica_id = replica_id
        self.retry = retry

    async def record(self, execution_key: int, exc: Exception, *, holding: Callable[[], bool]) -> None:
        """Ends the execution FAILED with ``exc`` as its error, trying until it is recorded or
        ``holding()`` turns false (the lease lost, the server stopping)."""
        failures = 0
        while holding():
            try:
                await self._record_once(execution_key, exc)
                return
            except LeaseLostError as lost:
                log.warning("execution %s: not recorded as FAILED, lease lost (%s)", execution_key, lost)
                return
            except DATABASE_ERRORS as refused:
                failures += 1
                delay = self.retry.delay(failures)
                log.warning(
                    "execution %s: recording it FAILED failed (%d time(s): %s: %s); held here, "
                    "trying again in %.1f s",
                    execution_key, failures, type(refused).__name__, refused, delay,
                )
            except Exception:  # a bug here: trying again may not help, but claiming again would loop
                failures += 1
                delay = self.retry.delay(failures)
                log.exception(
                    "execution %s: recording it FAILED raised (%d time(s)); held here, trying again in "
                    "%.1f s",
                    execution_key, failures, delay,
                )
            await anyio.sleep(delay)

    async def _record_once(self, execution_key: int, exc: Exception) -> None:
        admin = self.admin
        async with admin.db.read() as session:
            row = await session.get(ExecutionRow, execution_key)
        if row is None or row.phase not in RUNNABLE:
            return  # deleted or ended meanwhile: nothing left to record
        cause = _cause(exc)
        error = replace(error_from_exception(cause, ""), kind=ErrorKind.SYSTEM)
        execution_id = ExecutionId(row.project, row.domain, row.name)
        event = WorkflowExecutionEvent(
            execution_id=execution_id,
            producer_id=self.replica_id,
            phase=WorkflowPhase.FAILED,
            occurred_at=now(),
            error=error,
            reason=f"the engine could not run it: {cause}"[:_REASON_CHARS],
            sequence=await last_sequence(admin.db, execution_key) + 1,
        )
        await admin.events.ingest(execution_id, [Event("workflow", event)], owner=self.replica_id)


def _cause(exc: BaseException) -> BaseException:
    """What went wrong, out of the task groups it went through (each wraps it in a group)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
