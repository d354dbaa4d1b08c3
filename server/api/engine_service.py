"""The internal engine service on grpclib: how engines record executions' events.

Served on the gRPC port beside the admin service, never over HTTP, and left out of
server reflection and health. Every call must carry an access token of the engines'
service account ``engine`` (the client credentials grant, with the engine credential of
``WINGSPAN_HOME/engine.secret`` as the secret) signed by this server, as metadata
``authorization: Bearer <token>``: a call without a valid token ends UNAUTHENTICATED,
one with anyone else's token (a person's, another service account's) PERMISSION_DENIED,
before its message is even read, whether or not the admin service requires
authentication. What it then asks is the event service's to judge: each event is
recorded only for the replica holding the execution's lease (FAILED_PRECONDITION
otherwise, nothing recorded).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from grpclib.const import Cardinality, Handler
from grpclib.exceptions import GRPCError
from grpclib.server import Stream

from wingspan.core.errors import PermissionDeniedError, UnauthenticatedError
from wingspan.server.api.grpc_errors import translated
from wingspan.server.api.methods import ENGINE_SERVICE_NAME, Method, engine_methods
from wingspan.server.api.metrics import ApiMetrics
from wingspan.server.api.rpcs import EngineRpcs
from wingspan.server.auth.accounts import ENGINE_CLIENT_ID
from wingspan.server.auth.principal import Principal
from wingspan.server.auth.verifier import TokenVerifier
from wingspan.server.engine.credential import SECRET_FILE_NAME
from wingspan.server.services.events import EventService

__all__ = ["EngineServicer"]

_SCHEME = "bearer "


class EngineServicer:
    """The engine service as a grpclib servable, recording into the event service ``events``."""

    def __init__(
        self, events: EventService, verifier: TokenVerifier, metrics: ApiMetrics | None = None
    ) -> None:
        self.rpcs = EngineRpcs(events)
        self.verifier = verifier
        self.metrics = metrics

    def __mapping__(self) -> dict[str, Handler]:
        mapping = {}
        for method in engine_methods():
            if method.server_streaming:
                raise AssertionError(f"{method.name}: the engine service has no streaming RPCs")
            func: Callable[[Stream[Any, Any]], Any] = functools.partial(self._unary, method)
            mapping[method.path] = Handler(func, Cardinality.UNARY_UNARY, method.request_type,
                                           method.response_type)
        return mapping

    async def _authenticate(self, stream: Stream[Any, Any]) -> Principal:
        values = stream.metadata.getall("authorization", []) if stream.metadata is not None else []
        how = (f"obtain a service account's token with the client credentials grant (the engines' "
               f"account is {ENGINE_CLIENT_ID!r}, its secret in WINGSPAN_HOME/{SECRET_FILE_NAME} on the "
               "server) and send it as metadata 'authorization: Bearer <token>'")
        if not values:
            raise UnauthenticatedError(f"{ENGINE_SERVICE_NAME} is internal to the engines: {how}")
        presented = values[0] if isinstance(values[0], str) else ""
        token = presented[len(_SCHEME):] if presented.lower().startswith(_SCHEME) else ""
        if len(values) > 1 or not token:
            raise UnauthenticatedError(f"{ENGINE_SERVICE_NAME}: {how}")
        try:
            principal = await self.verifier.verify(token)
        except UnauthenticatedError as exc:
            raise UnauthenticatedError(f"{ENGINE_SERVICE_NAME}: {exc}; {how}") from exc
        if not principal.is_service_account or principal.subject != ENGINE_CLIENT_ID:
            raise PermissionDeniedError(f"{ENGINE_SERVICE_NAME} accepts the engines' service account only, "
                                        f"not {principal.subject}: {how}")
        return principal

    async def _unary(self, method: Method, stream: Stream[Any, Any]) -> None:
        started, code = time.perf_counter(), "OK"
        try:
            with translated(method.name):  # before the message is read
                await self._authenticate(stream)
            request = await stream.recv_message()
            assert request is not None  # grpclib ends the call itself when the client sends none
            with translated(method.name):
                response = await getattr(self.rpcs, method.attr)(request)
            await stream.send_message(response)
        except GRPCError as exc:
            code = exc.status.name
            raise
        finally:
            if self.metrics is not None:
                self.metrics.observe("grpc", method.name, code, time.perf_counter() - started)
