"""A stop that cannot wait forever: each of its waits for a task to end has a bound, and when
the bound passes the stop says which task it gives up on (with the stack it waits in) and goes on.

Why: ``asyncio.run`` cancels the tasks left on its loop once and then waits for them without a
bound. A task whose cancellation is consumed by a cleanup that then waits for something else
never ends: SQLAlchemy closes an invalidated aiosqlite connection in a shielded task of its own
(``_terminate_graceful_close``), and aiosqlite's ``Connection.close``, cancelled there after
SQLAlchemy already stopped the connection's thread, awaits in its ``finally`` a reply from that
thread, which has ended. A server stopped at that moment hung in ``asyncio.run`` forever (a CI
run, under load). :func:`run_bounded` cancels such a task again, as anyio's cancel scopes do,
until it ends or the bound passes.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Collection, Coroutine, Sequence
from typing import Any

__all__ = ["ENGINE_END_WITHIN", "LEFT_TASKS_END_WITHIN", "LOOPS_END_WITHIN", "ended_within", "run_bounded"]

log = logging.getLogger("wingspan.server")

#: how long the engine's task may take to end once a stop cancelled it (its runs' cleanups, each
#: bounded: ``ABORT_UNSTORED_WITHIN`` in ``engine/sink.py``); past it the stop goes on without it
ENGINE_END_WITHIN = 20.0
#: how long the server's own loops (scheduler, notifications, event publishers...) may take to
#: end once cancelled
LOOPS_END_WITHIN = 10.0
#: how long a loop that ends waits for the tasks left on it to end once cancelled
LEFT_TASKS_END_WITHIN = 10.0
#: how often a task cancelled that has not ended is cancelled again (its cleanup waited anew)
_CANCEL_AGAIN_EVERY = 0.1
#: the stacks of at most so many tasks in one report (a map's run may hold thousands)
_REPORTED_STACKS = 20


async def ended_within(tasks: Collection[asyncio.Task[Any]], within: float, *, what: str) -> bool:
    """Waits at most ``within`` seconds for ``tasks`` to end; if one has not, logs where it and
    the other tasks of the loop wait (``what`` names the wait) and returns False."""
    if not tasks:
        return True
    _, pending = await asyncio.wait(tasks, timeout=within)
    if not pending:
        return True
    stuck = sorted(pending, key=lambda task: task.get_name())
    others = [t for t in asyncio.all_tasks() if t not in pending and t is not asyncio.current_task()]
    names = ", ".join(repr(task.get_name()) for task in stuck)
    _report(f"{what}: {names} not ended within {within} s; the stop goes on without it", [*stuck, *others])
    return False


def run_bounded(main: Coroutine[Any, Any, None], *, within: float = LEFT_TASKS_END_WITHIN) -> None:
    """``asyncio.run(main)`` on a new loop, except that the tasks ``main`` leaves get ``within``
    seconds to end once cancelled (cancelled again while they do not); those still running
    then are logged with where they wait and left behind, and the loop is closed all the same."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
    finally:
        try:
            left = _cancel_left(loop, within)
            if left:
                _report(f"the event loop ends with {len(left)} task(s) still running {within} s after "
                        "their cancellation; they are left behind", left)
            _run_within(loop, loop.shutdown_asyncgens(), within, "closing the async generators left")
            # the calls still running on the default executor's threads (a SQLite commit)
            _run_within(loop, loop.shutdown_default_executor(), within, "the default executor's calls")
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_left(loop: asyncio.AbstractEventLoop, within: float) -> list[asyncio.Task[Any]]:
    """Cancels the tasks left on ``loop`` (and those their cleanups start) until they end or
    ``within`` passes; returns those still running."""
    deadline = time.monotonic() + within
    cancelled: set[asyncio.Task[Any]] = set()
    pending = asyncio.all_tasks(loop)
    while pending:
        for task in pending:
            task.cancel()
        cancelled |= pending
        left = deadline - time.monotonic()
        if left <= 0:
            break
        loop.run_until_complete(asyncio.wait(pending, timeout=min(_CANCEL_AGAIN_EVERY, left)))
        pending = asyncio.all_tasks(loop)
    for task in cancelled:  # as asyncio.run does: a task that failed as it ended is reported
        if task.done() and not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler({"message": "unhandled exception while the event loop ended",
                                         "exception": task.exception(), "task": task})
    return sorted(pending, key=lambda task: task.get_name())


def _run_within(loop: asyncio.AbstractEventLoop, step: Coroutine[Any, Any, None], within: float,
                what: str) -> None:
    task = loop.create_task(step, name=what)
    loop.run_until_complete(asyncio.wait({task}, timeout=within))
    if task.done():
        task.result()  # raised, as asyncio.run raises it
    else:
        _report(f"the event loop ends before {what} ended, {within} s later; left behind", [task])


def _report(what: str, tasks: Sequence[asyncio.Task[Any]]) -> None:
    stacks = io.StringIO()
    for task in tasks[:_REPORTED_STACKS]:
        task.print_stack(file=stacks)
    if len(tasks) > _REPORTED_STACKS:
        stacks.write(f"... and {len(tasks) - _REPORTED_STACKS} more task(s)\n")
    log.error("%s. Where each waits:\n%s", what, stacks.getvalue())
