"""What goes wrong in an MPI job, named: ``MPIRankError`` (a rank's body raised: the user's error,
retried as any), ``MPIRankLostError`` (a rank's process died: the platform's, retryable) and
``MPILaunchError`` (``mpirun`` could not be started: fix the machine, no retry helps)."""

from __future__ import annotations

from wingspan.plugin import UserError, WingspanError

__all__ = ["MPILaunchError", "MPIRankError", "MPIRankLostError"]


class MPIRankError(UserError):
    """A rank's body raised; the message names the rank and carries its traceback."""

    retryable = True

    def __init__(self, message: str, rank: int = -1, retryable: bool = True) -> None:
        super().__init__(message)
        self.rank = rank
        self.retryable = retryable

    def __reduce__(self) -> tuple[type[MPIRankError], tuple[str, int, bool]]:
        return (type(self), (str(self), self.rank, self.retryable))


class MPIRankLostError(WingspanError):
    """A rank's process died (killed, out of memory) before the job ended."""

    retryable = True


class MPILaunchError(WingspanError):
    """``mpirun`` is missing or could not start the job."""
