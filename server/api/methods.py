"""The RPCs of each service, read once from the generated grpclib base classes.

Both transports are built from :func:`methods` (the public admin service), so a method
added to admin.proto reaches gRPC and HTTP alike (and a method the backend lacks shows
as unimplemented). :func:`engine_methods` lists the internal engine service
(engine.proto), which only the gRPC transport serves, to engines.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from wingspan.protos import v1

__all__ = ["ENGINE_SERVICE_NAME", "SERVICE_NAME", "Method", "engine_methods", "methods"]

SERVICE_NAME = "wingspan.v1.AdminService"
ENGINE_SERVICE_NAME = "wingspan.v1.EngineService"
_PREFIX = "__rpc_"


@dataclasses.dataclass(frozen=True, slots=True)
class Method:
    """One RPC: ``name`` as in the IDL (``GetTask``), ``attr`` as in Python (``get_task``)."""

    name: str
    attr: str
    request_type: type[Any]
    response_type: type[Any]
    server_streaming: bool
    service: str = SERVICE_NAME

    @property
    def path(self) -> str:
        """The gRPC path, ``/wingspan.v1.AdminService/GetTask``."""
        return f"/{self.service}/{self.name}"


@functools.cache
def methods() -> tuple[Method, ...]:
    """Every RPC of the public admin service, in IDL order."""
    return _read(v1.AdminServiceBase(), SERVICE_NAME)


@functools.cache
def engine_methods() -> tuple[Method, ...]:
    """Every RPC of the internal engine service, in IDL order."""
    return _read(v1.EngineServiceBase(), ENGINE_SERVICE_NAME)


def _read(base: Any, service: str) -> tuple[Method, ...]:
    found = []
    for path, handler in base.__mapping__().items():
        name = path.rsplit("/", 1)[1]
        attr = handler.func.__name__.split(_PREFIX, 1)[1]
        cardinality = handler.cardinality
        if cardinality.value.client_streaming:
            raise AssertionError(f"{name}: client streaming RPCs have no transport here")
        found.append(Method(name, attr, handler.request_type, handler.reply_type,
                            cardinality.value.server_streaming, service))
    return tuple(found)
