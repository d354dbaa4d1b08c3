"""Platform errors as gRPC statuses: the one place the gRPC transport maps them.

InvalidArgumentError, any other UserError  -> INVALID_ARGUMENT
NotFoundError                              -> NOT_FOUND
AlreadyExistsError                         -> ALREADY_EXISTS
FailedPreconditionError                    -> FAILED_PRECONDITION
StorageError                               -> UNAVAILABLE (retryable)
a method the backend lacks                 -> UNIMPLEMENTED
anything else                              -> INTERNAL (logged; the message stays on the server)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

from wingspan.core.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    NotFoundError,
    StorageError,
    UserError,
    WingspanError,
)
from wingspan.server.api.private_paths import PrivatePaths

__all__ = ["status_of", "translated"]

log = logging.getLogger("wingspan.server.grpc")

_STATUSES: tuple[tuple[type[WingspanError], Status], ...] = (
    (NotFoundError, Status.NOT_FOUND),
    (AlreadyExistsError, Status.ALREADY_EXISTS),
    (FailedPreconditionError, Status.FAILED_PRECONDITION),
    (UserError, Status.INVALID_ARGUMENT),
    (StorageError, Status.UNAVAILABLE),
)


def status_of(exc: BaseException) -> Status:
    for kind, status in _STATUSES:
        if isinstance(exc, kind):
            return status
    return Status.INTERNAL


@contextlib.contextmanager
def translated(method: str, private: PrivatePaths | None = None) -> Iterator[None]:
    """Runs a call, raising a GRPCError for whatever it raises (GRPCErrors pass as they are), its
    message without the server's own paths (``private``)."""
    try:
        yield
    except (GRPCError, StreamTerminatedError):  # already a status, or the client went away
        raise
    except WingspanError as exc:
        status = status_of(exc)
        if status is Status.INTERNAL:
            log.exception("%s failed", method)
        message = str(exc) if private is None else private.redact(str(exc))
        raise GRPCError(status, message) from exc
    except Exception as exc:
        log.exception("%s failed", method)
        raise GRPCError(
            Status.INTERNAL,
            f"{method}: internal error ({type(exc).__name__}); the server log has the details",
        ) from exc
