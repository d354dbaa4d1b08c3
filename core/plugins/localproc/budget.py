"""CPU requests bound how many attempts run at once on this host."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import threading

from wingspan.core.model.tasks import TaskTemplate

__all__ = ["CpuBudget", "cpu_request"]


def cpu_request(template: TaskTemplate) -> float:
    """The CPUs a task requests ("2", "0.5", "500m"); 1 when it says nothing."""
    container = template.container
    text = ""
    if container is not None and container.resources is not None and container.resources.requests:
        text = container.resources.requests.cpu
    if not text:
        return 1.0
    try:
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        return 1.0


@dataclasses.dataclass(eq=False)
class _Waiter:
    amount: float
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    granted: bool = False


class CpuBudget:
    """``total`` CPUs shared by the attempts of every run in this process, whatever their event
    loop (hence a thread lock, and waiters woken on their own loop). Waiters are served in
    order: a large request is not starved by small ones arriving after it. A request above the
    total is clipped to it: such a task runs, alone.

    Waiting is an event, not a poll: ten thousand map items queued for two CPUs once woke the
    loop hundreds of thousands of times a second and stalled the server's API for seconds."""

    def __init__(self, total: float) -> None:
        self.total = total
        self.used = 0.0
        self._lock = threading.Lock()
        self._waiters: collections.deque[_Waiter] = collections.deque()

    def clip(self, amount: float) -> float:
        return min(max(amount, 0.0), self.total)

    def _fits(self, amount: float) -> bool:
        return self.used + amount <= self.total + 1e-9 or self.used == 0

    def try_acquire(self, amount: float) -> bool:
        with self._lock:
            if not self._waiters and self._fits(amount):
                self.used += amount
                return True
            return False

    async def acquire(self, amount: float) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if not self._waiters and self._fits(amount):
                self.used += amount
                return
            waiter = _Waiter(amount, loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                if waiter.granted:  # granted as it was cancelled: hand it on
                    self.used = max(0.0, self.used - amount)
                else:
                    self._waiters.remove(waiter)
                self._grant()
            raise

    def release(self, amount: float) -> None:
        with self._lock:
            self.used = max(0.0, self.used - amount)
            self._grant()

    def _grant(self) -> None:
        """With the lock held: wakes the waiters at the head of the line that now fit."""
        while self._waiters and self._fits(self._waiters[0].amount):
            waiter = self._waiters.popleft()
            try:
                waiter.loop.call_soon_threadsafe(_wake, waiter.future)
            except RuntimeError:  # its loop has closed: nobody is left to take it
                continue
            waiter.granted = True
            self.used += waiter.amount


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
