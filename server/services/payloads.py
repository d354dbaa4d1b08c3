"""Bytes that rows hold inline while small, and in the blob store once large.

Closures, inputs, outputs and events have no size limit: above ``inline_limit``
they are written to the blob store and the row keeps the URI. Every blob of an
execution lies below one prefix, so deleting an execution deletes its data.
"""

from __future__ import annotations

from wingspan.core.storage import BlobStore

__all__ = ["DEFAULT_INLINE_LIMIT", "Payloads"]

#: larger payloads go to the blob store
DEFAULT_INLINE_LIMIT = 256 * 1024


class Payloads:
    def __init__(self, store: BlobStore, inline_limit: int = DEFAULT_INLINE_LIMIT) -> None:
        self.store = store
        self.inline_limit = inline_limit

    async def put(self, data: bytes, *parts: str) -> tuple[bytes | None, str]:
        """``(bytes, "")`` to keep inline, or ``(None, uri)`` once stored at ``parts``."""
        if len(data) <= self.inline_limit:
            return data, ""
        uri = self.store.uri(*parts)
        await self.store.put(uri, data)
        return None, uri

    async def get(self, inline: bytes | None, uri: str) -> bytes | None:
        """The bytes a row refers to; None when it holds none."""
        if inline is not None:
            return inline
        if uri:
            return await self.store.get(uri)
        return None

    def execution_prefix(self, project: str, domain: str, name: str) -> str:
        return self.store.uri("executions", project, domain, name) + "/"

    async def delete_execution(self, project: str, domain: str, name: str) -> int:
        return await self.store.delete_prefix(self.execution_prefix(project, domain, name))
