"""A client of the internal engine service, presenting a service account's token on every call.

    async with EngineClient("127.0.0.1", 8089, tokens) as engine:
        await engine.create_workflow_event(event)   # event.producer_id: the lease holder

``tokens`` is anything with ``async def token() -> str`` that gives a valid access token of a
service account (the SDK's client credentials provider refreshes it before it expires).
Errors come back as grpclib's GRPCError: UNAUTHENTICATED for a missing or invalid token,
PERMISSION_DENIED for a person's, FAILED_PRECONDITION when the sender does not hold the
execution's lease.
"""

from __future__ import annotations

from typing import Any, Protocol, Self

from grpclib.client import Channel

from wingspan.protos import v1

__all__ = ["EngineClient", "TokenSource"]


class TokenSource(Protocol):
    async def token(self) -> str: ...


class EngineClient:
    def __init__(self, host: str, port: int, tokens: TokenSource, *, timeout: float = 30.0) -> None:
        self.channel = Channel(host, port)
        self.tokens = tokens
        self._stub = v1.EngineServiceStub(self.channel, timeout=timeout)

    async def _metadata(self) -> dict[str, str]:
        return {"authorization": f"Bearer {await self.tokens.token()}"}

    async def create_workflow_event(self, event: Any) -> Any:
        return await self._stub.create_workflow_event(event, metadata=await self._metadata())

    async def create_node_event(self, event: Any) -> Any:
        return await self._stub.create_node_event(event, metadata=await self._metadata())

    async def create_task_event(self, event: Any) -> Any:
        return await self._stub.create_task_event(event, metadata=await self._metadata())

    def close(self) -> None:
        self.channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
