"""A response message already in protobuf's wire format.

The server stores events as ``codec.encode`` writes them, which is the IDL's own layout; a
watcher's stream used to decode each stored event into a record, build the betterproto message
from it, and have betterproto encode that again: most of the CPU a watched event cost. An
:class:`Encoded` carries the stored bytes instead: the gRPC codec
(:class:`~wingspan.server.api.grpc_server.LimitedCodec`) sends them as they are, and the HTTP
transport, which answers in JSON, asks for the message (:func:`plain`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wingspan.core.model.wire import length_delimited

__all__ = ["Encoded", "field_number", "length_delimited", "plain"]


class Encoded:
    """``data``, the wire encoding of a ``message_type``; ``decode`` builds that message."""

    __slots__ = ("data", "decode", "message_type")

    def __init__(self, data: bytes, message_type: type, decode: Callable[[bytes], Any]) -> None:
        self.data = data
        self.message_type = message_type
        self.decode = decode

    def message(self) -> Any:
        return self.decode(self.data)


def plain(message: Any) -> Any:
    """The message itself, an :class:`Encoded` one decoded."""
    return message.message() if isinstance(message, Encoded) else message


def field_number(message_type: Any, name: str) -> int:
    """The number of a message's field, as the generated IDL class says it."""
    return int(message_type._betterproto.meta_by_field_name[name].number)
