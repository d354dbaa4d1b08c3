"""The RayJob of an attempt (``ray-k8s``), without a cluster: the object the target builds from
the task's ``Ray(...)`` and the settings, and what KubeRay's status means for the attempt
(every named failure)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from wingspan_k8s import K8sConfig
from wingspan_k8s.custom_objects import InvalidObjectError
from wingspan_ray import HeadNode, Ray, RayConfig, WorkerGroup
from wingspan_ray._kubernetes import RayK8sTarget
from wingspan_ray._kubernetes import job_state as rayjob_state
from wingspan_ray._rayjob_crd import RAY_JOB

from tests.unit.k8s.test_custom_object_specs import attempt_of
from wingspan import task
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.literals import ErrorKind

K8S = K8sConfig(kubeconfig="/nowhere", node_name="node-a", env={"PYTHONPATH": "/code"},
                env_from_secrets=["store-keys"], cleanup_after_seconds=600)


@task(task_config=Ray(head=HeadNode(num_cpus=2, object_store_mb=100),
                      workers=[WorkerGroup(replicas=3, num_cpus=1), WorkerGroup(replicas=1, num_cpus=4)],
                      runtime_env={"pip": ["emoji"], "env_vars": {"A": "1"}}))
def ray_body(n: int) -> int:
    return n


# ---- RayJob -------------------------------------------------------------------------------------


def test_a_rayjob_has_the_tasks_cluster_entrypoint_and_runtime_env() -> None:
    ctx, attempt = attempt_of(ray_body.template)
    spec = RayK8sTarget(RayConfig(k8s_image="ray:x", k8s_ray_version="2.46.0"), K8S).build_spec(ctx, attempt)
    RAY_JOB.check(spec, "ray_body")
    assert spec["entrypoint"].startswith("wingspan execute --module ")
    assert "--output-prefix file:///b/out" in spec["entrypoint"]
    assert json.loads(spec["runtimeEnvYAML"]) == {"pip": ["emoji"], "env_vars": {"A": "1"}}
    assert spec["ttlSecondsAfterFinished"] == 600 and spec["rayClusterSpec"]["rayVersion"] == "2.46.0"
    head = spec["rayClusterSpec"]["headGroupSpec"]
    assert head["rayStartParams"] == {"num-cpus": "2", "dashboard-host": "0.0.0.0",
                                      "object-store-memory": str(100 * 1024 * 1024)}
    [container] = head["template"]["spec"]["containers"]
    assert container["image"] == "ray:x" and container["envFrom"] == [{"secretRef": {"name": "store-keys"}}]
    assert {"name": "PYTHONPATH", "value": "/code"} in container["env"]
    assert head["template"]["spec"]["nodeName"] == "node-a"
    groups = [(g["groupName"], g["replicas"], g["rayStartParams"]["num-cpus"])
              for g in spec["rayClusterSpec"]["workerGroupSpecs"]]
    assert groups == [("group-0", 3, "1"), ("group-1", 1, "4")]
    assert spec["submitterPodTemplate"]["spec"]["nodeName"] == "node-a"


def test_settings_merged_over_a_rayjob_are_checked_before_the_cluster() -> None:
    ctx, attempt = attempt_of(ray_body.template)
    target = RayK8sTarget(RayConfig(k8s_job={"activeDeadlineSeconds": 3600, "rayClusterSpec": {
        "enableInTreeAutoscaling": True}}), K8S)
    spec = target.build_spec(ctx, attempt)
    assert spec["activeDeadlineSeconds"] == 3600 and spec["rayClusterSpec"]["enableInTreeAutoscaling"] is True
    assert spec["rayClusterSpec"]["headGroupSpec"]  # merged, not replaced
    bad = RayK8sTarget(RayConfig(k8s_job={"rayClusterSpec": {"workerGroupSpecs": [{"replicas": 1}]}}), K8S)
    with pytest.raises(InvalidObjectError, match=r"workerGroupSpecs\[2\]\.groupName: is required"):
        RAY_JOB.check(bad.build_spec(ctx, attempt), "ray_body")


def rayjob(**status: str) -> dict[str, Any]:
    return {"status": status}


@pytest.mark.parametrize(("status", "phase"), [
    ({}, TaskPhase.QUEUED),
    ({"jobDeploymentStatus": "Initializing"}, TaskPhase.QUEUED),
    ({"jobDeploymentStatus": "Running", "jobStatus": "PENDING"}, TaskPhase.RUNNING),
    ({"jobDeploymentStatus": "Retrying"}, TaskPhase.RUNNING),
    ({"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}, TaskPhase.SUCCEEDED),
])
def test_what_a_rayjobs_status_means(status: dict[str, str], phase: TaskPhase) -> None:
    state = rayjob_state(rayjob(**status), "n0")
    assert state.phase == phase and state.error is None
    assert state.read_outputs == (phase == TaskPhase.SUCCEEDED)


@pytest.mark.parametrize(("status", "code", "kind", "retryable", "read_error"), [
    ({"jobStatus": "FAILED", "reason": "AppFailed"}, "RayJobFailed", ErrorKind.USER, True, True),
    ({"reason": "SubmissionFailed"}, "RaySubmissionFailed", ErrorKind.SYSTEM, True, False),
    ({"reason": "DeadlineExceeded"}, "RayJobDeadlineExceeded", ErrorKind.SYSTEM, True, False),
    ({"reason": "ValidationFailed"}, "RayJobInvalid", ErrorKind.USER, False, False),
    ({"jobStatus": "STOPPED"}, "RayJobStopped", ErrorKind.SYSTEM, True, False),
    ({"reason": "JobDeploymentStatusTransitionGracePeriodExceeded"}, "RayClusterLost", ErrorKind.SYSTEM, True,
     True),
])
def test_a_failed_rayjob_is_a_named_error(status: dict[str, str], code: str, kind: ErrorKind, retryable: bool,
                                          read_error: bool) -> None:
    state = rayjob_state(rayjob(jobDeploymentStatus="Failed", message="the operator's words", **status), "n0")
    assert state.phase == TaskPhase.FAILED and state.error is not None
    assert (state.error.code, state.error.kind, state.error.retryable) == (code, kind, retryable)
    assert "the operator's words" in state.error.message and state.read_error == read_error


def test_a_complete_rayjob_whose_job_did_not_succeed_fails() -> None:
    state = rayjob_state(rayjob(jobDeploymentStatus="Complete", jobStatus="FAILED"), "n0")
    assert state.phase == TaskPhase.FAILED and state.error is not None and state.error.code == "RayJobFailed"
