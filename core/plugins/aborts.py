"""Aborting an attempt through its task plugin, tried again when the plugin fails.

A plugin's abort may fail for a moment (its cluster unreachable, a process pool busy); an
attempt left running then holds resources nobody watches (a pod). So the abort is tried
again with backoff, every failure logged naming the execution, node and attempt, and the
last one logged as an error with the attempt's handle: never silent, never raised into
the engine (whose own outcome for the attempt stands).
"""

from __future__ import annotations

import logging

import anyio

from wingspan.core.engine.retry import RetryPolicy
from wingspan.core.plugins.contract import Handle, TaskContext, TaskPlugin

__all__ = ["ABORT_RETRY", "ABORT_TRIES", "abort_attempt"]

log = logging.getLogger("wingspan.plugins")

#: how often an attempt's abort is tried before it is reported as left running
ABORT_TRIES = 5
#: the waits between the tries (0.5, 1, 2, 4 s: an abort given up on within 8 s)
ABORT_RETRY = RetryPolicy(first_delay=0.5, factor=2.0, max_delay=8.0)


async def abort_attempt(
    plugin: TaskPlugin,
    ctx: TaskContext,
    handle: Handle,
    *,
    retry: RetryPolicy = ABORT_RETRY,
    tries: int = ABORT_TRIES,
) -> bool:
    """Aborts the attempt ``handle`` names; whether the plugin said it did (within ``tries``)."""
    what = (
        f"execution {ctx.execution_id}: aborting attempt {ctx.attempt} of node {ctx.node_id} "
        f"on task plugin {plugin.name!r}"
    )
    for failures in range(1, tries + 1):
        try:
            await plugin.abort(ctx, handle)
        # a plugin is code of its own (a cluster client, a process pool): whatever it raises
        # is its failure to abort, worth another try
        except Exception as exc:
            if failures == tries:
                log.error(
                    "%s failed %d times (last: %s: %s); it may still be running, handle %s",
                    what, tries, type(exc).__name__, exc, handle,
                )
                return False
            delay = retry.delay(failures)
            log.warning(
                "%s failed (try %d of %d: %s: %s); trying again in %.1f s",
                what, failures, tries, type(exc).__name__, exc, delay,
            )
            await anyio.sleep(delay)
        else:
            if failures > 1:
                log.info("%s succeeded at try %d", what, failures)
            return True
    return False
