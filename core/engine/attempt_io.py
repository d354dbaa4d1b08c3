"""Blob-store I/O of a running attempt from its synchronous task code (checkpoints, reports):
on the event loop whose worker thread runs the task, else on a loop of its own in a helper
thread (a task the engine ran on the loop's own thread, or in a forked child)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.from_thread

from wingspan.core.engine.attempt_files import attempt_prefix

if TYPE_CHECKING:
    from wingspan.core.storage.interface import BlobStore

__all__ = ["attempt_store", "prefix_in", "run_blocking"]

T = TypeVar("T")


def attempt_store(given: BlobStore | None) -> BlobStore:
    """The attempt's store: ``given`` (a worker's, a pod's), else this process's configured one."""
    if given is not None:
        return given
    from wingspan.core.config import Settings
    from wingspan.core.storage import open_blob_store

    return open_blob_store(Settings.load())


def prefix_in(store: BlobStore, given: str, execution_id: str, node_id: str, attempt: int) -> str:
    """The attempt's output prefix: ``given`` (what its starter chose), else its place in ``store``."""
    return given or attempt_prefix(store.root, execution_id, node_id, attempt)


def run_blocking(given: BlobStore | None, work: Callable[[BlobStore], Awaitable[T]]) -> T:
    """Runs ``work`` on the attempt's store from synchronous code, and waits for it."""

    async def run() -> T:
        return await work(attempt_store(given))

    try:
        return anyio.from_thread.run(run)
    except RuntimeError:
        pass  # not a worker thread of a running loop
    # a loop of its own, in a thread of its own: this thread may run a loop, or look as if it
    # did (a child forked from a loop's thread)
    with ThreadPoolExecutor(1, thread_name_prefix="wingspan-attempt-io") as pool:
        return pool.submit(anyio.run, run).result()
