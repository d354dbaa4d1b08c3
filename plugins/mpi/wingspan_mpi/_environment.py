"""The backend half on each rank: ``MPIEnvironment`` gives an ``mpi`` task's body its rank.

It is entered around the attempt in every rank's process (``wingspan_mpi._rank``), and gives
the body ``current_context().mpi_rank``, ``.mpi_size`` and ``.mpi_comm`` (mpi4py's
``COMM_WORLD``). MPI is initialised when the rank starts, before the body's code is imported.

A rank of an MPIJob (``wingspan_mpi.pod_rank`` sets ``WINGSPAN_MPI_ABORT_ON_FAILURE``) whose
body raised aborts the whole job as its process exits, after ``wingspan execute`` has written
its error: otherwise its MPI_Finalize would wait for ranks that wait for it, and the job would
hang. (The local target's ranks abort through ``wingspan_mpi._rank``.)
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from wingspan.plugin import TaskEnvironment
from wingspan_mpi._task_config import TASK_TYPE

if TYPE_CHECKING:
    from wingspan.core.engine.context import ExecutionContext
    from wingspan.plugin import TaskTemplate

__all__ = ["ABORT_ON_FAILURE", "MPIEnvironment"]

#: set in a rank's environment: a body that raised aborts the job when its process exits
ABORT_ON_FAILURE = "WINGSPAN_MPI_ABORT_ON_FAILURE"


class MPIEnvironment(TaskEnvironment):
    """The rank, size and communicator of the MPI job the body runs in."""

    task_types = (TASK_TYPE,)
    provides = ("mpi_rank", "mpi_size", "mpi_comm")

    @contextlib.contextmanager
    def enter(self, template: TaskTemplate, context: ExecutionContext) -> Iterator[Mapping[str, Any]]:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
        try:
            yield {"mpi_rank": comm.Get_rank(), "mpi_size": comm.Get_size(), "mpi_comm": comm}
        except BaseException:
            if os.environ.get(ABORT_ON_FAILURE) and comm.Get_size() > 1:
                # runs before mpi4py's MPI_Finalize (registered earlier, when MPI was initialised)
                atexit.register(comm.Abort, 1)
            raise
