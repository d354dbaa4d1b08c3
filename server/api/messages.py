"""IDL messages from and to JSON (the proto3 JSON mapping, as betterproto2 reads and writes it).

Decoding checks what it reads whole: the JSON must be an object whose fields all
belong to the message and whose values fit their types, and the message must
encode; anything else is an InvalidArgumentError naming the message, before any
service sees the request.
"""

from __future__ import annotations

import json
from typing import Any

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
        bytes(message)  # out-of-range numbers and the like fail here, not in a service
    except Exception as exc:  # betterproto2 raises many kinds for malformed input
        raise InvalidArgumentError(f"invalid {name}: {type(exc).__name__}: {exc}") from None
    return message


def encode_json(message: Any) -> bytes:
    return json.dumps(message.to_dict(), separators=(",", ":")).encode()
