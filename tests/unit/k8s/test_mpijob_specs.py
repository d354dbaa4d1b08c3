"""The MPIJob of an attempt (``mpi-k8s``), without a cluster: the object the target builds from
the task's ``MPI(...)`` and the settings, and what the MPI operator's conditions mean for the
attempt (every named failure)."""

from __future__ import annotations

import pytest
from wingspan_k8s import K8sConfig
from wingspan_mpi import MPI, MPIConfig
from wingspan_mpi._kubernetes import MPIK8sTarget
from wingspan_mpi._kubernetes import job_state as mpijob_state
from wingspan_mpi._mpijob_crd import MPI_JOB

from tests.unit.k8s.test_custom_object_specs import attempt_of
from wingspan import task
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.literals import ErrorKind

K8S = K8sConfig(kubeconfig="/nowhere", node_name="node-a", env={"PYTHONPATH": "/code"},
                env_from_secrets=["store-keys"], cleanup_after_seconds=600)


@task(task_config=MPI(workers=3, slots_per_worker=2))
def mpi_body(n: int) -> int:
    return n


# ---- MPIJob -------------------------------------------------------------------------------------


def test_an_mpijob_has_the_tasks_workers_and_ranks() -> None:
    ctx, attempt = attempt_of(mpi_body.template)
    spec = MPIK8sTarget(MPIConfig(mpirun_args="--bind-to none"), K8S).build_spec(ctx, attempt)
    MPI_JOB.check(spec, "mpi_body")
    assert spec["slotsPerWorker"] == 2 and spec["runPolicy"] == {
        "backoffLimit": 0, "cleanPodPolicy": "Running", "ttlSecondsAfterFinished": 600}
    replicas = spec["mpiReplicaSpecs"]
    assert replicas["Worker"]["replicas"] == 3 and replicas["Launcher"]["replicas"] == 1
    [launcher] = replicas["Launcher"]["template"]["spec"]["containers"]
    command = launcher["command"]
    assert command[:3] == ["mpirun", "-np", "6"]
    assert command[command.index("PYTHONPATH") - 1:command.index("PYTHONPATH") + 1] == ["-x", "PYTHONPATH"]
    assert command[command.index("--bind-to"):][:6] == ["--bind-to", "none", "python3", "-m",
                                                        "wingspan_mpi.pod_rank", "wingspan"]
    [worker] = replicas["Worker"]["template"]["spec"]["containers"]
    assert worker["envFrom"] == [{"secretRef": {"name": "store-keys"}}]
    assert replicas["Worker"]["template"]["spec"]["nodeName"] == "node-a"


@pytest.mark.parametrize(("types", "phase"), [
    ((), TaskPhase.QUEUED), (("Created",), TaskPhase.QUEUED), (("Created", "Running"), TaskPhase.RUNNING),
    (("Created", "Suspended"), TaskPhase.QUEUED), (("Created", "Succeeded"), TaskPhase.SUCCEEDED),
])
def test_what_an_mpijobs_conditions_mean(types: tuple[str, ...], phase: TaskPhase) -> None:
    conditions = [{"type": kind, "status": "True"} for kind in types]
    conditions.append({"type": "Failed", "status": "False"})  # a false condition counts for nothing
    assert mpijob_state({"status": {"conditions": conditions}}, "n0").phase == phase


@pytest.mark.parametrize(("reason", "code", "kind"), [
    ("MPIJobFailed", "MPIJobFailed", ErrorKind.USER),
    ("BackoffLimitExceeded", "MPIJobFailed", ErrorKind.USER),
    ("MPIJobEvicted", "MPIJobEvicted", ErrorKind.SYSTEM),
])
def test_a_failed_mpijob_is_a_named_error(reason: str, code: str, kind: ErrorKind) -> None:
    state = mpijob_state({"status": {"conditions": [
        {"type": "Running", "status": "False"},
        {"type": "Failed", "status": "True", "reason": reason, "message": "launcher failed"}]}}, "n0")
    assert state.phase == TaskPhase.FAILED and state.error is not None
    assert (state.error.code, state.error.kind, state.error.retryable) == (code, kind, True)
    assert "launcher failed" in state.error.message
