"""Literals too large to travel inline go to the blob store and travel by URI."""

from __future__ import annotations

import hashlib
from typing import Any

from wingspan.core.errors import NotFoundError, TypeTransformerError
from wingspan.core.model import codec
from wingspan.core.model.literals import Literal, LiteralType, OffloadedLiteral
from wingspan.core.types.transformer import TransferContext

__all__ = ["estimate_size", "load_offloaded", "offload"]

# per-literal framing overhead on the wire, roughly
_OVERHEAD = 4


def estimate_size(literal: Literal) -> int:
    """An upper-bound guess of the serialised size, without serialising."""
    return _size(literal.kind, literal.value)


def _size(kind: str, value: Any) -> int:
    match kind:
        case "string" | "binary" | "big_integer" | "opaque":
            return len(value) * (4 if kind == "string" else 1) + _OVERHEAD
        case "collection":
            return sum(_size(item.kind, item.value) for item in value.literals) + _OVERHEAD
        case "map":
            return sum(len(k) * 4 + _size(v.kind, v.value) + _OVERHEAD
                       for k, v in value.literals.items()) + _OVERHEAD
        case "record":
            return sum(len(f.name) * 4 + _size(f.value.kind, f.value.value) + _OVERHEAD
                       for f in value.fields) + len(value.type_name) + _OVERHEAD
        case "union":
            return _size(value.value.kind, value.value.value) + len(value.tag) * 4 + _OVERHEAD
        case "blob" | "structured_dataset" | "offloaded":
            return len(value.uri) * 4 + 64
    return 16


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
