"""The Kubernetes backend: target ``ray-k8s`` runs each attempt of a Ray task as a RayJob
(``ray.io/v1``) for KubeRay's operator.

The operator makes the job's Ray cluster (a head pod, and the ``Ray(...)`` worker groups'
pods) and then a submitter Job that runs ``ray job submit`` of the job's entrypoint, which is
the attempt's ``wingspan execute`` command: the body runs as the Ray job's driver on the head,
joined to the job's cluster (``RayEnvironment`` finds ``RAY_ADDRESS``), and writes its outputs
under the attempt's prefix. The head and workers carry the task pod's environment, secrets and
node; the job's runtime environment is the task's ``runtime_env``. The operator removes the
cluster when the job ends (``shutdownAfterJobFinishes``), and neither the operator nor the
submitter retries: the engine retries attempts. Choose it with ``task_targets = "ray=ray-k8s"``;
the cluster is the one ``[plugins.k8s]`` names.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any, ClassVar

from wingspan_k8s import K8sConfig
from wingspan_k8s.custom_objects import Attempt, CustomObjectPlugin, ObjectState, merge_pod, object_error

from wingspan.plugin import TaskContext, TaskPhase
from wingspan_ray._config import RayConfig
from wingspan_ray._environment import task_config
from wingspan_ray._rayjob_crd import RAY_JOB
from wingspan_ray._task_config import TASK_TYPE

if TYPE_CHECKING:
    from wingspan_k8s._cluster import Cluster

__all__ = ["HEAD_CONTAINER", "SUBMITTER_CONTAINER", "RayK8sTarget", "job_state"]

HEAD_CONTAINER = "ray-head"
WORKER_CONTAINER = "ray-worker"
#: the container of the submitter Job's pod, whose log follows the driver's (``ray job submit``)
SUBMITTER_CONTAINER = "ray-job-submitter"

# the head's ports, as KubeRay names them: GCS, dashboard (the Jobs API), Ray client
_HEAD_PORTS = (("gcs-server", 6379), ("dashboard", 8265), ("client", 10001))
# what the pod plugin's task pod sets that is its own, not the Ray pods'
_TASK_POD_ONLY = frozenset({"containers", "restartPolicy", "activeDeadlineSeconds"})
_QUEUED = frozenset({"", "New", "Initializing", "Waiting", "Suspending", "Suspended"})


class RayK8sTarget(CustomObjectPlugin):
    """Ray tasks as RayJobs (``task_targets = "ray=ray-k8s"``)."""

    name: ClassVar[str] = "ray-k8s"
    task_types: ClassVar[tuple[str, ...]] = (TASK_TYPE,)
    resource = RAY_JOB

    def __init__(self, config: RayConfig | None = None, k8s: K8sConfig | None = None) -> None:
        super().__init__(k8s)
        self.ray = config or RayConfig()

    def build_spec(self, ctx: TaskContext, attempt: Attempt) -> dict[str, Any]:
        ray = task_config(ctx.template)
        pod = self.task_pod(attempt)
        task = pod["spec"]["containers"][0]
        labels = pod["metadata"]["labels"]
        image = ((ctx.template.container.image if ctx.template.container else "") or self.ray.k8s_image
                 or self.config.default_image)
        shared = {key: value for key, value in pod["spec"].items() if key not in _TASK_POD_ONLY}
        carried = {key: task[key] for key in ("env", "envFrom", "volumeMounts") if task.get(key)}

        def template(container: dict[str, Any]) -> dict[str, Any]:
            return {"metadata": {"labels": labels}, "spec": {**shared, "containers": [container]}}

        def cpus(count: int) -> dict[str, Any]:
            if not count:
                return {}
            return {"resources": {"requests": {"cpu": str(count)}, "limits": {"cpu": str(count)}}}

        head = {"name": HEAD_CONTAINER, "image": image, **carried, **cpus(ray.head.num_cpus),
                "ports": [{"name": name, "containerPort": port} for name, port in _HEAD_PORTS]}
        workers = [{
            "groupName": f"group-{index}", "replicas": group.replicas, "minReplicas": group.replicas,
            "maxReplicas": group.replicas, "rayStartParams": {"num-cpus": str(group.num_cpus)},
            "template": template({"name": WORKER_CONTAINER, "image": image, **carried,
                                  **cpus(group.num_cpus)}),
        } for index, group in enumerate(ray.workers)]
        # the operator fills in the submitter's `ray job submit` command; the pod needs our node
        submitter = {"metadata": {"labels": labels}, "spec": {
            **{key: value for key, value in shared.items() if key in ("nodeName", "serviceAccountName")},
            "restartPolicy": "Never", "containers": [{"name": SUBMITTER_CONTAINER, "image": image}]}}
        spec: dict[str, Any] = {
            "entrypoint": shlex.join(task["command"]),
            "submissionMode": "K8sJobMode",
            "shutdownAfterJobFinishes": True,
            # the engine retries attempts (each a new RayJob): neither the operator nor the submitter may
            "backoffLimit": 0, "submitterConfig": {"backoffLimit": 0},
            "rayClusterSpec": {
                "rayVersion": self.ray.k8s_ray_version,
                "headGroupSpec": {
                    "rayStartParams": {"num-cpus": str(ray.head.num_cpus), "dashboard-host": "0.0.0.0",
                                       "object-store-memory": str(ray.head.object_store_mb * 1024 * 1024)},
                    "template": template(head)},
                "workerGroupSpecs": workers,
            },
            "submitterPodTemplate": submitter,
        }
        if ray.runtime_env:  # JSON is YAML
            spec["runtimeEnvYAML"] = json.dumps(ray.runtime_env, sort_keys=True)
        if self.config.cleanup_after_seconds >= 0:
            spec["ttlSecondsAfterFinished"] = int(self.config.cleanup_after_seconds)
        return merge_pod(spec, self.ray.k8s_job) if self.ray.k8s_job else spec

    def state_of(self, obj: dict[str, Any], node_id: str) -> ObjectState:
        return job_state(obj, node_id)

    async def find_log_source(self, cluster: Cluster, obj: dict[str, Any]) -> tuple[str, str] | None:
        """The submitter's pod (``ray job submit`` follows the driver's output), else the head's."""
        from kubernetes_asyncio.client import CoreV1Api

        namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        cluster_name = (obj.get("status") or {}).get("rayClusterName") or ""
        api = CoreV1Api(cluster.api)
        looks = [(f"batch.kubernetes.io/job-name={name}", SUBMITTER_CONTAINER)]
        if cluster_name:
            looks.append((f"ray.io/cluster={cluster_name},ray.io/node-type=head", HEAD_CONTAINER))
        for selector, container in looks:
            pods = (await api.list_namespaced_pod(namespace, label_selector=selector)).items
            if pods:  # the submitter Job's latest pod
                newest = max(pods, key=lambda pod: pod.metadata.creation_timestamp)
                return str(newest.metadata.name), container
        return None


def job_state(obj: dict[str, Any], node_id: str) -> ObjectState:
    """What a RayJob's ``status.jobDeploymentStatus`` (the operator's) and ``status.jobStatus``
    (the Ray job's) mean for its attempt."""
    status = obj.get("status") or {}
    deployment = str(status.get("jobDeploymentStatus") or "")
    job = str(status.get("jobStatus") or "")
    reason = str(status.get("reason") or "")
    message = str(status.get("message") or "") or "no message"
    if deployment in _QUEUED:
        return ObjectState(TaskPhase.QUEUED, deployment or "waiting for the KubeRay operator")
    if deployment in ("Running", "Retrying"):
        return ObjectState(TaskPhase.RUNNING, f"{deployment}: job {job or 'not submitted yet'}")
    if deployment == "Complete" and job == "SUCCEEDED":
        return ObjectState(TaskPhase.SUCCEEDED, "succeeded", read_outputs=True)
    if deployment not in ("Complete", "Failed"):
        return ObjectState(TaskPhase.RUNNING, deployment)
    if reason == "SubmissionFailed":
        return ObjectState(TaskPhase.FAILED, reason, object_error(
            "RaySubmissionFailed", f"the RayJob's submitter could not submit the Ray job: {message}", node_id,
            user=False, retryable=True))
    if reason == "DeadlineExceeded":
        return ObjectState(TaskPhase.FAILED, reason, object_error(
            "RayJobDeadlineExceeded", f"the RayJob ran past its activeDeadlineSeconds: {message}", node_id,
            user=False, retryable=True))
    if reason == "ValidationFailed":
        return ObjectState(TaskPhase.FAILED, reason, object_error(
            "RayJobInvalid", f"the KubeRay operator refused the RayJob: {message}. Fix the task's Ray(...) "
            "or [plugins.ray] k8s_job", node_id, user=True, retryable=False))
    if job == "FAILED" or reason == "AppFailed":
        return ObjectState(TaskPhase.FAILED, "job failed", object_error(
            "RayJobFailed", f"the Ray job failed: {message}", node_id, user=True, retryable=True),
            read_error=True)
    if job == "STOPPED":
        return ObjectState(TaskPhase.FAILED, "job stopped", object_error(
            "RayJobStopped", f"the Ray job was stopped on its cluster: {message}", node_id, user=False,
            retryable=True))
    # the cluster or its head was lost, or the operator gave up on the job's status
    return ObjectState(TaskPhase.FAILED, reason or deployment, object_error(
        "RayClusterLost", f"the RayJob ended {deployment} ({reason or 'no reason'}) with the Ray job "
        f"{job or 'unknown'}: {message}", node_id, user=False, retryable=True), read_error=True)
