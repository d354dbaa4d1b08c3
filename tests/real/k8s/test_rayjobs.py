"""RayJobs per attempt (target ``ray-k8s``) against the real API server, under KubeRay's own
RayJob CRD (``ray.io_rayjobs.yaml`` of the Go module ``github.com/ray-project/kuberay/
ray-operator``, fetched through the module proxy by scripts.testenv.operator_crds).

No KubeRay operator runs here: where a test needs the job to move, the test plays the
operator, writing the RayJob's status through the status subresource as KubeRay does
(``jobDeploymentStatus`` Initializing, Running, Complete or Failed; ``jobStatus`` of the Ray
job), and the outputs the driver's ``wingspan execute`` writes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes_asyncio.client import ApiClient, CoreV1Api, CustomObjectsApi
from kubernetes_asyncio.client.exceptions import ApiException
from wingspan_k8s import K8sConfig
from wingspan_k8s.custom_objects import CustomObjectPlugin, InvalidObjectError
from wingspan_ray import RayConfig
from wingspan_ray._kubernetes import SUBMITTER_CONTAINER, RayK8sTarget
from wingspan_ray._rayjob_crd import RAY_JOB

from scripts.testenv.operator_crds import KUBERAY
from tests.k8s_agent import NodeAgent
from tests.k8s_agent.waits import phase_in, wait_for_pod
from tests.real.k8s.operator_schemas import differences, install_operator_crd, operator_crd, operator_schema
from tests.real.k8s.test_custom_objects import context, read_object, set_status
from wingspan.core.engine.attempt_files import AttemptFiles
from wingspan.core.model import codec
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.literals import ErrorKind
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.types import default_engine

if TYPE_CHECKING:
    from tests.real.k8s import test_custom_object_tasks as tasks
else:  # by the name a pod would import it by (this folder is on its PYTHONPATH)
    import test_custom_object_tasks as tasks

pytestmark = pytest.mark.real

CRD_PATH = "config/crd/bases/ray.io_rayjobs.yaml"


@pytest.fixture(scope="module")
def kuberay_crd() -> dict[str, Any]:
    return operator_crd(KUBERAY, CRD_PATH)


@pytest.fixture
async def kuberay(kube_client: ApiClient, kuberay_crd: dict[str, Any]) -> AsyncIterator[None]:
    """KubeRay's own RayJob CRD on the API server (installed once; our plugin leaves it alone)."""
    await install_operator_crd(kube_client, kuberay_crd, KUBERAY)
    yield


def ray_target(plugins: list[CustomObjectPlugin], k8s: K8sConfig, **ray: Any) -> RayK8sTarget:
    plugin = RayK8sTarget(RayConfig(**ray), k8s)
    plugins.append(plugin)
    return plugin


def test_our_rayjob_schema_names_only_kuberays_fields(kuberay_crd: dict[str, Any]) -> None:
    """The plugin's compact schema (what a RayJob is checked against before it is made, and the
    CRD installed when no operator is) names only fields of KubeRay's RayJob, with its types."""
    assert kuberay_crd["spec"]["group"] == RAY_JOB.group
    assert kuberay_crd["spec"]["names"]["plural"] == RAY_JOB.plural
    assert differences(RAY_JOB.schema, operator_schema(kuberay_crd, RAY_JOB.version)) == []


async def test_a_rayjob_is_accepted_by_kuberays_crd_and_followed_to_success(
        kuberay: None, k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin],
        store: LocalBlobStore, custom: CustomObjectsApi) -> None:
    """The RayJob passes KubeRay's schema (strict field validation: an unknown field would be
    refused, not dropped); its cluster is the task's ``Ray(...)`` (the head's CPUs and object
    store, one worker group of two replicas of two CPUs), its entrypoint the attempt's
    ``wingspan execute``, its runtime environment the task's; the pods carry the attempt's
    environment and node. It is followed through KubeRay's states to success."""
    plugin = ray_target(plugins, k8s_config(labels={"team": "ml"}), k8s_image="rayproject/ray:2.46.0")
    ctx = await context(store, tasks.ray_sum, {"n": 10})
    handle = await plugin.start(ctx)
    stored = await read_object(custom, handle)
    print(json.dumps(stored["spec"], indent=1))
    spec = stored["spec"]
    assert stored["metadata"]["labels"]["team"] == "ml"
    assert stored["metadata"]["labels"]["wingspan.io/execution"] == ctx.execution_id
    assert spec["submissionMode"] == "K8sJobMode" and spec["shutdownAfterJobFinishes"] is True
    assert spec["backoffLimit"] == 0 and spec["submitterConfig"] == {"backoffLimit": 0}
    assert "-m wingspan.cli execute" in spec["entrypoint"] and "--qualname ray_sum" in spec["entrypoint"]
    assert json.loads(spec["runtimeEnvYAML"]) == {"env_vars": {"STAGE": "test"}}
    cluster = spec["rayClusterSpec"]
    head = cluster["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "1"
    assert head["rayStartParams"]["object-store-memory"] == str(200 * 1024 * 1024)
    container = head["template"]["spec"]["containers"][0]
    assert container["image"] == "rayproject/ray:2.46.0"
    assert {"name": "WINGSPAN_EXECUTION_ID", "value": ctx.execution_id} in container["env"]
    assert head["template"]["spec"]["nodeName"] == plugin.config.node_name
    [group] = cluster["workerGroupSpecs"]
    assert (group["replicas"], group["minReplicas"], group["maxReplicas"]) == (2, 2, 2)
    assert group["rayStartParams"] == {"num-cpus": "2"}
    assert group["template"]["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "2"}

    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    await set_status(custom, handle, {"jobDeploymentStatus": "Initializing",
                                      "rayClusterName": f"{handle['name']}-raycluster"})
    await set_status(custom, handle, {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"})
    outputs = await default_engine().to_literal_map({"o0": 55}, {"o0": int}, ctx.transfer)
    await store.put(AttemptFiles(handle["output_prefix"]).outputs, codec.encode(outputs))
    await set_status(custom, handle, {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"})
    async with asyncio.timeout(30):
        status = await watching
    assert status.phase == TaskPhase.SUCCEEDED, status.error
    assert status.outputs == outputs
    assert [log.name for log in status.logs] == ["RayJob"]


async def test_a_wrong_rayjob_is_refused_before_the_cluster(
        kuberay: None, k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin],
        store: LocalBlobStore, custom: CustomObjectsApi) -> None:
    """Settings that make the RayJob break its schema are refused when the attempt starts,
    naming every wrong field; nothing is created. KubeRay's CRD refuses the same object."""
    config = k8s_config()
    good = ray_target(plugins, config)
    ctx = await context(store, tasks.ray_sum, {"n": 1})
    handle = await good.start(ctx)
    bad = ray_target(plugins, config, k8s_job={"submissionMode": "Teleport", "backoffLimit": "none"})
    ctx = await context(store, tasks.ray_sum, {"n": 1})
    with pytest.raises(InvalidObjectError) as refused:
        await bad.start(ctx)
    message = str(refused.value)
    assert 'spec.submissionMode: "Teleport" is not one of' in message
    assert 'spec.backoffLimit: expected an integer, got "none"' in message and "ray_sum'" in message
    assert not await store.exists(AttemptFiles(ctx.transfer.prefix).inputs)
    listed = await custom.list_namespaced_custom_object("ray.io", "v1", handle["namespace"], "rayjobs")
    assert len(listed["items"]) == 1  # only the good one
    wrong = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "wrong"},
             "spec": {**listed["items"][0]["spec"], "backoffLimit": "none"}}
    with pytest.raises(ApiException) as server:
        await custom.create_namespaced_custom_object("ray.io", "v1", handle["namespace"], "rayjobs", wrong)
    assert server.value.status == 422 and "spec.backoffLimit" in str(server.value.body)


@pytest.mark.parametrize(("status", "code", "kind"), [
    ({"jobDeploymentStatus": "Failed", "jobStatus": "FAILED", "reason": "AppFailed",
      "message": "Job entrypoint command failed with exit code 1"}, "RayJobFailed", ErrorKind.USER),
    ({"jobDeploymentStatus": "Failed", "reason": "SubmissionFailed",
      "message": "submitter job failed"}, "RaySubmissionFailed", ErrorKind.SYSTEM),
], ids=["job failed", "submission failed"])
async def test_a_failed_rayjob_fails_the_attempt_with_a_named_error(
        kuberay: None, k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin],
        store: LocalBlobStore, custom: CustomObjectsApi, status: dict[str, str], code: str,
        kind: ErrorKind) -> None:
    plugin = ray_target(plugins, k8s_config())
    ctx = await context(store, tasks.ray_sum, {"n": 1})
    handle = await plugin.start(ctx)
    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    await set_status(custom, handle, {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"})
    await set_status(custom, handle, status)
    async with asyncio.timeout(30):
        result = await watching
    assert result.phase == TaskPhase.FAILED and result.error is not None
    assert result.error.code == code and result.error.kind == kind and result.error.retryable
    assert status["message"] in result.error.message


async def test_abort_deletes_the_rayjob(
        kuberay: None, k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin],
        store: LocalBlobStore, custom: CustomObjectsApi) -> None:
    plugin = ray_target(plugins, k8s_config())
    ctx = await context(store, tasks.ray_sum, {"n": 1})
    handle = await plugin.start(ctx)
    await set_status(custom, handle, {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"})
    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    async with asyncio.timeout(20):
        await plugin.abort(ctx, handle)
    with pytest.raises(ApiException) as gone:
        await read_object(custom, handle)
    assert gone.value.status == 404
    async with asyncio.timeout(10):
        status = await watching
    assert status.phase == TaskPhase.ABORTED


async def test_the_rayjobs_log_is_its_submitters_then_its_heads(
        kuberay: None, k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin],
        store: LocalBlobStore, custom: CustomObjectsApi, core: CoreV1Api, node_agent: NodeAgent) -> None:
    """The attempt's log is the head's until the submitter runs, then the submitter's (where
    ``ray job submit`` follows the driver's output). The test plays the operator: a head pod
    labelled as KubeRay labels it, then the submitter Job's pod (the Job controller's label)."""
    plugin = ray_target(plugins, k8s_config())
    ctx = await context(store, tasks.ray_sum, {"n": 1})
    handle = await plugin.start(ctx)
    namespace, name = handle["namespace"], handle["name"]
    assert await plugin.read_logs(handle) == b""  # no pod yet
    raycluster = f"{name}-raycluster"
    await set_status(custom, handle, {"jobDeploymentStatus": "Initializing", "rayClusterName": raycluster})

    async def pod(pod_name: str, labels: dict[str, str], container: str, text: str) -> None:
        await core.create_namespaced_pod(namespace, {  # type: ignore[arg-type]  # the client takes dicts
            "metadata": {"name": pod_name, "labels": labels},
            "spec": {"nodeName": node_agent.node_names[0], "restartPolicy": "Never", "containers": [
                {"name": container, "image": "rayproject/ray",
                 "command": [sys.executable, "-c", f"print({text!r})"]}]}})
        await wait_for_pod(core, namespace, pod_name, phase_in("Succeeded"))

    await pod(f"{raycluster}-head-x7k2p", {"ray.io/cluster": raycluster, "ray.io/node-type": "head"},
              "ray-head", "Ray runtime started.")
    assert b"Ray runtime started." in await plugin.read_logs(handle)
    await pod(f"{name}-q4m9z", {"batch.kubernetes.io/job-name": name}, SUBMITTER_CONTAINER,
              "Job 'rayjob-1' succeeded")
    log = await plugin.read_logs(handle)
    assert b"Job 'rayjob-1' succeeded" in log and b"Ray runtime" not in log
