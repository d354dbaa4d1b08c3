"""The gRPC transport: the admin service on grpclib, with health and server reflection.

Handlers are made from the method table, each one: receive the IDL request, call
the backend, send the response (or stream it), errors mapped by
:mod:`wingspan.server.api.grpc_errors`. Messages above ``max_message_bytes`` are
refused with RESOURCE_EXHAUSTED and undecodable ones with INVALID_ARGUMENT before
any handler runs. Reflection serves the descriptors of :mod:`wingspan.protos.gen.descriptors`,
so grpcurl and the like can list and call the service; the standard health
service reports SERVING while the server runs and NOT_SERVING while it drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import time
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from ssl import SSLContext
from typing import Any

from grpclib.const import Cardinality, Handler, Status
from grpclib.encoding.proto import ProtoCodec
from grpclib.exceptions import GRPCError
from grpclib.health.check import ServiceStatus
from grpclib.health.service import OVERALL, Health
from grpclib.reflection.service import ServerReflection
from grpclib.server import Server, Stream

from wingspan.core import tracing
from wingspan.core.config import Settings
from wingspan.core.errors import InvalidArgumentError, UnauthenticatedError
from wingspan.server.api.authentication import CallAuthentication
from wingspan.server.api.backend import ApiBackend
from wingspan.server.api.encoded import Encoded
from wingspan.server.api.grpc_errors import translated
from wingspan.server.api.messages import DEFAULT_MAX_TEXT_CHARS, decode_protobuf
from wingspan.server.api.methods import Method, methods
from wingspan.server.api.metrics import ApiMetrics
from wingspan.server.api.private_paths import PrivatePaths
from wingspan.server.auth.policy import OPEN
from wingspan.server.auth.principal import ANONYMOUS, Principal, acting_as

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "AdminServicer", "GrpcServer", "LimitedCodec", "descriptor_pool"]

#: requests above this are refused; large data goes through the data proxy
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class LimitedCodec(ProtoCodec):
    """The protobuf codec, refusing oversized messages and checking ours as strictly as the HTTP
    transport does (:func:`~wingspan.server.api.messages.decode_protobuf`), before any handler runs."""

    def __init__(self, max_message_bytes: int, max_text_chars: int = DEFAULT_MAX_TEXT_CHARS) -> None:
        self.max_message_bytes = max_message_bytes
        self.max_text_chars = max_text_chars

    def encode(self, message: Any, message_type: Any) -> bytes:
        if isinstance(message, Encoded):  # already in the wire format (a stored event)
            if message.message_type is not message_type:
                raise TypeError(f"Message must be of type {message_type!r}, not {message.message_type!r}")
            return message.data
        return super().encode(message, message_type)

    def decode(self, data: bytes, message_type: Any) -> Any:
        if len(data) > self.max_message_bytes:
            raise GRPCError(
                Status.RESOURCE_EXHAUSTED,
                f"message of {len(data)} bytes is above the limit of {self.max_message_bytes}; "
                "send large data through the data proxy (CreateUploadLocation)",
            )
        try:
            if hasattr(message_type, "_betterproto"):  # ours; health and reflection are protobuf's
                return decode_protobuf(message_type, data, max_text_chars=self.max_text_chars)
            return message_type.FromString(data)
        except InvalidArgumentError as exc:
            raise GRPCError(Status.INVALID_ARGUMENT, str(exc)) from exc
        except Exception as exc:
            name = getattr(message_type, "__name__", "message")
            raise GRPCError(Status.INVALID_ARGUMENT, f"malformed {name}: {exc}") from exc


class AdminServicer:
    """The admin service as a grpclib servable, built from the method table."""

    def __init__(
        self, backend: ApiBackend, metrics: ApiMetrics | None = None, private: PrivatePaths | None = None,
        authentication: CallAuthentication | None = None,
    ) -> None:
        self.backend = backend
        self.metrics = metrics
        self.private = private
        self.authentication = authentication
        # unary calls in flight: a graceful stop lets them finish (streams may never end)
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def wait_idle(self) -> None:
        """Returns once no unary call is running."""
        await self._idle.wait()

    def __mapping__(self) -> dict[str, Handler]:
        mapping = {}
        for method in methods():
            if method.server_streaming:
                func: Callable[[Stream[Any, Any]], Any] = functools.partial(self._stream, method)
                cardinality = Cardinality.UNARY_STREAM
            else:
                func = functools.partial(self._unary, method)
                cardinality = Cardinality.UNARY_UNARY
            mapping[method.path] = Handler(func, cardinality, method.request_type, method.response_type)
        return mapping

    async def _principal(self, method: Method, stream: Stream[Any, Any]) -> Principal:
        """The caller, from the call's metadata, before its message is read."""
        if self.authentication is None or method.name in OPEN:
            return ANONYMOUS
        values = stream.metadata.getall("authorization", []) if stream.metadata is not None else []
        try:
            return await self.authentication.principal([v for v in values if isinstance(v, str)])
        except UnauthenticatedError as exc:
            raise GRPCError(Status.UNAUTHENTICATED, str(exc)) from exc

    def _call(self, method: Method) -> Callable[[Any], Any]:
        call = self.backend.handler(method)
        if call is None:
            raise GRPCError(Status.UNIMPLEMENTED, f"{method.name} is not implemented by this server yet")
        return call

    async def _unary(self, method: Method, stream: Stream[Any, Any]) -> None:
        started, code = time.perf_counter(), "OK"
        self.in_flight += 1
        self._idle.clear()
        try:
            principal = await self._principal(method, stream)
            request = await stream.recv_message()
            assert request is not None  # grpclib ends the call itself when the client sends none
            with _server_span(method, stream), translated(method.name, self.private), acting_as(principal):
                response = await self._call(method)(request)
                # a response that cannot be encoded is an INTERNAL error, not grpclib's UNKNOWN
                await stream.send_message(response)
        except GRPCError as exc:
            code = exc.status.name
            raise
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()
            self._observe(method, code, started)

    async def _stream(self, method: Method, stream: Stream[Any, Any]) -> None:
        started, code = time.perf_counter(), "OK"
        try:
            principal = await self._principal(method, stream)
            request = await stream.recv_message()
            assert request is not None
            with _server_span(method, stream), translated(method.name, self.private), acting_as(principal):
                async for response in self._call(method)(request):
                    await stream.send_message(response)
        except GRPCError as exc:
            code = exc.status.name
            raise
        finally:
            self._observe(method, code, started)

    def _observe(self, method: Method, code: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.observe("grpc", method.name, code, time.perf_counter() - started)


def _server_span(method: Method, stream: Stream[Any, Any]) -> AbstractContextManager[None]:
    """The call's server span, a child of the caller's W3C traceparent when it sent one."""
    if tracing.installed() is None:
        return contextlib.nullcontext()
    parent = stream.metadata.get("traceparent") if stream.metadata is not None else None
    service, _, name = method.path.lstrip("/").partition("/")
    attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
    return tracing.span(f"{service}/{name}", attributes, parent=parent if isinstance(parent, str) else None,
                        kind="server")


@functools.cache
def descriptor_pool() -> Any:
    """A protobuf DescriptorPool of every service served (for reflection): the IDL, and the health
    and reflection services, so that grpcurl can call those too with reflection alone."""
    from google.protobuf import descriptor_pb2, descriptor_pool
    from grpclib.health.v1 import health_pb2
    from grpclib.reflection.v1 import reflection_pb2
    from grpclib.reflection.v1alpha import reflection_pb2 as alpha_reflection_pb2

    from wingspan.protos.gen.descriptors import file_descriptor_set

    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(file_descriptor_set()).file:
        pool.Add(file)
    for module in (health_pb2, reflection_pb2, alpha_reflection_pb2):
        pool.Add(descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb))
    return pool


class GrpcServer:
    """The grpclib server of one backend: ``await start(host, port)``, then ``close()``.

    ``internal`` are further servables (the engine service) that reflection does not list.

    ``port`` 0 binds a free port, readable from :attr:`port` afterwards.
    """

    def __init__(
        self,
        backend: ApiBackend,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        metrics: ApiMetrics | None = None,
        internal: Collection[Any] = (),
        settings: Settings | None = None,
        authentication: CallAuthentication | None = None,
    ) -> None:
        settings = settings or Settings()
        self.servicer = AdminServicer(backend, metrics, PrivatePaths.from_settings(settings), authentication)
        self.status = ServiceStatus()
        health = Health({self.servicer: [self.status], OVERALL: [self.status]})
        services: Collection[Any] = ServerReflection.extend([self.servicer, health], pool=descriptor_pool())
        # internal services (the engine's) are served but neither listed by reflection nor health
        self.server = Server([*services, *internal],
                             codec=LimitedCodec(max_message_bytes, settings.max_text_chars))
        self.port = 0

    async def start(self, host: str, port: int, *, ssl: SSLContext | None = None) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # named IPPROTO_TCP: asyncio turns TCP_NODELAY on for accepted connections only then
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        await self.server.start(sock=sock, ssl=ssl)
        self.status.set(True)

    def drain(self) -> None:
        """Reports NOT_SERVING, so that balancers stop sending new calls."""
        self.status.set(False)

    async def close(self, grace: float = 10.0) -> None:
        """Drains, lets unary calls in flight finish (up to ``grace`` seconds), then cancels
        what still runs (streams, late calls) and closes."""
        self.drain()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.servicer.wait_idle(), grace)
        self.server.close()
        await self.server.wait_closed()
