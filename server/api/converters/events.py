"""Events: the engines' events in, the stored events out."""

from __future__ import annotations

from wingspan.core.model import codec
from wingspan.core.model.events import Event
from wingspan.protos import v1

__all__ = ["event_message", "recorded_message"]


def event_message(event: Event) -> v1.Event:
    message: v1.Event = codec.to_proto(event)
    return message


def recorded_message(recorded: bool) -> v1.CreateEventResponse:
    return v1.CreateEventResponse(recorded=recorded)
