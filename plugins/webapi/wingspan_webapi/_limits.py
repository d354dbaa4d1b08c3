"""Per-connector limits: how many jobs may be in flight on a service (``JobSlots``) and how
many API requests per second the plugin sends it (``Throttle``). Both are of this process: a
deployment of several replicas divides its quota among them."""

from __future__ import annotations

import time

import anyio

__all__ = ["JobSlots", "Throttle"]


class Throttle:
    """At most ``rate`` requests per second, spaced evenly (0: no limit)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        # each caller books the next free moment before it sleeps, so callers are served in order
        at = max(now, self._next)
        self._next = at + self.interval
        if at > now:
            await anyio.sleep(at - now)


class JobSlots:
    """At most ``limit`` jobs in flight (0: no limit). A slot is held by an attempt's key from
    before its job is submitted (or from when a resumed attempt is first looked at) until the job
    ends or is stopped, across whichever task of the engine does each step."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: set[str] = set()
        self._freed = anyio.Event()

    @property
    def in_flight(self) -> int:
        return len(self._held)

    async def take(self, key: str) -> None:
        while key not in self._held:
            if not self.limit or len(self._held) < self.limit:
                self._held.add(key)
                return
            freed = self._freed
            await freed.wait()

    def give_back(self, key: str) -> None:
        if key in self._held:
            self._held.discard(key)
            self._freed.set()
            self._freed = anyio.Event()
