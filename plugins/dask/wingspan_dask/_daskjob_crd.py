"""The DaskJob custom resource (``kubernetes.dask.org/v1``, the Dask Kubernetes operator's), as
a schema written here from the operator's public field list (its documentation of DaskJob
and DaskCluster): the job runner's pod, and the cluster's scheduler (pod and service) and
workers (replicas and pod). Pod and service specs are checked for what Wingspan writes and
kept as given beyond it, for the API server's own checks of the pods the operator makes.
When the operator is installed, its own CRD is used and this one is not installed.
"""

from __future__ import annotations

from typing import Any

from wingspan_k8s.custom_objects import POD_SPEC_SCHEMA, CustomResource

__all__ = ["DASK_JOB"]

_STRING: dict[str, Any] = {"type": "string"}
_STRING_MAP: dict[str, Any] = {"type": "object", "additionalProperties": _STRING}
_META: dict[str, Any] = {"type": "object", "properties": {"labels": _STRING_MAP, "annotations": _STRING_MAP}}
_SERVICE: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {
    "type": {"type": "string", "enum": ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]},
    "selector": _STRING_MAP,
    "ports": {"type": "array", "items": {
        "type": "object", "required": ["port"], "x-kubernetes-preserve-unknown-fields": True,
        "properties": {"name": _STRING, "protocol": _STRING, "port": {"type": "integer", "minimum": 1},
                       "targetPort": {"x-kubernetes-int-or-string": True}}}},
}}

_CLUSTER_SPEC: dict[str, Any] = {"type": "object", "required": ["scheduler", "worker"], "properties": {
    "idleTimeout": {"type": "integer", "minimum": 0},
    "scheduler": {"type": "object", "required": ["spec", "service"], "properties": {
        "metadata": _META, "spec": POD_SPEC_SCHEMA, "service": _SERVICE}},
    "worker": {"type": "object", "required": ["spec"], "properties": {
        "metadata": _META, "replicas": {"type": "integer", "minimum": 0}, "spec": POD_SPEC_SCHEMA}},
}}

_SPEC: dict[str, Any] = {"type": "object", "required": ["cluster", "job"], "properties": {
    "job": {"type": "object", "required": ["spec"],
            "properties": {"metadata": _META, "spec": POD_SPEC_SCHEMA}},
    "cluster": {"type": "object", "required": ["spec"],
                "properties": {"metadata": _META, "spec": _CLUSTER_SPEC}},
}}

_STATUS: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {
    "clusterName": _STRING,
    "jobRunnerPodName": {"type": "string", "nullable": True},
    "jobStatus": {"type": "string", "nullable": True},
    "startTime": {"type": "string", "nullable": True},
    "endTime": {"type": "string", "nullable": True},
}}

DASK_JOB = CustomResource(
    group="kubernetes.dask.org", version="v1", kind="DaskJob", plural="daskjobs",
    schema={"type": "object", "properties": {"spec": _SPEC, "status": _STATUS}},
    short_names=("djb",),
    columns=(("Status", "string", ".status.jobStatus"),
             ("Workers", "integer", ".spec.cluster.spec.worker.replicas"),
             ("Age", "date", ".metadata.creationTimestamp")),
)
