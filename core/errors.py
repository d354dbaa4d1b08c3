"""The one exception tree of Wingspan.

Every error the platform raises on purpose derives from :class:`WingspanError`.
Whether an error is the user's fault and whether retrying can help are data on
the exception, never something to find by matching message text::

    WingspanError                    status_name
    ├── UserError                    INVALID_ARGUMENT     bad input or code: fix it, do not retry
    │   ├── ConfigError              INVALID_ARGUMENT     a setting is missing or malformed
    │   ├── TypeTransformerError     INVALID_ARGUMENT     no transformer for a type, or a wrong value
    │   ├── CompilationError         INVALID_ARGUMENT     a task or workflow is invalid (all problems)
    │   ├── InvalidArgumentError     INVALID_ARGUMENT     a request is malformed (field missing, wrong)
    │   ├── MissingExtraError        INVALID_ARGUMENT     needs an optional dependency: install the extra
    │   ├── NonRetryableError        INVALID_ARGUMENT     raised by task code to stop retries
    │   ├── PermissionDeniedError    PERMISSION_DENIED    the caller may not do this (a bad signed URL)
    │   ├── UnauthenticatedError     UNAUTHENTICATED      the caller's credential is missing or wrong
    │   └── ResourceExhaustedError   RESOURCE_EXHAUSTED   a request is above a limit (body too large)
    ├── NotFoundError                NOT_FOUND            an entity, execution, blob or signal is missing
    ├── AlreadyExistsError           ALREADY_EXISTS       a version exists with other content
    ├── FailedPreconditionError      FAILED_PRECONDITION  valid, but not in the current state
    │   └── LeaseLostError           FAILED_PRECONDITION  a replica no longer holds an execution's lease
    ├── UnavailableError             UNAVAILABLE          a service is out of reach (retryable)
    │   └── StorageError             UNAVAILABLE          the blob store failed (retryable)
    ├── ExecutionFailedError         INTERNAL             a workflow run ended without success
    └── SystemError_                 INTERNAL             the platform itself failed (retryable)

The status is data on each class, :attr:`WingspanError.status_name`: the canonical
(gRPC) status name that both transports answer with (the HTTP transport turns it
into an HTTP status); a client turns a status back into an error class with
:func:`error_class_for`. Boundaries (gRPC, HTTP, database, Kubernetes, plugins)
translate lower-layer errors into this tree in one place each,
``raise Mapped(...) from exc``.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlreadyExistsError",
    "CompilationError",
    "ConfigError",
    "ExecutionFailedError",
    "FailedPreconditionError",
    "InvalidArgumentError",
    "LeaseLostError",
    "MissingExtraError",
    "NonRetryableError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "StorageError",
    "SystemError_",
    "TypeTransformerError",
    "UnauthenticatedError",
    "UnavailableError",
    "UserError",
    "WingspanError",
    "error_class_for",
]


class WingspanError(Exception):
    """Root of every error Wingspan raises on purpose."""

    #: the fault is in the user's code or input (not the platform's)
    user_error: bool = False
    #: a new attempt may succeed
    retryable: bool = False
    #: the canonical status name a server answers with (gRPC's; HTTP maps it to a number)
    status_name: ClassVar[str] = "INTERNAL"


class UserError(WingspanError):
    """The user's input or code is wrong; the message says what to change."""

    user_error = True
    status_name = "INVALID_ARGUMENT"


class ConfigError(UserError, ValueError):
    """A configuration value is missing or malformed."""


class TypeTransformerError(UserError, TypeError):
    """A Python type has no transformer, or a value does not match its declared type."""


class CompilationError(UserError, ValueError):
    """A task or workflow definition is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} problems:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(message)


class InvalidArgumentError(UserError, ValueError):
    """A request is malformed: a field is missing or out of range, a value has the wrong type."""


class MissingExtraError(UserError, ImportError):
    """A feature needs a library that is not installed; the message names the extra to install."""

    def __init__(self, feature: str, extra: str, missing: str) -> None:
        super().__init__(f"{feature} needs {missing}, which is not installed: "
                         f"pip install 'wingspan[{extra}]'")
        self.extra = extra


class NonRetryableError(UserError):
    """Raise from a task to fail the attempt without further retries."""


class PermissionDeniedError(UserError, PermissionError):
    """The caller is known (or needs no identity) but may not do this, e.g. a signed URL
    that does not match what it is used for."""

    status_name = "PERMISSION_DENIED"


class UnauthenticatedError(UserError):
    """The call needs a credential, and it is missing or wrong."""

    status_name = "UNAUTHENTICATED"


class ResourceExhaustedError(UserError):
    """A request is above a limit (a body too large, too many of something)."""

    status_name = "RESOURCE_EXHAUSTED"


class NotFoundError(WingspanError, LookupError):
    """The named entity, execution, object or signal does not exist."""

    status_name = "NOT_FOUND"


class AlreadyExistsError(WingspanError):
    """Something exists under this identity with different content."""

    status_name = "ALREADY_EXISTS"


class FailedPreconditionError(WingspanError):
    """The request is well formed but cannot be done in the current state."""

    status_name = "FAILED_PRECONDITION"


class LeaseLostError(FailedPreconditionError):
    """An engine replica wrote to an execution whose lease it no longer holds (another
    replica took it over, or the lease expired): nothing was written; the replica must
    stop acting on that execution."""


class UnavailableError(WingspanError):
    """A service the call needs is out of reach or overloaded; retrying may help."""

    retryable = True
    status_name = "UNAVAILABLE"


class StorageError(UnavailableError, OSError):
    """The blob store could not complete an operation; retrying may help."""


class ExecutionFailedError(WingspanError):
    """A run failed, timed out or was aborted; ``node_id`` and ``phase`` say where and how."""

    def __init__(self, message: str, *, node_id: str = "", phase: str = "FAILED",
                 code: str = "") -> None:
        super().__init__(message)
        self.node_id = node_id
        self.phase = phase
        self.code = code


class SystemError_(WingspanError):
    """The platform failed for a reason outside the user's control."""

    retryable = True


# The class a client raises for a server's status: the most general class that answers with it
# (a server's CompilationError arrives as INVALID_ARGUMENT, so as an InvalidArgumentError).
_CLASS_OF_STATUS: dict[str, type[WingspanError]] = {
    "INVALID_ARGUMENT": InvalidArgumentError,
    "OUT_OF_RANGE": InvalidArgumentError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "UNAUTHENTICATED": UnauthenticatedError,
    "RESOURCE_EXHAUSTED": ResourceExhaustedError,
    "NOT_FOUND": NotFoundError,
    "ALREADY_EXISTS": AlreadyExistsError,
    "FAILED_PRECONDITION": FailedPreconditionError,
    "UNAVAILABLE": UnavailableError,
}


def error_class_for(status: str, default: type[WingspanError] = SystemError_) -> type[WingspanError]:
    """The error class for a canonical status name a server answered with (``default`` for
    INTERNAL, UNIMPLEMENTED and any status no class of ours answers with)."""
    return _CLASS_OF_STATUS.get(status, default)
