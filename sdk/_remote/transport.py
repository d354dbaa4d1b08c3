"""How the client reaches a server: one gRPC channel to its admin service, with each failure
translated into Wingspan's own errors (NotFoundError, ...) in this one place.

The bottom of the remote client: :class:`Transport` is what the client and its parts
(uploads, logs, registration) call; nothing above it touches gRPC.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import sys
from collections.abc import AsyncIterator
from typing import Any

from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

from wingspan._remote.endpoint import Endpoint
from wingspan._remote.tokens import TokenProvider, provider_for
from wingspan.core.api_level import mismatch
from wingspan.core.errors import SystemError_, WingspanError, error_class_for
from wingspan.core.version import VERSION
from wingspan.protos import v1

__all__ = ["RemoteError", "Transport", "trace_headers", "translate"]

log = logging.getLogger("wingspan.remote")


class RemoteError(SystemError_):
    """The server could not be reached or failed for its own reasons."""


def translate(exc: Exception, what: str, address: str, *, plain: bool = False) -> WingspanError:
    """The Wingspan error for a failed call, saying ``what`` was being done and where: the class
    the server's status names (wingspan.core.errors.error_class_for), RemoteError for the rest.
    ``plain``: the call went without TLS (a TLS server drops such a connection: say how to ask for it)."""
    if isinstance(exc, ssl.SSLError):
        return RemoteError(f"{what}: the TLS handshake with {address} failed ({exc}); if a private CA signed "
                           "the server's certificate, trust it with --ca or WINGSPAN_CA; a server without "
                           "TLS is reached as http://HOST:PORT")
    if isinstance(exc, OSError | StreamTerminatedError) or (
            isinstance(exc, GRPCError) and exc.status == Status.UNAVAILABLE and not exc.message):
        tls = f"; if it serves TLS, name it https://{address}" if plain else ""
        return RemoteError(f"{what}: cannot reach a Wingspan server at {address} ({exc}); start one "
                           f"with `wingspan serve`, or name yours with --endpoint or WINGSPAN_ENDPOINT{tls}")
    if not isinstance(exc, GRPCError):
        return RemoteError(f"{what}: {exc}")
    return error_class_for(exc.status.name, RemoteError)(f"{what}: {exc.message or exc.status.name}")


def trace_headers() -> dict[str, str]:
    """The W3C trace context of the caller, so that the server's spans of a call join its trace:
    the current OpenTelemetry span's when the caller uses OpenTelemetry (its propagators inject
    it), else the TRACEPARENT variable (a task body run by a tracing server has one)."""
    if "opentelemetry.trace" in sys.modules:
        from opentelemetry import propagate

        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if "traceparent" in carrier:
            return carrier
    parent = os.environ.get("TRACEPARENT")
    return {"traceparent": parent} if parent else {}


class Transport:
    """The admin service of the server at ``endpoint``: ``call`` and ``stream`` by method name
    (``"get_execution"``), connected on first use, when the server's API level is checked once.

    Each call carries an access token from ``tokens``; without one, from the provider the
    environment or a cached login names (:func:`~wingspan._remote.tokens.provider_for`), found
    once the server has said where its authorization server is (GetVersion needs no token)."""

    def __init__(self, endpoint: Endpoint, tokens: TokenProvider | None = None) -> None:
        self.endpoint = endpoint
        self.tokens = tokens
        self._find_tokens = tokens is None
        self.address = endpoint.address
        #: the server's HTTP address, as it reported it (known after the first call)
        self.http_address = ""
        self._channel: Channel | None = None
        self._stub: Any = None
        # a channel belongs to the event loop it was opened on: a Remote used synchronously (its
        # own loop thread) and then through ``.aio`` in ``asyncio.run`` opens one per loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._checked = False

    async def _connect(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._stub is not None and self._loop is not loop:
            self._drop_channel()
        if self._stub is None:
            self._channel = Channel(self.endpoint.host, self.endpoint.port, ssl=self.endpoint.grpc_ssl())
            self._stub = v1.AdminServiceStub(self._channel, metadata=self.endpoint.metadata or None)
            self._loop = loop
        if not self._checked:
            self._checked = True  # the check's own call comes through here
            try:
                await self._check_version()
                if self._find_tokens:
                    self.tokens = provider_for(self.address, self.http_address,
                                               verify=self.endpoint.http_verify())
            except BaseException:
                self._checked = False  # asked again at the next call
                raise
        return self._stub

    async def _metadata(self, method: str) -> dict[str, str] | None:
        trace = trace_headers()
        if self.tokens is None or method == "get_version":
            return {**dict(self.endpoint.metadata), **trace} if trace else None
        token = await self.tokens.token()
        return {**dict(self.endpoint.metadata), **trace, "authorization": f"Bearer {token}"}

    async def call(self, method: str, request: Any, what: str) -> Any:
        """The answer of one unary call; ``what`` names the action in an error."""
        stub = await self._connect()
        metadata = await self._metadata(method)  # its errors say what to do themselves
        try:
            return await getattr(stub, method)(request, metadata=metadata)
        except Exception as exc:
            raise translate(exc, what, self.address, plain=not self.endpoint.tls) from exc

    async def stream(self, method: str, request: Any, what: str) -> AsyncIterator[Any]:
        """The messages of one server-streaming call."""
        stub = await self._connect()
        metadata = await self._metadata(method)
        try:
            async for message in getattr(stub, method)(request, metadata=metadata):
                yield message
        except Exception as exc:
            raise translate(exc, what, self.address, plain=not self.endpoint.tls) from exc

    async def _check_version(self) -> None:
        answer = await self.call("get_version", v1.GetVersionRequest(), "get the server's version")
        problem = mismatch(answer.api_level, answer.version, VERSION)
        if problem:
            log.warning("%s", problem)
        self.http_address = answer.http_address

    def _drop_channel(self) -> None:
        """Forgets the channel of another loop, closed on that loop while it still runs."""
        channel, loop = self._channel, self._loop
        self._channel = self._stub = self._loop = None
        if channel is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(channel.close)

    async def aclose(self) -> None:
        if self._channel is not None and self._loop is not asyncio.get_running_loop():
            self._drop_channel()
        elif self._channel is not None:
            self._channel.close()
            self._channel = self._stub = self._loop = None
