"""When an attempt that failed is tried again, and after how long."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``first_delay * factor**n``, at most ``max_delay`` seconds."""

    first_delay: float = 0.2
    factor: float = 2.0
    max_delay: float = 30.0

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait before the next attempt, after ``failed_attempts`` failures (>= 1)."""
        return min(self.max_delay, self.first_delay * self.factor ** max(0, failed_attempts - 1))
