"""Platform errors as gRPC statuses: the one place the gRPC transport answers with them.

A WingspanError carries its status as data (``status_name``, see wingspan.core.errors):

InvalidArgumentError, any other UserError  -> INVALID_ARGUMENT
PermissionDeniedError (a bad signed URL)   -> PERMISSION_DENIED
UnauthenticatedError                       -> UNAUTHENTICATED
ResourceExhaustedError (over a limit)      -> RESOURCE_EXHAUSTED
NotFoundError                              -> NOT_FOUND
AlreadyExistsError                         -> ALREADY_EXISTS
FailedPreconditionError                    -> FAILED_PRECONDITION
UnavailableError, StorageError             -> UNAVAILABLE (retryable)
a method the backend lacks                 -> UNIMPLEMENTED
anything else                              -> INTERNAL (logged; the message stays on the server)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

from wingspan.core.errors import WingspanError
from wingspan.server.api.private_paths import PrivatePaths

__all__ = ["status_of", "translated"]

log = logging.getLogger("wingspan.server.grpc")


def status_of(exc: BaseException) -> Status:
    return Status[exc.status_name] if isinstance(exc, WingspanError) else Status.INTERNAL


@contextlib.contextmanager
def translated(method: str, private: PrivatePaths | None = None) -> Iterator[None]:
    """Runs a call, raising a GRPCError for whatever it raises (GRPCErrors pass as they are), its
    message without the server's own paths (``private``)."""
    try:
        yield
    except (GRPCError, StreamTerminatedError):  # already a status, or the client went away
        raise
    except Exception as exc:
        status = status_of(exc)
        if status is Status.INTERNAL:  # the details stay in the server's log, as over HTTP
            log.exception("%s failed", method)
            raise GRPCError(
                status, f"{method}: internal error ({type(exc).__name__}); the server log has the details"
            ) from exc
        message = str(exc) if private is None else private.redact(str(exc))
        raise GRPCError(status, message) from exc
