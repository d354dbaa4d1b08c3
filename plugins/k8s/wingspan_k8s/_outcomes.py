"""What an ended attempt gives the engine, read from the blob store: the outputs the task
wrote (``outputs.pb``), or the task's own error (``error.pb``) when it explained its failure.
Shared by the pod plugin and the custom-object plugins: both run the same ``wingspan
execute`` in the attempt's pod (a task pod, a Spark driver, a Dask job runner)."""

from __future__ import annotations

from typing import Protocol

from wingspan.plugin import (
    TERMINAL,
    BlobStore,
    ErrorKind,
    ExecutionError,
    LiteralMap,
    TaskContext,
    TaskLog,
    TaskPhase,
    TaskStatus,
)

__all__ = ["AttemptState", "attempt_status", "open_store"]


class AttemptState(Protocol):
    """An attempt's state as read from the cluster, before its outputs are read."""

    @property
    def phase(self) -> TaskPhase: ...
    @property
    def reason(self) -> str: ...
    @property
    def error(self) -> ExecutionError | None: ...
    @property
    def read_outputs(self) -> bool: ...
    @property
    def read_error(self) -> bool: ...


def open_store(prefix: str) -> BlobStore:
    """The blob store a handle's prefix lives in (a replica resuming without the engine's)."""
    from wingspan.core.config import Settings
    from wingspan.core.storage import store_for_uri

    return store_for_uri(prefix, Settings.load())


async def attempt_status(ctx: TaskContext, prefix: str, state: AttemptState,
                         logs: tuple[TaskLog, ...], what: str = "pod") -> TaskStatus:
    """The status the engine sees: outputs (or the task's own error) read from the store;
    ``what`` names what succeeded without outputs ("pod", "SparkApplication")."""
    from wingspan.core.engine.attempt_files import AttemptFiles
    from wingspan.core.engine.reports import REPORT_LOG
    from wingspan.core.model import codec

    if state.phase not in TERMINAL:
        return TaskStatus(state.phase, logs=logs, reason=state.reason)
    store = ctx.transfer.store or open_store(prefix)
    files = AttemptFiles(prefix)
    if await store.exists(files.report):  # the page of the decks the task made, if it made any
        logs = (*logs, TaskLog(REPORT_LOG, files.report))
    if state.read_outputs:
        if not await store.exists(files.outputs):
            return TaskStatus(TaskPhase.FAILED, logs=logs, reason="no outputs", error=ExecutionError(
                code="NoOutputs", message=f"the task's {what} succeeded but wrote no {files.outputs}",
                kind=ErrorKind.SYSTEM, retryable=True, node_id=ctx.node_id))
        return TaskStatus(TaskPhase.SUCCEEDED, codec.decode(LiteralMap, await store.get(files.outputs)), logs)
    error = state.error
    if state.read_error and await store.exists(files.error):
        error = codec.decode(ExecutionError, await store.get(files.error))
    return TaskStatus(state.phase, logs=logs, reason=state.reason, error=error)
