"""The RayJob custom resource (``ray.io/v1``, KubeRay's), as a schema written here from KubeRay's
field list (its ``ray-operator/apis/ray/v1/rayjob_types.go`` and ``raycluster_types.go``,
v1.4): the fields of the job, of its cluster's head and worker groups and of the submitter
that Wingspan writes are named and typed; the pods' templates are checked for what Wingspan
writes and kept as given beyond it, for the API server's own checks of the pods the operator
makes. KubeRay's own CRD (``config/crd/bases/ray.io_rayjobs.yaml`` of the Go module
``github.com/ray-project/kuberay/ray-operator``) is over a megabyte of generated pod schema;
the real tests install it from the module and check that every field named here is one of
its fields with the same type (``tests/real/k8s/test_rayjobs.py``). When the operator is
installed, its own CRD is used and this one is not installed.
"""

from __future__ import annotations

from typing import Any

from wingspan_k8s.custom_objects import POD_SPEC_SCHEMA, CustomResource

__all__ = ["RAY_JOB", "SUBMISSION_MODES"]

#: how the operator submits the job: a Kubernetes Job running ``ray job submit`` (the
#: default), HTTP from the operator, or left to the user
SUBMISSION_MODES = ("K8sJobMode", "HTTPMode", "InteractiveMode")

_STRING: dict[str, Any] = {"type": "string"}
_INTEGER: dict[str, Any] = {"type": "integer"}
_BOOLEAN: dict[str, Any] = {"type": "boolean"}
_STRING_MAP: dict[str, Any] = {"type": "object", "additionalProperties": _STRING}
_KEPT: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_META: dict[str, Any] = {"type": "object", "properties": {"labels": _STRING_MAP, "annotations": _STRING_MAP},
                         "x-kubernetes-preserve-unknown-fields": True}
_POD_TEMPLATE: dict[str, Any] = {"type": "object", "properties": {"metadata": _META, "spec": POD_SPEC_SCHEMA}}

_HEAD_GROUP: dict[str, Any] = {"type": "object", "required": ["template"], "properties": {
    "rayStartParams": _STRING_MAP,
    "serviceType": _STRING,
    "enableIngress": _BOOLEAN,
    "headService": _KEPT,
    "template": _POD_TEMPLATE,
}}

_WORKER_GROUP: dict[str, Any] = {
    "type": "object", "required": ["groupName", "maxReplicas", "minReplicas", "template"], "properties": {
        "groupName": _STRING,
        "replicas": {"type": "integer", "minimum": 0},
        "minReplicas": {"type": "integer", "minimum": 0},
        "maxReplicas": {"type": "integer", "minimum": 0},
        "numOfHosts": {"type": "integer", "minimum": 1},
        "idleTimeoutSeconds": _INTEGER,
        "suspend": _BOOLEAN,
        "rayStartParams": _STRING_MAP,
        "scaleStrategy": _KEPT,
        "template": _POD_TEMPLATE,
    }}

_CLUSTER_SPEC: dict[str, Any] = {"type": "object", "required": ["headGroupSpec"], "properties": {
    "rayVersion": _STRING,
    "enableInTreeAutoscaling": _BOOLEAN,
    "autoscalerOptions": _KEPT,
    "headServiceAnnotations": _STRING_MAP,
    "suspend": _BOOLEAN,
    "headGroupSpec": _HEAD_GROUP,
    "workerGroupSpecs": {"type": "array", "items": _WORKER_GROUP},
}}

_SPEC: dict[str, Any] = {"type": "object", "properties": {
    "entrypoint": _STRING,
    "runtimeEnvYAML": _STRING,
    "jobId": _STRING,
    "metadata": _STRING_MAP,
    "submissionMode": {"type": "string", "enum": list(SUBMISSION_MODES)},
    "shutdownAfterJobFinishes": _BOOLEAN,
    "ttlSecondsAfterFinished": {"type": "integer", "minimum": 0},
    "activeDeadlineSeconds": {"type": "integer", "minimum": 1},
    "backoffLimit": {"type": "integer", "minimum": 0},
    "suspend": _BOOLEAN,
    "entrypointNumCpus": {"type": "number", "minimum": 0},
    "entrypointNumGpus": {"type": "number", "minimum": 0},
    "entrypointResources": _STRING,
    "clusterSelector": _STRING_MAP,
    "rayClusterSpec": _CLUSTER_SPEC,
    "submitterPodTemplate": _POD_TEMPLATE,
    "submitterConfig": {"type": "object", "properties": {"backoffLimit": {"type": "integer", "minimum": 0}}},
}}

_STATUS: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {
    "jobId": _STRING,
    "rayClusterName": _STRING,
    "dashboardURL": _STRING,
    "jobStatus": _STRING,
    "jobDeploymentStatus": _STRING,
    "reason": _STRING,
    "message": _STRING,
    "startTime": _STRING,
    "endTime": _STRING,
    "succeeded": _INTEGER,
    "failed": _INTEGER,
    "observedGeneration": _INTEGER,
}}

RAY_JOB = CustomResource(
    group="ray.io", version="v1", kind="RayJob", plural="rayjobs",
    schema={"type": "object", "properties": {"spec": _SPEC, "status": _STATUS}},
    columns=(("job status", "string", ".status.jobStatus"),
             ("deployment status", "string", ".status.jobDeploymentStatus"),
             ("ray cluster name", "string", ".status.rayClusterName"),
             ("age", "date", ".metadata.creationTimestamp")),
)
