"""The RPCs of the admin service, read once from the generated grpclib base class.

Both transports are built from this one table, so a method added to admin.proto
reaches gRPC and HTTP alike (and a method the backend lacks shows as unimplemented).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from wingspan.server.services.idl import v1

__all__ = ["SERVICE_NAME", "Method", "methods"]

SERVICE_NAME = "wingspan.v1.AdminService"
_PREFIX = "__rpc_"


@dataclasses.dataclass(frozen=True, slots=True)
class Method:
    """One RPC: ``name`` as in the IDL (``GetTask``), ``attr`` as in Python (``get_task``)."""

    name: str
    attr: str
    request_type: type[Any]
    response_type: type[Any]
    server_streaming: bool

    @property
    def path(self) -> str:
        """The gRPC path, ``/wingspan.v1.AdminService/GetTask``."""
        return f"/{SERVICE_NAME}/{self.name}"


@functools.cache
def methods() -> tuple[Method, ...]:
    """Every RPC of the service, in IDL order."""
    found = []
    for path, handler in v1.AdminServiceBase().__mapping__().items():
        name = path.rsplit("/", 1)[1]
        attr = handler.func.__name__.split(_PREFIX, 1)[1]
        cardinality = handler.cardinality
        if cardinality.value.client_streaming:
            raise AssertionError(f"{name}: client streaming RPCs have no transport here")
        found.append(
            Method(name, attr, handler.request_type, handler.reply_type, cardinality.value.server_streaming)
        )
    return tuple(found)
