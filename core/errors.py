"""The one exception tree of Wingspan.

Every error the platform raises on purpose derives from :class:`WingspanError`.
Whether an error is the user's fault and whether retrying can help are data on
the exception, never something to find by matching message text::

    WingspanError
    ├── UserError                     bad input or code: fix it, do not retry
    │   ├── ConfigError               a setting is missing or malformed
    │   ├── TypeTransformerError      no transformer for a type, or a value of the wrong type
    │   ├── CompilationError          a task or workflow is invalid (lists every problem)
    │   ├── InvalidArgumentError      a request is malformed (a missing field, a wrong type)
    │   ├── MissingExtraError         a feature needs an optional dependency: install the extra
    │   └── NonRetryableError         raised by task code to stop retries
    ├── NotFoundError                 an entity, execution, blob or signal does not exist
    ├── AlreadyExistsError            a version exists with other content (a conflict)
    ├── FailedPreconditionError       the request is valid but not in the current state
    │   └── LeaseLostError            an engine replica no longer holds an execution's lease
    ├── StorageError                  the blob store failed (retryable)
    ├── ExecutionFailedError          a workflow run ended without success
    └── SystemError_                  the platform itself failed (retryable)

Boundaries (gRPC, HTTP, database, Kubernetes, plugins) translate lower-layer
errors into this tree in one place each, ``raise Mapped(...) from exc``.
"""

from __future__ import annotations

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
    "StorageError",
    "SystemError_",
    "TypeTransformerError",
    "UserError",
    "WingspanError",
]


class WingspanError(Exception):
    """Root of every error Wingspan raises on purpose."""

    #: the fault is in the user's code or input (not the platform's)
    user_error: bool = False
    #: a new attempt may succeed
    retryable: bool = False


class UserError(WingspanError):
    """The user's input or code is wrong; the message says what to change."""

    user_error = True


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


class NotFoundError(WingspanError, LookupError):
    """The named entity, execution, object or signal does not exist."""


class AlreadyExistsError(WingspanError):
    """Something exists under this identity with different content."""


class FailedPreconditionError(WingspanError):
    """The request is well formed but cannot be done in the current state."""


class LeaseLostError(FailedPreconditionError):
    """An engine replica wrote to an execution whose lease it no longer holds (another
    replica took it over, or the lease expired): nothing was written; the replica must
    stop acting on that execution."""


class StorageError(WingspanError, OSError):
    """The blob store could not complete an operation; retrying may help."""

    retryable = True


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
