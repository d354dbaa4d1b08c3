"""The Kubernetes backend: target ``spark-k8s`` runs each attempt of a Spark task as a
SparkApplication (``sparkoperator.k8s.io/v1beta2``) for the Kubeflow Spark operator.

The operator runs spark-submit in cluster mode: the driver pod runs the main file
(``wingspan_spark/driver.py`` in the image, ``k8s_main_application_file``) with the
attempt's ``wingspan execute`` arguments, so the body runs in the driver with a session on
the application's executors and writes its outputs under the attempt's prefix. Choose it
with ``task_targets = "spark=spark-k8s"``; the cluster is the one ``[plugins.k8s]`` names.
"""

from __future__ import annotations

from typing import Any, ClassVar

from wingspan_k8s import K8sConfig
from wingspan_k8s.custom_objects import Attempt, CustomObjectPlugin, ObjectState, merge_pod, object_error

from wingspan.plugin import TaskContext, TaskPhase
from wingspan_spark._application_crd import SPARK_APPLICATION
from wingspan_spark._config import SparkPluginConfig
from wingspan_spark._session import settings_of
from wingspan_spark._task_config import TASK_TYPE

__all__ = ["DRIVER_CONTAINER", "SparkK8sTarget", "application_state"]

#: the driver pod's container, as Spark on Kubernetes names it
DRIVER_CONTAINER = "spark-kubernetes-driver"

_QUEUED = frozenset({"", "NEW", "SUBMITTED", "PENDING_RERUN", "INVALIDATING"})
_RUNNING = frozenset({"RUNNING", "SUCCEEDING", "FAILING", "UNKNOWN"})


class SparkK8sTarget(CustomObjectPlugin):
    """Spark tasks as SparkApplications (``task_targets = "spark=spark-k8s"``)."""

    name: ClassVar[str] = "spark-k8s"
    task_types: ClassVar[tuple[str, ...]] = (TASK_TYPE,)
    resource = SPARK_APPLICATION

    def __init__(self, config: SparkPluginConfig | None = None, k8s: K8sConfig | None = None) -> None:
        super().__init__(k8s)
        self.spark = config or SparkPluginConfig()

    def build_spec(self, ctx: TaskContext, attempt: Attempt) -> dict[str, Any]:
        spark = settings_of(ctx.template)
        pod = self.task_pod(attempt)
        task = pod["spec"]["containers"][0]
        arguments = task["command"][len(self.config.execute_command):]
        labels = pod["metadata"]["labels"]
        image = ((ctx.template.container.image if ctx.template.container else "") or self.spark.k8s_image
                 or self.config.default_image)
        account = self.spark.k8s_service_account or self.config.service_account
        driver: dict[str, Any] = {"cores": 1, "memory": spark.driver_memory, "labels": labels,
                                  "env": task.get("env", [])}
        executor: dict[str, Any] = {"instances": spark.executor_instances, "cores": spark.executor_cores,
                                    "memory": spark.executor_memory, "labels": labels,
                                    "env": task.get("env", [])}
        if account:
            driver["serviceAccount"] = account
        if task.get("envFrom"):
            driver["envFrom"] = executor["envFrom"] = task["envFrom"]
        if task.get("volumeMounts"):  # secrets mounted as files
            driver["volumeMounts"] = task["volumeMounts"]
        spec: dict[str, Any] = {
            "type": "Python", "pythonVersion": "3", "mode": "cluster", "image": image,
            "mainApplicationFile": self.spark.k8s_main_application_file, "arguments": arguments,
            "sparkVersion": self.spark.k8s_spark_version,
            "sparkConf": {k: str(v) for k, v in spark.spark_conf.items()},
            "hadoopConf": {k: str(v) for k, v in spark.hadoop_conf.items()},
            # the engine retries attempts (each a new application): the operator must not
            "restartPolicy": {"type": "Never"},
            "driver": driver, "executor": executor,
        }
        if pod["spec"].get("volumes"):
            spec["volumes"] = pod["spec"]["volumes"]
        if self.config.cleanup_after_seconds >= 0:
            spec["timeToLiveSeconds"] = int(self.config.cleanup_after_seconds)
        return merge_pod(spec, self.spark.k8s_application) if self.spark.k8s_application else spec

    def state_of(self, obj: dict[str, Any], node_id: str) -> ObjectState:
        return application_state(obj, node_id)

    def log_source(self, obj: dict[str, Any]) -> tuple[str, str] | None:
        pod = ((obj.get("status") or {}).get("driverInfo") or {}).get("podName")
        return (pod, DRIVER_CONTAINER) if pod else None


def application_state(obj: dict[str, Any], node_id: str) -> ObjectState:
    """What a SparkApplication's ``status.applicationState`` means for its attempt."""
    status = obj.get("status") or {}
    state = status.get("applicationState") or {}
    name = str(state.get("state") or "").upper()
    message = str(state.get("errorMessage") or "")
    if name in _QUEUED:
        return ObjectState(TaskPhase.QUEUED, name.lower() or "waiting for the Spark operator")
    if name in _RUNNING:
        return ObjectState(TaskPhase.RUNNING, name.lower())
    if name == "COMPLETED":
        return ObjectState(TaskPhase.SUCCEEDED, "completed", read_outputs=True)
    if name == "SUBMISSION_FAILED":
        return ObjectState(TaskPhase.FAILED, "submission failed", object_error(
            "SparkSubmissionFailed", f"spark-submit could not start the application's driver: "
            f"{message or 'no message'}", node_id, user=False, retryable=True))
    if name == "FAILED":
        if "not found" in message.lower() or "lost" in message.lower():
            return ObjectState(TaskPhase.FAILED, "driver lost", object_error(
                "SparkDriverLost", f"the Spark driver pod was lost: {message}", node_id, user=False,
                retryable=True))
        return ObjectState(TaskPhase.FAILED, "failed", object_error(
            "SparkApplicationFailed", f"the Spark application failed: {message or 'no message'}", node_id,
            user=True, retryable=True), read_error=True)
    return ObjectState(TaskPhase.RUNNING, name.lower())
