"""The Kubernetes backend: target ``dask-k8s`` runs each attempt of a Dask task as a DaskJob
(``kubernetes.dask.org/v1``) for the Dask Kubernetes operator.

The operator starts the job's cluster (a scheduler pod and service, ``workers`` worker pods)
and then its runner pod, which is the pod a Python task runs as (``wingspan execute`` for
the attempt); the operator gives the runner ``DASK_SCHEDULER_ADDRESS``, which the task's
environment connects to. When the runner ends, the operator removes the cluster and marks
the job Successful or Failed. Choose it with ``task_targets = "dask=dask-k8s"``; the cluster
is the one ``[plugins.k8s]`` names.
"""

from __future__ import annotations

from typing import Any, ClassVar

from wingspan_k8s import K8sConfig
from wingspan_k8s.custom_objects import Attempt, CustomObjectPlugin, ObjectState, object_error

from wingspan.plugin import TaskContext, TaskPhase
from wingspan_dask._config import DaskConfig
from wingspan_dask._daskjob_crd import DASK_JOB
from wingspan_dask._environment import task_config
from wingspan_dask._task_config import TASK_TYPE

__all__ = ["DaskK8sTarget", "job_state"]

_SCHEDULER_PORT = 8786
_DASHBOARD_PORT = 8787


class DaskK8sTarget(CustomObjectPlugin):
    """Dask tasks as DaskJobs (``task_targets = "dask=dask-k8s"``)."""

    name: ClassVar[str] = "dask-k8s"
    task_types: ClassVar[tuple[str, ...]] = (TASK_TYPE,)
    resource = DASK_JOB

    def __init__(self, config: DaskConfig | None = None, k8s: K8sConfig | None = None) -> None:
        super().__init__(k8s)
        self.dask = config or DaskConfig()

    def build_spec(self, ctx: TaskContext, attempt: Attempt) -> dict[str, Any]:
        dask = task_config(ctx.template)
        runner = self.task_pod(attempt)
        image = ((ctx.template.container.image if ctx.template.container else "") or self.dask.k8s_image
                 or self.config.default_image)
        labels = runner["metadata"]["labels"]
        node = {"nodeName": self.config.node_name} if self.config.node_name else {}
        ports = [{"name": "tcp-comm", "containerPort": _SCHEDULER_PORT, "protocol": "TCP"},
                 {"name": "http-dashboard", "containerPort": _DASHBOARD_PORT, "protocol": "TCP"}]
        scheduler = {"name": "scheduler", "image": image, "args": ["dask", "scheduler"], "ports": ports}
        worker = {"name": "worker", "image": image,
                  "args": ["dask", "worker", "--name", "$(DASK_WORKER_NAME)", "--nthreads",
                           str(dask.threads_per_worker), "--memory-limit", dask.memory_limit,
                           "--dashboard-address", "8788"]}
        return {
            "job": {"metadata": {"labels": labels}, "spec": runner["spec"]},
            "cluster": {"metadata": {"labels": labels}, "spec": {
                "scheduler": {
                    "metadata": {"labels": labels}, "spec": {"containers": [scheduler], **node},
                    "service": {"type": "ClusterIP",
                                "selector": {"dask.org/cluster-name": attempt.name,
                                             "dask.org/component": "scheduler"},
                                "ports": [{"name": "tcp-comm", "protocol": "TCP", "port": _SCHEDULER_PORT,
                                           "targetPort": "tcp-comm"}]},
                },
                "worker": {"metadata": {"labels": labels}, "replicas": dask.workers,
                           "spec": {"containers": [worker], **node}},
            }},
        }

    def state_of(self, obj: dict[str, Any], node_id: str) -> ObjectState:
        return job_state(obj, node_id)

    def log_source(self, obj: dict[str, Any]) -> tuple[str, str] | None:
        pod = (obj.get("status") or {}).get("jobRunnerPodName")
        return (pod, "task") if pod else None


def job_state(obj: dict[str, Any], node_id: str) -> ObjectState:
    """What a DaskJob's ``status.jobStatus`` means for its attempt."""
    status = obj.get("status") or {}
    job = str(status.get("jobStatus") or "")
    if job in ("", "JobCreated", "ClusterCreated"):
        return ObjectState(TaskPhase.QUEUED, job or "waiting for the Dask operator")
    if job == "Successful":
        return ObjectState(TaskPhase.SUCCEEDED, job, read_outputs=True)
    if job == "Failed":
        runner = status.get("jobRunnerPodName") or "its runner pod"
        return ObjectState(TaskPhase.FAILED, job, object_error(
            "DaskJobFailed", f"the DaskJob's runner pod ({runner}) failed", node_id, user=True,
            retryable=True), read_error=True)
    return ObjectState(TaskPhase.RUNNING, job)
