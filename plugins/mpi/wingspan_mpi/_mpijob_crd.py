"""The MPIJob custom resource (``kubeflow.org/v2beta1``, Kubeflow's MPI operator's), as a schema
written here from the operator's field list (``pkg/apis/kubeflow/v2beta1/types.go`` of the Go
module ``github.com/kubeflow/mpi-operator``, v0.6): the launcher and worker replica specs, the
slots per worker, the MPI implementation and the run policy are named and typed; the pods'
templates are checked for what Wingspan writes and kept as given beyond it. The operator's own
CRD (``manifests/base/kubeflow.org_mpijobs.yaml`` of that module) is installed by the real
tests, which check that every field named here is one of its fields with the same type
(``tests/real/k8s/test_mpijobs.py``). When the operator is installed, its own CRD is used
and this one is not installed.
"""

from __future__ import annotations

from typing import Any

from wingspan_k8s.custom_objects import POD_SPEC_SCHEMA, CustomResource

__all__ = ["LAUNCHER", "MPI_JOB", "WORKER"]

#: the replica types of ``spec.mpiReplicaSpecs``
LAUNCHER, WORKER = "Launcher", "Worker"

_STRING: dict[str, Any] = {"type": "string"}
_INTEGER: dict[str, Any] = {"type": "integer"}
_STRING_MAP: dict[str, Any] = {"type": "object", "additionalProperties": _STRING}
_META: dict[str, Any] = {"type": "object", "properties": {"labels": _STRING_MAP, "annotations": _STRING_MAP},
                         "x-kubernetes-preserve-unknown-fields": True}

_REPLICA: dict[str, Any] = {"type": "object", "properties": {
    "replicas": {"type": "integer", "minimum": 0},
    "restartPolicy": {"type": "string", "enum": ["Always", "OnFailure", "Never", "ExitCode"]},
    "template": {"type": "object", "properties": {"metadata": _META, "spec": POD_SPEC_SCHEMA}},
}}

_RUN_POLICY: dict[str, Any] = {"type": "object", "properties": {
    "cleanPodPolicy": {"type": "string", "enum": ["None", "Running", "All"]},
    "ttlSecondsAfterFinished": {"type": "integer", "minimum": 0},
    "activeDeadlineSeconds": {"type": "integer", "minimum": 1},
    "backoffLimit": {"type": "integer", "minimum": 0},
    "suspend": {"type": "boolean"},
    "managedBy": _STRING,
    "schedulingPolicy": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
}}

_SPEC: dict[str, Any] = {"type": "object", "required": ["mpiReplicaSpecs"], "properties": {
    "slotsPerWorker": {"type": "integer", "minimum": 1},
    "runLauncherAsWorker": {"type": "boolean"},
    "mpiImplementation": {"type": "string", "enum": ["OpenMPI", "Intel", "MPICH"]},
    "launcherCreationPolicy": {"type": "string", "enum": ["AtStartup", "WaitForWorkersReady"]},
    "sshAuthMountPath": _STRING,
    "runPolicy": _RUN_POLICY,
    "mpiReplicaSpecs": {"type": "object", "required": [LAUNCHER], "properties": {
        LAUNCHER: _REPLICA, WORKER: _REPLICA}},
}}

_CONDITION: dict[str, Any] = {"type": "object", "required": ["status", "type"], "properties": {
    "type": _STRING, "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
    "reason": _STRING, "message": _STRING, "lastTransitionTime": _STRING, "lastUpdateTime": _STRING}}

_STATUS: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {
    "conditions": {"type": "array", "items": _CONDITION},
    "replicaStatuses": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    "startTime": _STRING,
    "completionTime": _STRING,
    "lastReconcileTime": _STRING,
}}

MPI_JOB = CustomResource(
    group="kubeflow.org", version="v2beta1", kind="MPIJob", plural="mpijobs",
    schema={"type": "object", "properties": {"spec": _SPEC, "status": _STATUS}},
    columns=(("Age", "date", ".metadata.creationTimestamp"),),
)
