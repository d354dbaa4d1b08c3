"""One rank of an MPI job: ``python -m wingspan_mpi._rank JOB_FOLDER``, started by ``mpirun``.

Every rank imports the task (from the request in the job folder), reads its inputs and runs the
body inside the installed task environments (``MPIEnvironment`` gives it its rank). Rank 0
writes the outputs; the other ranks' outputs are converted under ``<prefix>/ranks/<rank>`` (a
file one of them returns must not overwrite rank 0's) and dropped. A rank whose body raises
writes its error to the job folder, then aborts the job, so that ranks waiting for it in a
collective operation do not wait forever.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
import traceback
from pathlib import Path
from typing import Any

from wingspan_mpi._errors import MPIRankError
from wingspan_mpi._job import JobFolder, RankFailure

__all__ = ["main"]


def main(argv: list[str]) -> int:
    folder = JobFolder(Path(argv[0]))
    from mpi4py import MPI  # initialises MPI: the job exists from here on

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    request = folder.read_request()
    sys.path[:] = request["sys_path"]
    if request.get("cwd"):
        os.chdir(request["cwd"])
    try:
        outputs = asyncio.run(_attempt(request, folder, rank))
    except Exception as exc:
        traceback.print_exc()
        folder.write_failure(_failure(exc, rank, size, request))
        sys.stdout.flush()
        sys.stderr.flush()
        if size > 1:
            comm.Abort(1)  # ends every rank (and mpirun, non-zero): none waits on this one
        return 1
    if rank == 0:
        folder.write_outputs(outputs)
    return 0


async def _attempt(request: dict[str, Any], folder: JobFolder, rank: int) -> bytes:
    from wingspan.core.config import Settings
    from wingspan.core.engine.context import ExecutionContext, ExecutionName
    from wingspan.core.engine.literal_attempt import run_attempt_from_literals
    from wingspan.core.model import codec
    from wingspan.core.model.literals import LiteralMap
    from wingspan.core.storage import store_for_uri
    from wingspan.core.storage.uris import join_uri
    from wingspan.core.types import TransferContext
    from wingspan.plugin import load_for_bodies, resolve_task

    runner: Any = resolve_task(request["module"], request["qualname"], request.get("main_path", ""))
    load_for_bodies(runner.template.type)  # the MPI environment (and other plugins' types) here
    store = store_for_uri(request["storage"], Settings.load()) if request.get("storage") else None
    prefix = request["prefix"]
    if rank > 0 and prefix:  # no prefix (no store): nothing of any rank's is written
        prefix = join_uri(prefix, "ranks", str(rank))
    transfer = TransferContext(store, prefix, request["offload"])
    context = ExecutionContext(ExecutionName(request["execution_id"]), request["node_id"], request["attempt"],
                               request["task"], store, prefix)
    literals = codec.decode(LiteralMap, folder.inputs.read_bytes())
    try:
        done = await run_attempt_from_literals(runner, literals, transfer, context)
    finally:
        if store is not None:
            await store.aclose()
    assert isinstance(done, LiteralMap)  # an mpi task is not dynamic
    return codec.encode(done)


def _failure(exc: Exception, rank: int, size: int, request: dict[str, Any]) -> RankFailure:
    from wingspan.core.engine.failures import error_from_exception
    from wingspan.core.model.literals import ErrorKind

    error = error_from_exception(exc, request["node_id"])
    where = f"task {request['task']!r}: rank {rank} of {size}"
    if error.kind == ErrorKind.USER:
        named = MPIRankError(f"{where} raised {error.message}", rank, error.retryable)
        return RankFailure(rank, "USER:MPIRankError", f"MPIRankError: {named}", True, error.retryable,
                           _pickled(named))
    return RankFailure(rank, error.code, f"{where}: {error.message}", False, error.retryable, _pickled(exc))


def _pickled(exc: BaseException) -> bytes | None:
    try:
        return pickle.dumps(exc)
    except Exception:
        return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
