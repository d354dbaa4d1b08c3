"""One way to call the admin service over either transport, for tests that run on both.

``GrpcClient`` speaks gRPC with the generated stub; ``HttpClient`` posts JSON to
``/api/v1/<Method>``. Both raise :class:`CallError` with the gRPC status name, so
one scenario asserts the same outcomes over each; the HTTP client also checks the
HTTP status against the documented mapping.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from grpclib.client import Channel
from grpclib.exceptions import GRPCError

from wingspan.protos import v1
from wingspan.server.api.methods import Method, methods

HTTP_STATUS = {"INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
               "ALREADY_EXISTS": 409, "FAILED_PRECONDITION": 409, "RESOURCE_EXHAUSTED": 413,
               "UNIMPLEMENTED": 501, "UNAVAILABLE": 503, "INTERNAL": 500}
BY_NAME = {m.name: m for m in methods()}


class CallError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class GrpcClient:
    name = "grpc"

    def __init__(self, host: str, port: int, token: str = "") -> None:
        self.channel = Channel(host, port)
        metadata = {"authorization": f"Bearer {token}"} if token else None
        self.stub = v1.AdminServiceStub(self.channel, metadata=metadata)

    async def call(self, name: str, request: Any) -> Any:
        method = BY_NAME[name]
        try:
            return await getattr(self.stub, method.attr)(request, timeout=30)
        except GRPCError as exc:
            raise CallError(exc.status.name, exc.message or "") from exc

    async def stream(self, name: str, request: Any) -> list[Any]:
        method = BY_NAME[name]
        try:
            return [m async for m in getattr(self.stub, method.attr)(request, timeout=30)]
        except GRPCError as exc:
            raise CallError(exc.status.name, exc.message or "") from exc

    async def aclose(self) -> None:
        self.channel.close()


class HttpClient:
    name = "http"

    def __init__(self, base_url: str, token: str = "") -> None:
        headers = {"authorization": f"Bearer {token}"} if token else None
        self.client = httpx.AsyncClient(base_url=base_url, timeout=30, headers=headers)

    async def _post(self, method: Method, request: Any) -> httpx.Response:
        response = await self.client.post(f"/api/v1/{method.name}", content=json.dumps(request.to_dict()),
                                           headers={"content-type": "application/json"})
        if response.status_code != 200:
            body = response.json()
            assert response.status_code == HTTP_STATUS[body["code"]], body
            raise CallError(body["code"], body["message"])
        return response

    async def call(self, name: str, request: Any) -> Any:
        method = BY_NAME[name]
        response = await self._post(method, request)
        assert response.headers["content-type"].startswith("application/json")
        return method.response_type.from_dict(response.json())

    async def stream(self, name: str, request: Any) -> list[Any]:
        method = BY_NAME[name]
        response = await self._post(method, request)
        assert response.headers["content-type"].startswith("application/x-ndjson")
        found = []
        for line in response.text.splitlines():
            data = json.loads(line)
            if "error" in data:
                raise CallError(data["error"]["code"], data["error"]["message"])
            found.append(method.response_type.from_dict(data))
        return found

    async def aclose(self) -> None:
        await self.client.aclose()
