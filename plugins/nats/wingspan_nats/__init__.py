"""Wingspan's outward event stream on NATS JetStream: the ``nats`` event sink."""

from wingspan_nats._config import NatsSinkConfig
from wingspan_nats._sink import NatsEventSink

__all__ = ["NatsEventSink", "NatsSinkConfig"]
