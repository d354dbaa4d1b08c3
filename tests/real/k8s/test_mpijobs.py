"""MPIJobs per attempt (target ``mpi-k8s``) against the real API server, under the MPI operator's
own MPIJob CRD (``manifests/base/kubeflow.org_mpijobs.yaml`` of the Go module
``github.com/kubeflow/mpi-operator``, fetched through the module proxy by
scripts.testenv.operator_crds).

No MPI operator runs here. Where a test needs the job to move, the test plays the operator:
it makes the launcher's pod from ``spec.mpiReplicaSpecs.Launcher.template`` with the
operator's labels, and writes the MPIJob's conditions through the status subresource as the
pod runs and ends. The node agent runs the launcher's ``mpirun`` for real; with no worker pods
to reach over SSH, its ranks start on this machine (Open MPI's settings for one machine,
which the test gives the launcher as the operator gives it its hostfile).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes_asyncio.client import ApiClient, CoreV1Api, CustomObjectsApi
from kubernetes_asyncio.client.exceptions import ApiException
from wingspan_k8s import K8sConfig
from wingspan_k8s.custom_objects import CustomObjectPlugin
from wingspan_mpi import MPIConfig
from wingspan_mpi._kubernetes import MPIK8sTarget
from wingspan_mpi._mpijob_crd import MPI_JOB
from wingspan_mpi._target import MCA_DEFAULTS

from scripts.testenv import openmpi
from scripts.testenv.operator_crds import MPI_OPERATOR
from tests.k8s_agent.waits import phase_in, wait_for_pod
from tests.real.k8s.operator_schemas import differences, install_operator_crd, operator_crd, operator_schema
from tests.real.k8s.test_custom_objects import context, read_object, set_status
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.literals import ErrorKind
from wingspan.core.storage.local import LocalBlobStore

if TYPE_CHECKING:
    from tests.real.k8s import test_custom_object_tasks as tasks
else:  # by the name the ranks import it by (this folder is on their PYTHONPATH)
    import test_custom_object_tasks as tasks

pytestmark = pytest.mark.real

CRD_PATH = "manifests/base/kubeflow.org_mpijobs.yaml"


@pytest.fixture(scope="module")
def mpi_operator_crd() -> dict[str, Any]:
    return operator_crd(MPI_OPERATOR, CRD_PATH)


@pytest.fixture
async def mpi_operator(kube_client: ApiClient, mpi_operator_crd: dict[str, Any]) -> AsyncIterator[None]:
    """The MPI operator's own MPIJob CRD on the API server (installed once)."""
    await install_operator_crd(kube_client, mpi_operator_crd, MPI_OPERATOR)
    yield


@pytest.fixture(scope="module")
def mpirun() -> str:
    return openmpi.ensure()["WINGSPAN_TEST_MPIRUN"]


def mpi_target(plugins: list[CustomObjectPlugin], k8s: K8sConfig, **mpi: Any) -> MPIK8sTarget:
    settings = {"k8s_rank_command": [sys.executable, "-m", "wingspan_mpi.pod_rank"], **mpi}
    plugin = MPIK8sTarget(MPIConfig(**settings), k8s)
    plugins.append(plugin)
    return plugin


def test_our_mpijob_schema_names_only_the_operators_fields(mpi_operator_crd: dict[str, Any]) -> None:
    """The plugin's compact schema names only fields of the operator's MPIJob, with its types
    (the launcher's and workers' replica specs against its map of replica specs)."""
    assert mpi_operator_crd["spec"]["group"] == MPI_JOB.group
    assert mpi_operator_crd["spec"]["names"]["plural"] == MPI_JOB.plural
    assert differences(MPI_JOB.schema, operator_schema(mpi_operator_crd, MPI_JOB.version)) == []


async def condition(custom: CustomObjectsApi, handle: dict[str, Any], kind: str, reason: str,
                    message: str = "") -> None:
    """What the operator writes: the job's condition of ``kind``, true (and Running false once
    it ends)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    conditions = [{"type": "Created", "status": "True", "reason": "MPIJobCreated", "lastTransitionTime": now}]
    if kind != "Created":
        running = "True" if kind == "Running" else "False"
        conditions.append({"type": "Running", "status": running, "reason": "MPIJobRunning",
                           "lastTransitionTime": now})
    if kind not in ("Created", "Running"):
        conditions.append({"type": kind, "status": "True", "reason": reason, "message": message,
                           "lastTransitionTime": now})
    await set_status(custom, handle, {"conditions": conditions, "startTime": now})


async def run_launcher_as_the_operator(custom: CustomObjectsApi, core: CoreV1Api, handle: dict[str, Any],
                                       root: bool) -> str:
    """The launcher's pod from the MPIJob's template, with the operator's labels; the job
    Created, Running, then Succeeded or Failed as the pod ends. Returns the pod's phase."""
    job = await read_object(custom, handle)
    name, namespace = handle["name"], handle["namespace"]
    await condition(custom, handle, "Created", "MPIJobCreated")
    template = job["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]
    [container] = template["spec"]["containers"]
    extra = {**MCA_DEFAULTS, **({"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
                                if root else {})}
    container["env"] = [*container.get("env", []), *({"name": k, "value": v} for k, v in extra.items())]
    launcher = f"{name}-launcher-x2v9c"
    await core.create_namespaced_pod(namespace, {  # type: ignore[arg-type]  # the client takes dicts
        "metadata": {"name": launcher, "labels": {
            **template["metadata"]["labels"], "training.kubeflow.org/job-name": name,
            "training.kubeflow.org/job-role": "launcher",
            "training.kubeflow.org/operator-name": "mpi-operator"}},
        "spec": {**template["spec"], "restartPolicy": "Never"}})
    await wait_for_pod(core, namespace, launcher, phase_in("Running", "Succeeded", "Failed"))
    await condition(custom, handle, "Running", "MPIJobRunning")
    pod = await wait_for_pod(core, namespace, launcher, phase_in("Succeeded", "Failed"), within=120)
    if pod.status.phase == "Succeeded":
        await condition(custom, handle, "Succeeded", "MPIJobSucceeded",
                        f"MPIJob {namespace}/{name} succeeded")
    else:
        code = pod.status.container_statuses[0].state.terminated.exit_code
        await condition(custom, handle, "Failed", "MPIJobFailed",
                        f"MPIJob {namespace}/{name} has failed: launcher exited with code {code}")
    phase: str = pod.status.phase
    return phase


async def test_an_mpijob_is_accepted_by_the_operators_crd_and_its_ranks_give_rank_zeros_outputs(
        mpi_operator: None, mpirun: str, k8s_config: Callable[..., K8sConfig],
        plugins: list[CustomObjectPlugin], store: LocalBlobStore, custom: CustomObjectsApi,
        core: CoreV1Api) -> None:
    """The MPIJob passes the operator's schema (strict field validation); its workers are the
    task's ``MPI(workers=2)``, its launcher's ``mpirun`` starts two ranks of the attempt's
    ``wingspan execute`` with the task pod's environment passed on; run by the node agent,
    every rank takes part and rank 0's return value is the task's output; the launcher's log
    is the attempt's."""
    plugin = mpi_target(plugins, k8s_config(labels={"team": "hpc"}), k8s_image="mpioperator/openmpi",
                        k8s_mpirun_command=[mpirun])
    ctx = await context(store, tasks.mpi_ranks, {"n": 21})
    handle = await plugin.start(ctx)
    stored = await read_object(custom, handle)
    spec = stored["spec"]
    assert stored["metadata"]["labels"]["team"] == "hpc"
    assert spec["slotsPerWorker"] == 1 and spec["runPolicy"]["backoffLimit"] == 0
    replicas = spec["mpiReplicaSpecs"]
    assert replicas["Worker"]["replicas"] == 2 and replicas["Launcher"]["replicas"] == 1
    worker = replicas["Worker"]["template"]["spec"]["containers"][0]
    assert worker["command"] == ["/usr/sbin/sshd", "-De"] and worker["image"] == "mpioperator/openmpi"
    command = replicas["Launcher"]["template"]["spec"]["containers"][0]["command"]
    assert command[:3] == [mpirun, "-np", "2"]
    assert command[command.index("WINGSPAN_EXECUTION_ID") - 1] == "-x"
    assert "wingspan_mpi.pod_rank" in command and "--qualname" in command

    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    phase = await run_launcher_as_the_operator(custom, core, handle, root=True)
    log = (await plugin.read_logs(handle)).decode(errors="replace")
    assert phase == "Succeeded", log[-3000:]
    async with asyncio.timeout(30):
        status = await watching
    assert status.phase == TaskPhase.SUCCEEDED, status.error
    assert status.outputs is not None and status.outputs.literals["o0"].value == "42 from rank 0 of 2"


async def test_a_rank_that_raises_fails_the_mpijob_with_a_named_error(
        mpi_operator: None, mpirun: str, k8s_config: Callable[..., K8sConfig],
        plugins: list[CustomObjectPlugin], store: LocalBlobStore, custom: CustomObjectsApi,
        core: CoreV1Api) -> None:
    """Rank 1 raises while rank 0 waits for it: mpirun ends the job, the launcher fails, the
    test playing the operator marks the MPIJob Failed, and the attempt fails naming it."""
    plugin = mpi_target(plugins, k8s_config(), k8s_mpirun_command=[mpirun])
    ctx = await context(store, tasks.mpi_rank_fails, {"message": "bad shard"})
    handle = await plugin.start(ctx)
    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    assert await run_launcher_as_the_operator(custom, core, handle, root=True) == "Failed"
    async with asyncio.timeout(30):
        status = await watching
    assert status.phase == TaskPhase.FAILED and status.error is not None
    assert status.error.code == "MPIJobFailed" and status.error.kind == ErrorKind.USER
    assert "launcher exited with code" in status.error.message and status.error.retryable
    assert b"bad shard" in await plugin.read_logs(handle)  # rank 1's traceback, in mpirun's output


async def test_abort_deletes_the_mpijob(
        mpi_operator: None, k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin],
        store: LocalBlobStore, custom: CustomObjectsApi) -> None:
    plugin = mpi_target(plugins, k8s_config())
    ctx = await context(store, tasks.mpi_ranks, {"n": 1})
    handle = await plugin.start(ctx)
    await condition(custom, handle, "Running", "MPIJobRunning")
    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    async with asyncio.timeout(20):
        await plugin.abort(ctx, handle)
    with pytest.raises(ApiException) as gone:
        await read_object(custom, handle)
    assert gone.value.status == 404
    async with asyncio.timeout(10):
        status = await watching
    assert status.phase == TaskPhase.ABORTED

