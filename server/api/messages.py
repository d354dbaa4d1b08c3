"""IDL messages from and to JSON (the proto3 JSON mapping, as betterproto2 reads and writes it).

Decoding checks what it reads whole: the JSON must be an object whose fields all
belong to the message, whose numbers fit their protobuf types, with at most one
field of each oneof set, whose text holds no NUL character (PostgreSQL cannot store
one; values inside a Literal are exempt: they are kept as bytes and round-trip
exactly), and the message must encode; anything else is an
InvalidArgumentError naming the message and the field, before any service sees
the request. (betterproto2's ``from_dict`` takes -1 for a uint32 and two members
of a oneof without complaint.)
"""

from __future__ import annotations

import json
from typing import Any

import betterproto2

from wingspan.core.errors import InvalidArgumentError

__all__ = ["decode_json", "encode_json"]


def decode_json(message_type: type[Any], body: bytes) -> Any:
    name = message_type.__name__
    try:
        data = json.loads(body) if body.strip() else {}
    except (ValueError, RecursionError) as exc:
        raise InvalidArgumentError(f"the body is not valid JSON for a {name}: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidArgumentError(f"the body must be a JSON object (a {name}), not {type(data).__name__}")
    try:
        message = message_type.from_dict(data)
        check_message(message, name)
        bytes(message)  # anything else that cannot be encoded fails here, not in a service
    except InvalidArgumentError:
        raise
    except Exception as exc:  # betterproto2 raises many kinds for malformed input
        raise InvalidArgumentError(f"invalid {name}: {type(exc).__name__}: {exc}") from None
    return message


_RANGES = {
    "int32": (-(2**31), 2**31 - 1), "sint32": (-(2**31), 2**31 - 1), "sfixed32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1), "fixed32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1), "sint64": (-(2**63), 2**63 - 1), "sfixed64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1), "fixed64": (0, 2**64 - 1),
}


def check_message(message: Any, path: str, *, text: bool = True) -> None:
    """Raises InvalidArgumentError for a number out of its type's range, a oneof set twice,
    or (with ``text``) a NUL character in a string outside literal values."""
    meta = message._betterproto
    text = text and type(message).__name__ != "Literal"
    for group, fields in meta.oneof_field_by_group.items():
        chosen = sorted(f.name for f in fields if getattr(message, f.name) is not None)
        if len(chosen) > 1:
            raise InvalidArgumentError(f"{path}: set one field of {group!r}, not {', '.join(chosen)}")
    for name, field in meta.meta_by_field_name.items():
        value = getattr(message, name)
        if value is None:
            continue
        if field.map_meta is not None:
            items = list(value.values())
        elif field.repeated:
            items = list(value)
        else:
            items = [value]
        bounds = _RANGES.get(field.proto_type)
        for item in items:
            if bounds is not None and isinstance(item, int) and not bounds[0] <= item <= bounds[1]:
                raise InvalidArgumentError(
                    f"{path}.{name}: {item} is out of range for a {field.proto_type} "
                    f"({bounds[0]} to {bounds[1]})")
            if text and isinstance(item, str) and "\x00" in item:
                raise InvalidArgumentError(f"{path}.{name}: text may not hold a NUL character (\\x00)")
            if isinstance(item, betterproto2.Message):
                check_message(item, f"{path}.{name}", text=text)


def encode_json(message: Any) -> bytes:
    return json.dumps(message.to_dict(), separators=(",", ":")).encode()
