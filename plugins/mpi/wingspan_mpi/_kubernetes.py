"""The Kubernetes backend: target ``mpi-k8s`` runs each attempt of an MPI task as an MPIJob
(``kubeflow.org/v2beta1``) for Kubeflow's MPI operator.

The operator makes ``MPI(workers=N)``'s worker pods (each running an SSH server, with
``slots_per_worker`` slots) and a launcher whose ``mpirun`` starts ``workers *
slots_per_worker`` ranks on them; each rank runs the attempt's ``wingspan execute`` through
``wingspan_mpi.pod_rank`` (rank 0's outputs are the task's). The task pod's environment is
given to the launcher and passed to every rank (``mpirun -x``); the workers carry it and the
task pod's volumes, secrets and node too. The engine retries attempts: the operator does not
(``backoffLimit`` 0). Choose it with ``task_targets = "mpi=mpi-k8s"``; the cluster is the one
``[plugins.k8s]`` names.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any, ClassVar

from wingspan_k8s import K8sConfig
from wingspan_k8s.custom_objects import Attempt, CustomObjectPlugin, ObjectState, merge_pod, object_error

from wingspan.plugin import TaskContext, TaskPhase
from wingspan_mpi._config import MPIConfig
from wingspan_mpi._mpijob_crd import LAUNCHER, MPI_JOB, WORKER
from wingspan_mpi._target import task_config
from wingspan_mpi._task_config import TASK_TYPE

if TYPE_CHECKING:
    from wingspan_k8s._cluster import Cluster

__all__ = ["LAUNCHER_CONTAINER", "MPIK8sTarget", "job_state"]

LAUNCHER_CONTAINER = "launcher"
WORKER_CONTAINER = "worker"
# what the pod plugin's task pod sets that is its own, not the MPI pods'
_TASK_POD_ONLY = frozenset({"containers", "restartPolicy", "activeDeadlineSeconds"})


class MPIK8sTarget(CustomObjectPlugin):
    """MPI tasks as MPIJobs (``task_targets = "mpi=mpi-k8s"``)."""

    name: ClassVar[str] = "mpi-k8s"
    task_types: ClassVar[tuple[str, ...]] = (TASK_TYPE,)
    resource = MPI_JOB

    def __init__(self, config: MPIConfig | None = None, k8s: K8sConfig | None = None) -> None:
        super().__init__(k8s)
        self.mpi = config or MPIConfig()

    def build_spec(self, ctx: TaskContext, attempt: Attempt) -> dict[str, Any]:
        mpi = task_config(ctx.template)
        pod = self.task_pod(attempt)
        task = pod["spec"]["containers"][0]
        labels = pod["metadata"]["labels"]
        image = ((ctx.template.container.image if ctx.template.container else "") or self.mpi.k8s_image
                 or self.config.default_image)
        shared = {key: value for key, value in pod["spec"].items() if key not in _TASK_POD_ONLY}
        carried = {key: task[key] for key in ("env", "envFrom", "volumeMounts") if task.get(key)}
        # the ranks start through the workers' SSH servers, which do not pass the pod's
        # environment on: mpirun sends the launcher's (-x NAME)
        exported = [part for item in task.get("env", []) for part in ("-x", item["name"])]
        mpirun = [*self.mpi.k8s_mpirun_command, "-np", str(mpi.ranks), *exported,
                  *shlex.split(self.mpi.mpirun_args)]
        launcher = {"name": LAUNCHER_CONTAINER, "image": image, **carried,
                    "command": [*mpirun, *self.mpi.k8s_rank_command, *task["command"]]}
        worker = {"name": WORKER_CONTAINER, "image": image, **carried,
                  "command": list(self.mpi.k8s_worker_command)}
        if task.get("resources"):  # the task's resources are each worker's: its ranks run there
            worker["resources"] = task["resources"]

        def replica(replicas: int, container: dict[str, Any]) -> dict[str, Any]:
            return {"replicas": replicas, "restartPolicy": "Never", "template": {
                "metadata": {"labels": labels}, "spec": {**shared, "containers": [container]}}}

        run_policy: dict[str, Any] = {"backoffLimit": 0, "cleanPodPolicy": "Running"}
        if self.config.cleanup_after_seconds >= 0:
            run_policy["ttlSecondsAfterFinished"] = int(self.config.cleanup_after_seconds)
        spec: dict[str, Any] = {
            "slotsPerWorker": mpi.slots_per_worker,
            "mpiImplementation": "OpenMPI",
            "launcherCreationPolicy": "WaitForWorkersReady",
            "runPolicy": run_policy,
            "mpiReplicaSpecs": {LAUNCHER: replica(1, launcher), WORKER: replica(mpi.workers, worker)},
        }
        return merge_pod(spec, self.mpi.k8s_job) if self.mpi.k8s_job else spec

    def state_of(self, obj: dict[str, Any], node_id: str) -> ObjectState:
        return job_state(obj, node_id)

    async def find_log_source(self, cluster: Cluster, obj: dict[str, Any]) -> tuple[str, str] | None:
        """The launcher's pod (``mpirun``'s output: every rank's)."""
        from kubernetes_asyncio.client import CoreV1Api

        namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        selector = f"training.kubeflow.org/job-name={name},training.kubeflow.org/job-role=launcher"
        pods = (await CoreV1Api(cluster.api).list_namespaced_pod(namespace, label_selector=selector)).items
        if not pods:
            return None
        newest = max(pods, key=lambda pod: pod.metadata.creation_timestamp)
        return str(newest.metadata.name), LAUNCHER_CONTAINER


def job_state(obj: dict[str, Any], node_id: str) -> ObjectState:
    """What an MPIJob's ``status.conditions`` (Created, Running, Succeeded, Failed, as the
    operator sets them) mean for its attempt."""
    conditions = {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []
                  if c.get("status") == "True"}
    if "Succeeded" in conditions:
        return ObjectState(TaskPhase.SUCCEEDED, "succeeded", read_outputs=True)
    failed = conditions.get("Failed")
    if failed is not None:
        reason = str(failed.get("reason") or "")
        message = str(failed.get("message") or "") or "no message"
        if reason == "MPIJobEvicted":
            return ObjectState(TaskPhase.FAILED, reason, object_error(
                "MPIJobEvicted", f"a pod of the MPIJob was evicted: {message}", node_id, user=False,
                retryable=True))
        return ObjectState(TaskPhase.FAILED, reason or "failed", object_error(
            "MPIJobFailed", f"the MPIJob failed ({reason or 'no reason'}): {message}", node_id, user=True,
            retryable=True), read_error=True)
    if "Running" in conditions:
        return ObjectState(TaskPhase.RUNNING, "running")
    if "Suspended" in conditions:
        return ObjectState(TaskPhase.QUEUED, "suspended")
    waiting = "created" if "Created" in conditions else "waiting for the MPI operator"
    return ObjectState(TaskPhase.QUEUED, waiting)
