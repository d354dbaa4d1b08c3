"""Turning what went wrong in an attempt into an ExecutionError."""

from __future__ import annotations

import signal
import traceback
from datetime import UTC, datetime
from types import TracebackType

from wingspan.core.errors import NonRetryableError, WingspanError
from wingspan.core.model.execution import ExecutionError
from wingspan.core.model.literals import ErrorKind

__all__ = ["INTERRUPTED", "error_from_exception", "interrupted", "killed_by_signal", "timed_out"]

#: the error code of an attempt its engine stopped following (a crash, a lost lease)
INTERRUPTED = "SYSTEM:Interrupted"


def _now() -> datetime:
    return datetime.now(UTC)


def error_from_exception(exc: BaseException, node_id: str = "") -> ExecutionError:
    """User code raised ``exc``: a user error, retryable unless it says otherwise."""
    if isinstance(exc, WingspanError) and not exc.user_error:
        kind, retryable = ErrorKind.SYSTEM, exc.retryable
    else:
        kind = ErrorKind.USER
        retryable = not isinstance(exc, NonRetryableError) and getattr(exc, "retryable", True) is not False
    exc.__traceback__ = _from_user_code(exc.__traceback__)
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return ExecutionError(
        code=f"{'USER' if kind == ErrorKind.USER else 'SYSTEM'}:{type(exc).__name__}",
        message=f"{type(exc).__name__}: {exc}\n\n{trace}", kind=kind, retryable=retryable,
        node_id=node_id, occurred_at=_now(),
    )


def _from_user_code(trace: TracebackType | None) -> TracebackType | None:
    """``trace`` without the platform's frames that called into user code (the engine, the
    runner, a worker): the user reads where their code failed. An error raised by the
    platform itself keeps its whole trace."""
    first = trace
    while first is not None and _is_platform(first):
        first = first.tb_next
    return first if first is not None else trace


# the platform and the event loop and thread machinery it calls user code through
_PLATFORM = ("wingspan", "asyncio", "anyio", "concurrent", "threading", "sniffio")


def _is_platform(trace: TracebackType) -> bool:
    names = trace.tb_frame.f_globals
    spec = names.get("__spec__")  # a module run with -m (a worker) is __main__ by __name__
    module: str = spec.name if spec is not None else names.get("__name__", "")
    return module.partition(".")[0] in _PLATFORM


def killed_by_signal(number: int, node_id: str = "") -> ExecutionError:
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    return ExecutionError(
        code=name, message=f"the task's process was killed by {name}", kind=ErrorKind.SYSTEM,
        retryable=True, node_id=node_id, occurred_at=_now(),
    )


def timed_out(seconds: float, node_id: str = "") -> ExecutionError:
    return ExecutionError(
        code="TIMEOUT", message=f"the task ran past its timeout of {seconds:g}s and was stopped",
        kind=ErrorKind.USER, retryable=True, node_id=node_id, occurred_at=_now(),
    )


def interrupted(node_id: str, attempt: int, why: str) -> ExecutionError:
    """An attempt cut short by the engine, not by its task: retryable, a SYSTEM error."""
    return ExecutionError(code=INTERRUPTED, kind=ErrorKind.SYSTEM, retryable=True, node_id=node_id,
                          occurred_at=_now(),
                          message=f"attempt {attempt} of {node_id} was interrupted: {why}")
