"""A client of the internal engine service, presenting the engine credential on every call.

    async with EngineClient("127.0.0.1", 8089, EngineCredential.load(home)) as engine:
        await engine.create_workflow_event(event)   # event.producer_id: the lease holder

Errors come back as grpclib's GRPCError: UNAUTHENTICATED for a wrong credential,
FAILED_PRECONDITION when the sender does not hold the execution's lease.
"""

from __future__ import annotations

from typing import Any, Self

from grpclib.client import Channel

from wingspan.protos import v1
from wingspan.server.engine.credential import EngineCredential

__all__ = ["EngineClient"]


class EngineClient:
    def __init__(self, host: str, port: int, credential: EngineCredential, *, timeout: float = 30.0) -> None:
        self.channel = Channel(host, port)
        self._stub = v1.EngineServiceStub(self.channel, metadata=credential.metadata(), timeout=timeout)

    async def create_workflow_event(self, event: Any) -> Any:
        return await self._stub.create_workflow_event(event)

    async def create_node_event(self, event: Any) -> Any:
        return await self._stub.create_node_event(event)

    async def create_task_event(self, event: Any) -> Any:
        return await self._stub.create_task_event(event)

    def close(self) -> None:
        self.channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
