"""The plugin's hooks (entry point ``nats`` in the group ``wingspan``). Importing this module
loads no NATS client: it is imported at the sink's first event."""

from __future__ import annotations

from collections.abc import Mapping

from wingspan.plugin import EventSink, hookimpl
from wingspan_nats._config import NatsSinkConfig
from wingspan_nats._sink import NatsEventSink


@hookimpl
def wingspan_config_schema() -> type:
    return NatsSinkConfig


@hookimpl
def wingspan_event_sinks(config: NatsSinkConfig) -> Mapping[str, EventSink]:
    return {"nats": NatsEventSink(config)}
