"""How often a password may be tried: per account and per client address.

Each failed password login counts against the account it named and the address it came
from, over a sliding window. Once either has failed ``limit`` times within the window, its
next tries are refused before the password is even checked (:class:`LoginThrottledError`,
429 with Retry-After on HTTP) until its oldest failure leaves the window. A right password
clears its account's failures (not its address's: one address guessing many accounts stays
slowed down).

The counts are kept in this process: each replica of a server counts on its own, so a guesser
spreading tries over N replicas gets N times the limit, still far too few to guess a password
of the required length.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import final

__all__ = ["ACCOUNT_LIMIT", "ADDRESS_LIMIT", "WINDOW_SECONDS", "LoginThrottle", "LoginThrottledError"]

#: failed tries allowed per account and per address within the window
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_SECONDS = 900.0
#: how many accounts and addresses are remembered (the oldest are forgotten first)
_REMEMBERED = 10_000


class LoginThrottledError(Exception):
    """Too many wrong passwords lately for this account or from this address."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@final
class LoginThrottle:
    def __init__(self, *, account_limit: int = ACCOUNT_LIMIT, address_limit: int = ADDRESS_LIMIT,
                 window_seconds: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = {"account": account_limit, "address": address_limit}
        self.window = window_seconds
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def check(self, account: str, address: str) -> None:
        """Raises LoginThrottledError when ``account`` or ``address`` may not try now."""
        for kind, key in (("account", account), ("address", address)):
            failures = self._failures.get((kind, key))
            if failures is not None and len(self._pruned(failures)) >= self.limits[kind]:
                wait = max(1, math.ceil(failures[0] + self.window - self.clock()))
                what = f"the account {account[:60]!r}" if kind == "account" else "this address"
                raise LoginThrottledError(
                    f"too many wrong passwords for {what} lately: try again in {wait} seconds", wait)

    def failed(self, account: str, address: str) -> None:
        for kind, key in (("account", account), ("address", address)):
            self._pruned(self._failures.setdefault((kind, key), deque())).append(self.clock())
            self._failures.move_to_end((kind, key))
        while len(self._failures) > _REMEMBERED:
            self._failures.popitem(last=False)

    def succeeded(self, account: str) -> None:
        self._failures.pop(("account", account), None)

    def _pruned(self, failures: deque[float]) -> deque[float]:
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures
