"""The backend half on each rank: ``MPIEnvironment`` gives an ``mpi`` task's body its rank.

It is entered around the attempt in every rank's process (``wingspan_mpi._rank``), and gives
the body ``current_context().mpi_rank``, ``.mpi_size`` and ``.mpi_comm`` (mpi4py's
``COMM_WORLD``). MPI is initialised when the rank starts, before the body's code is imported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from wingspan.plugin import TaskEnvironment
from wingspan_mpi._task_config import TASK_TYPE

if TYPE_CHECKING:
    from wingspan.core.engine.context import ExecutionContext
    from wingspan.plugin import TaskTemplate

__all__ = ["MPIEnvironment"]


class MPIEnvironment(TaskEnvironment):
    """The rank, size and communicator of the MPI job the body runs in."""

    task_types = (TASK_TYPE,)
    provides = ("mpi_rank", "mpi_size", "mpi_comm")

    @contextlib.contextmanager
    def enter(self, template: TaskTemplate, context: ExecutionContext) -> Iterator[Mapping[str, Any]]:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
        yield {"mpi_rank": comm.Get_rank(), "mpi_size": comm.Get_size(), "mpi_comm": comm}
