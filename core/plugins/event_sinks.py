"""The event-sink contract: where the server's outward event stream goes.

Every execution, node and task event the server stores is also written, in the same
transaction, to an outbox as a CloudEvent (spec 1.0, structured JSON). The server's publisher
(one at a time per sink, under a lease) hands each one to the sinks the ``event_sinks``
setting names, in the order stored, and deletes it once the sink took it: at least once, in
order per execution. A sink kind comes from the ``wingspan_event_sinks`` hook (``"webhook"``
is built in; a plugin adds a message broker, e.g. ``wingspan-nats``), configured from the
plugin's own ``[plugins.<name>]`` table.

``publish`` takes one event and returns once the receiver has it (a broker's ack, an HTTP
2xx); it raises ``DeliveryError`` when it does not: ``retryable`` (the default) makes the
publisher back off and try the same event again, a refusal for good sets the event aside
(dead) and goes on. The same event may be published twice (after a crash between
``publish`` and its deletion): consumers de-duplicate by ``id``. The contract lives in core
so a sink plugin imports ``wingspan.plugin``, never the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from wingspan.core.plugins.notifier import DeliveryError

__all__ = ["CLOUDEVENTS_CONTENT_TYPE", "CloudEvent", "DeliveryError", "EventSink"]

#: the media type of one CloudEvent in structured mode (HTTP binding, section 3.2)
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """One outbound event: ``body`` is its structured-mode JSON (what a sink sends as is);
    ``id``, ``type`` and ``subject`` (the execution, ``project/domain/name``) are its attributes
    a sink routes or de-duplicates by."""

    id: str
    type: str
    subject: str
    body: str

    @classmethod
    def from_json(cls, body: str) -> CloudEvent:
        attributes = json.loads(body)
        return cls(attributes["id"], attributes["type"], attributes.get("subject", ""), body)

    def as_dict(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


@runtime_checkable
class EventSink(Protocol):
    """Publishes the outward event stream to one receiver (a webhook, a broker)."""

    async def publish(self, event: CloudEvent) -> None:
        """Returns once the receiver holds ``event``; raises DeliveryError when it does not."""

    async def aclose(self) -> None:
        """Closes what the sink opened (connections); it may be published to again after."""
