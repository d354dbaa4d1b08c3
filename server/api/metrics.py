"""Prometheus metrics of the API, in the server's one registry (tests start several servers).

The registry holds the engine's and the database's metrics too (:mod:`wingspan.server.metrics`);
``before_scrape`` reads what is counted at a scrape rather than as it happens (the notification
backlog), so ``/metrics`` shows it fresh.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE", "ApiMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ApiMetrics:
    """Calls per transport, method and outcome, and their latency."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        #: read before each scrape (each must be quick: a scrape waits for them)
        self.before_scrape: list[Callable[[], Awaitable[None]]] = []
        self.calls = Counter(
            "wingspan_api_calls",
            "API calls by transport, method and status code",
            ["transport", "method", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "wingspan_api_call_seconds", "API call latency", ["transport", "method"], registry=self.registry
        )

    def observe(self, transport: str, method: str, code: str, seconds: float) -> None:
        self.calls.labels(transport, method, code).inc()
        self.latency.labels(transport, method).observe(seconds)

    async def scrape(self) -> bytes:
        for read in self.before_scrape:
            await read()
        return self.exposition()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
