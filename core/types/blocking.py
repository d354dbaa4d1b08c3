"""Running blob-store I/O from synchronous task code.

Task code is plain synchronous Python. When it asks a File for its bytes, the
transfer runs on the event loop that owns the blob store if the task runs in one
of that loop's worker threads, and on a private loop otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio
import anyio.from_thread

from wingspan.core.errors import UserError

T = TypeVar("T")


def run_io(func: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return anyio.from_thread.run(func)
    except RuntimeError:
        pass  # not a worker thread of a running loop
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(func)
    raise UserError(
        "blocking file transfer requested on the event loop's own thread; "
        "use the async variant (await download_async()) there"
    )
