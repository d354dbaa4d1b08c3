"""Responses of the API server read whole, for requests the client was told not to parse."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

__all__ = ["raw"]


async def raw(request: Awaitable[Any]) -> bytes:
    """The body of a request made with ``_preload_content=False``, which the client leaves
    unchecked: an error status raises ApiException here, as a preloaded request would."""
    from kubernetes_asyncio.client.exceptions import ApiException

    response = await request
    try:
        body: bytes = await response.read()
    finally:
        response.release()
    if response.status >= 400:
        error = ApiException(status=response.status, reason=response.reason)
        error.body = body
        raise error
    return body
