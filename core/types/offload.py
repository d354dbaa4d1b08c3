"""Literals too large to travel inline go to the blob store and travel by URI."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from wingspan.core.errors import NotFoundError, TypeTransformerError
from wingspan.core.model import codec
from wingspan.core.model.literals import Literal, LiteralType, OffloadedLiteral
from wingspan.core.types.transformer import TransferContext

__all__ = ["estimate_size", "load_offloaded", "offload"]

# Bounds of the protobuf encoding, in bytes. A field is a tag (at most 2 bytes here) and,
# when length-delimited, a length (at most 5 bytes up to 4 GiB); a varint takes at most 10.
_FRAME = 16  # a Literal as a field of its parent (tag, length) and its oneof field (tag, length)
_DELIMITED = 7  # tag and length of a string, bytes or message field
_SCALAR = 12  # tag and value of a varint, fixed64 or enum field


def estimate_size(literal: Literal) -> int:
    """A bound the serialised size never exceeds, worked out without serialising.

    Strings count 4 bytes a character (UTF-8's longest); ``test_types_offload`` checks
    the bound against the real encoding for every kind of value.
    """
    return _size(literal)


def _size(literal: Literal) -> int:
    value = literal.value
    match literal.kind:
        case "integer" | "float" | "boolean" | "none" | "duration":
            return _FRAME + 2 * _SCALAR
        case "string":
            return _FRAME + 4 * len(value)
        case "binary" | "big_integer" | "opaque":  # bytes, or decimal digits
            return _FRAME + len(value)
        case "collection":
            return _FRAME + sum(_size(item) for item in value.literals)
        case "map":
            return _FRAME + sum(2 * _DELIMITED + 4 * len(key) + _size(item)
                                for key, item in value.literals.items())
        case "record":
            return _FRAME + _DELIMITED + 4 * len(value.type_name) + sum(
                2 * _DELIMITED + 4 * len(f.name) + _size(f.value) for f in value.fields)
        case "union":
            return _FRAME + _DELIMITED + 4 * len(value.tag) + _size(value.value)
        case "datetime":  # instant (seconds, nanos), zone, offset
            return _FRAME + 2 * _DELIMITED + 3 * _SCALAR + 4 * len(value.zone)
        case "enum":
            return _FRAME + _DELIMITED + 4 * len(value.name)
    return _FRAME + _bound(value)  # blob, structured_dataset, offloaded, error: few and small


def _bound(obj: Any) -> int:
    """A bound of the encoding of any model object, walked field by field."""
    if obj is None:
        return 0
    if isinstance(obj, str):
        return _DELIMITED + 4 * len(obj)
    if isinstance(obj, bytes | bytearray):
        return _DELIMITED + len(obj)
    if isinstance(obj, Literal):
        return _size(obj)
    if isinstance(obj, tuple | list):
        return _DELIMITED + sum(_bound(item) for item in obj)
    if isinstance(obj, dict):
        return sum(2 * _DELIMITED + _bound(k) + _bound(v) for k, v in obj.items())
    fields = getattr(type(obj), "__record_fields__", None)
    if fields is not None:
        return _DELIMITED + sum(_bound(getattr(obj, f.name)) for f in fields)
    if isinstance(obj, datetime):  # a Timestamp message: seconds and nanos
        return _DELIMITED + 2 * _SCALAR
    return _SCALAR  # int, float, bool, enum member


async def offload(literal: Literal, literal_type: LiteralType, ctx: TransferContext) -> Literal:
    """Writes the literal's bytes to the store; returns the reference that replaces it."""
    store = ctx.require_store("a large value")
    data = codec.encode(literal)
    if len(data) <= ctx.offload_threshold:
        return literal  # the estimate was pessimistic
    uri = ctx.new_uri("literal.pb")
    await store.put(uri, data)
    ctx.uploaded.append(uri)
    digest = hashlib.sha256(data).hexdigest()
    return Literal("offloaded", OffloadedLiteral(uri, len(data), literal_type, digest))


async def load_offloaded(literal: Literal, ctx: TransferContext) -> Literal:
    """Fetches the literal an OffloadedLiteral points at, checking its digest."""
    ref: OffloadedLiteral = literal.value
    if ctx.store is None:
        raise TypeTransformerError(
            f"value stored at {ref.uri} needs a blob store to be read; none is configured"
        )
    try:
        data = await ctx.store.get(ref.uri)
    except NotFoundError:
        raise TypeTransformerError(f"offloaded value {ref.uri} is missing from the blob store") from None
    if ref.digest and hashlib.sha256(data).hexdigest() != ref.digest:
        raise TypeTransformerError(f"offloaded value {ref.uri} does not match its digest: it was altered")
    return codec.decode(Literal, data)
