"""Events: the engines' events in, the stored events out."""

from __future__ import annotations

from wingspan.core.model import codec
from wingspan.core.model.events import Event
from wingspan.protos import v1
from wingspan.server.api.encoded import Encoded

__all__ = ["event_message", "recorded_message", "stored_event_message"]


def event_message(event: Event) -> v1.Event:
    message: v1.Event = codec.to_proto(event)
    return message


def stored_event_message(data: bytes) -> Encoded:
    """An event as stored (``codec.encode`` of the Event: the layout of ``v1.Event``), sent on
    as it is by the gRPC transport."""
    return Encoded(data, v1.Event, _decoded_event)


def _decoded_event(data: bytes) -> v1.Event:
    return event_message(codec.decode(Event, data))


def recorded_message(recorded: bool) -> v1.CreateEventResponse:
    return v1.CreateEventResponse(recorded=recorded)
