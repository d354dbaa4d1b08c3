"""Trying a delivery again with backoff, recording every attempt."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import anyio

from wingspan.core.engine import RetryPolicy
from wingspan.core.plugins.notifier import DeliveryError, Notice, Notifier

__all__ = ["Attempt", "deliver"]


@dataclass(frozen=True)
class Attempt:
    number: int
    at: float
    ok: bool
    error: str = ""


@dataclass
class DeliveryResult:
    delivered: bool
    attempts: list[Attempt] = field(default_factory=list)


async def deliver(sender: Notifier, target: Any, notice: Notice, *, max_attempts: int = 5,
                  retry: RetryPolicy | None = None) -> DeliveryResult:
    """Sends until it works, a non-retryable error, or ``max_attempts``; every attempt is
    recorded so the API can show what happened."""
    retry = retry or RetryPolicy(first_delay=1.0, max_delay=300.0)
    result = DeliveryResult(False)
    for number in range(1, max_attempts + 1):
        try:
            await sender.send(target, notice)
        except DeliveryError as exc:
            result.attempts.append(Attempt(number, time.time(), False, str(exc)))
            if not exc.retryable or number == max_attempts:
                return result
            await anyio.sleep(retry.delay(number))
        else:
            result.attempts.append(Attempt(number, time.time(), True))
            result.delivered = True
            return result
    return result
