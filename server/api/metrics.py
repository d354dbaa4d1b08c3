"""Prometheus metrics of the API, one registry per server (tests start several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE", "ApiMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ApiMetrics:
    """Calls per transport, method and outcome, and their latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
