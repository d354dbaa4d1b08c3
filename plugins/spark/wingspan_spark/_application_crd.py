"""The SparkApplication custom resource (``sparkoperator.k8s.io/v1beta2``, the Kubeflow Spark
operator's), as a schema written here from the operator's public API reference (its field
list), not copied from its CRD file: the Go module proxy refuses the operator's module, and
the published CRD is generated from Go types we cannot fetch. It names every field of the
spec the reference lists at the levels Wingspan writes (the top of the spec, the driver,
the executor, the restart policy, the dependencies, dynamic allocation); deeper Kubernetes
structures (volumes, affinity, tolerations, pod templates...) are kept as given
(``x-kubernetes-preserve-unknown-fields``), for the API server's own checks of the pods.
When the operator is installed, its own CRD is used and this one is not installed.
"""

from __future__ import annotations

from typing import Any

from wingspan_k8s.custom_objects import CustomResource

__all__ = ["SPARK_APPLICATION"]

_STRING: dict[str, Any] = {"type": "string"}
_INTEGER: dict[str, Any] = {"type": "integer"}
_BOOLEAN: dict[str, Any] = {"type": "boolean"}
_STRINGS: dict[str, Any] = {"type": "array", "items": _STRING}
_STRING_MAP: dict[str, Any] = {"type": "object", "additionalProperties": _STRING}
_KEPT: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}
_KEPT_LIST: dict[str, Any] = {"type": "array", "items": {"type": "object", **_KEPT}}
_NAME_PATH: dict[str, Any] = {"type": "array", "items": {
    "type": "object", "required": ["name", "path"],
    "properties": {"name": _STRING, "path": _STRING}}}


def _pod(extra: dict[str, Any]) -> dict[str, Any]:
    """SparkPodSpec (what the driver and the executors share) with ``extra`` fields."""
    return {"type": "object", "properties": {
        "cores": {"type": "integer", "minimum": 1},
        "coreLimit": _STRING,
        "coreRequest": _STRING,
        "memory": _STRING,
        "memoryOverhead": _STRING,
        "gpu": {"type": "object", "required": ["name", "quantity"],
                "properties": {"name": _STRING, "quantity": _INTEGER}},
        "image": _STRING,
        "configMaps": _NAME_PATH,
        "secrets": {"type": "array", "items": {
            "type": "object", "required": ["name", "path", "secretType"],
            "properties": {"name": _STRING, "path": _STRING, "secretType": _STRING}}},
        "env": _KEPT_LIST,
        "envFrom": _KEPT_LIST,
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "volumeMounts": _KEPT_LIST,
        "affinity": {"type": "object", **_KEPT},
        "tolerations": _KEPT_LIST,
        "podSecurityContext": {"type": "object", **_KEPT},
        "securityContext": {"type": "object", **_KEPT},
        "schedulerName": _STRING,
        "sidecars": _KEPT_LIST,
        "initContainers": _KEPT_LIST,
        "hostNetwork": _BOOLEAN,
        "nodeSelector": _STRING_MAP,
        "dnsConfig": {"type": "object", **_KEPT},
        "terminationGracePeriodSeconds": _INTEGER,
        "serviceAccount": _STRING,
        "hostAliases": _KEPT_LIST,
        "shareProcessNamespace": _BOOLEAN,
        "javaOptions": _STRING,
        "ports": _KEPT_LIST,
        "template": {"type": "object", **_KEPT},
        **extra,
    }}


_DRIVER = _pod({
    "podName": _STRING,
    "kubernetesMaster": _STRING,
    "serviceAnnotations": _STRING_MAP,
    "serviceLabels": _STRING_MAP,
    "lifecycle": {"type": "object", **_KEPT},
})
_EXECUTOR = _pod({
    "instances": {"type": "integer", "minimum": 1},
    "deleteOnTermination": _BOOLEAN,
    "lifecycle": {"type": "object", **_KEPT},
})

_SPEC: dict[str, Any] = {"type": "object", "required": ["type", "sparkVersion", "driver", "executor"],
                         "properties": {
    "type": {"type": "string", "enum": ["Java", "Python", "Scala", "R"]},
    "sparkVersion": _STRING,
    "mode": {"type": "string", "enum": ["cluster", "client", "in-cluster-client"]},
    "proxyUser": _STRING,
    "image": _STRING,
    "imagePullPolicy": _STRING,
    "imagePullSecrets": _STRINGS,
    "mainClass": _STRING,
    "mainApplicationFile": _STRING,
    "arguments": _STRINGS,
    "sparkConf": _STRING_MAP,
    "hadoopConf": _STRING_MAP,
    "sparkConfigMap": _STRING,
    "hadoopConfigMap": _STRING,
    "volumes": _KEPT_LIST,
    "driver": _DRIVER,
    "executor": _EXECUTOR,
    "deps": {"type": "object", "properties": {
        "jars": _STRINGS, "files": _STRINGS, "pyFiles": _STRINGS, "packages": _STRINGS,
        "excludePackages": _STRINGS, "repositories": _STRINGS, "archives": _STRINGS}},
    "restartPolicy": {"type": "object", "properties": {
        "type": {"type": "string", "enum": ["Never", "Always", "OnFailure"]},
        "onSubmissionFailureRetries": {"type": "integer", "minimum": 0},
        "onFailureRetries": {"type": "integer", "minimum": 0},
        "onSubmissionFailureRetryInterval": {"type": "integer", "minimum": 1},
        "onFailureRetryInterval": {"type": "integer", "minimum": 1}}},
    "nodeSelector": _STRING_MAP,
    "failureRetries": _INTEGER,
    "retryInterval": _INTEGER,
    "pythonVersion": {"type": "string", "enum": ["2", "3"]},
    "memoryOverheadFactor": _STRING,
    "monitoring": {"type": "object", **_KEPT},
    "batchScheduler": _STRING,
    "batchSchedulerOptions": {"type": "object", **_KEPT},
    "timeToLiveSeconds": {"type": "integer", "minimum": 0},
    "sparkUIOptions": {"type": "object", **_KEPT},
    "driverIngressOptions": _KEPT_LIST,
    "dynamicAllocation": {"type": "object", "properties": {
        "enabled": _BOOLEAN, "initialExecutors": _INTEGER, "minExecutors": _INTEGER,
        "maxExecutors": _INTEGER, "shuffleTrackingEnabled": _BOOLEAN, "shuffleTrackingTimeout": _INTEGER}},
    "suspend": _BOOLEAN,
}}

_STATUS: dict[str, Any] = {"type": "object", **_KEPT, "properties": {
    "sparkApplicationId": _STRING,
    "submissionID": _STRING,
    "lastSubmissionAttemptTime": {"type": "string", "nullable": True},
    "terminationTime": {"type": "string", "nullable": True},
    "driverInfo": {"type": "object", "properties": {
        "podName": _STRING, "webUIAddress": _STRING, "webUIPort": _INTEGER, "webUIServiceName": _STRING,
        "webUIIngressName": _STRING, "webUIIngressAddress": _STRING}},
    "applicationState": {"type": "object", "properties": {"state": _STRING, "errorMessage": _STRING}},
    "executorState": _STRING_MAP,
    "executionAttempts": _INTEGER,
    "submissionAttempts": _INTEGER,
}}

SPARK_APPLICATION = CustomResource(
    group="sparkoperator.k8s.io", version="v1beta2", kind="SparkApplication", plural="sparkapplications",
    schema={"type": "object", "properties": {"spec": _SPEC, "status": _STATUS}},
    short_names=("sparkapp",),
    columns=(("Status", "string", ".status.applicationState.state"),
             ("Attempts", "integer", ".status.executionAttempts"),
             ("Age", "date", ".metadata.creationTimestamp")),
    # the group is under k8s.io, which the API server reserves for reviewed APIs
    annotations=(("api-approved.kubernetes.io", "unapproved, installed by Wingspan where the Spark "
                  "operator's own CRD is not"),),
)
