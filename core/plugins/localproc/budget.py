"""CPU requests bound how many attempts run at once on this host."""

from __future__ import annotations

import threading

import anyio

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


class CpuBudget:
    """``total`` CPUs shared by the attempts of every run in this process (whatever their
    event loop, hence a thread lock and a short wait loop rather than a loop's primitives).
    A request above the total is clipped to it: such a task runs, alone."""

    def __init__(self, total: float) -> None:
        self.total = total
        self.used = 0.0
        self._lock = threading.Lock()

    def clip(self, amount: float) -> float:
        return min(max(amount, 0.0), self.total)

    def try_acquire(self, amount: float) -> bool:
        with self._lock:
            if self.used + amount <= self.total + 1e-9 or self.used == 0:
                self.used += amount
                return True
            return False

    async def acquire(self, amount: float) -> None:
        delay = 0.001
        while not self.try_acquire(amount):
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.05)

    def release(self, amount: float) -> None:
        with self._lock:
            self.used = max(0.0, self.used - amount)
