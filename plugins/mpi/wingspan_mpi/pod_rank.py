"""One rank of an MPIJob's attempt: ``python -m wingspan_mpi.pod_rank WINGSPAN_EXECUTE...``,
started by the launcher's ``mpirun`` on a worker pod.

Every rank runs the attempt's ``wingspan execute`` command; rank 0's outputs are the task's, so
any other rank writes its outputs (or its error) under ``<output prefix>/ranks/<rank>``, where
nothing reads them. The rank comes from the MPI launcher's environment (Open MPI's
``OMPI_COMM_WORLD_RANK``, MPICH's and Intel MPI's ``PMI_RANK``) without initialising MPI here:
the ``wingspan execute`` this process becomes does that, once. A rank whose body raises aborts
the job as it exits, once its error is written (``ABORT_ON_FAILURE``), so that ``mpirun`` ends
the ranks waiting for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from wingspan_mpi._environment import ABORT_ON_FAILURE

__all__ = ["rank_command"]

_RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")


def rank_command(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """The ``wingspan execute`` command ``argv`` for this rank (its output prefix moved for a
    rank other than 0)."""
    rank = next((env[name] for name in _RANK_VARIABLES if env.get(name)), "0")
    command = list(argv)
    if rank != "0" and "--output-prefix" in command:
        at = command.index("--output-prefix") + 1
        command[at] = f"{command[at].rstrip('/')}/ranks/{rank}"
    return command


def main(argv: Sequence[str]) -> None:
    if not argv:
        raise SystemExit("usage: python -m wingspan_mpi.pod_rank WINGSPAN_EXECUTE_COMMAND [ARGS...]")
    command = rank_command(argv, os.environ)
    os.environ[ABORT_ON_FAILURE] = "1"
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
