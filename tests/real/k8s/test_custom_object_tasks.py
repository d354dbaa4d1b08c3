"""Tasks the custom-object tests run (a Dask job's runner pod and an MPI job's ranks import them
by name, as ``wingspan execute`` in a pod of the node agent). No tests here."""

from __future__ import annotations

from wingspan_dask import Dask
from wingspan_mpi import MPI
from wingspan_ray import HeadNode, Ray, WorkerGroup
from wingspan_spark import Spark

from wingspan import current_context, task


@task(task_config=Spark(executor_instances=2, executor_memory="512m",
                        spark_conf={"spark.sql.shuffle.partitions": "4"}))
def spark_count(n: int) -> int:
    session = current_context().spark_session
    print(f"submitted application {session.sparkContext.appName} on {session.sparkContext.master}")
    return int(session.range(n).count())


@task(task_config=Dask(workers=2, threads_per_worker=1))
def dask_scheduler_of(n: int) -> str:
    client = current_context().dask_client
    print(f"connected to {client.scheduler.address}")
    return f"{n * 2} via {client.scheduler.address}"


@task(task_config=Dask(workers=1))
def dask_fails(message: str) -> str:
    raise ValueError(message)


@task(task_config=Ray(head=HeadNode(num_cpus=1), workers=[WorkerGroup(replicas=2, num_cpus=2)],
                      runtime_env={"env_vars": {"STAGE": "test"}}))
def ray_sum(n: int) -> int:
    return n * (n + 1) // 2


@task(task_config=MPI(workers=2))
def mpi_ranks(n: int) -> str:
    context = current_context()
    total = context.mpi_comm.allreduce(n)  # every rank takes part
    return f"{total} from rank {context.mpi_rank} of {context.mpi_size}"


@task(task_config=MPI(workers=2))
def mpi_rank_fails(message: str) -> str:
    context = current_context()
    if context.mpi_rank == 1:
        raise ValueError(message)
    context.mpi_comm.barrier()  # rank 0 waits here until mpirun ends the job
    return "never"
