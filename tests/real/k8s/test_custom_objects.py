"""SparkApplications and DaskJobs per attempt against the real API server (the custom-object
base of wingspan_k8s, through the spark-k8s and dask-k8s targets).

No Spark or Dask operator runs here (the Spark operator's Go module is refused by the module
proxy; the Dask operator needs cluster DNS and services this API server has no controllers
for). Where a test needs the object to move, the test plays the operator, doing what the
operator does and nothing more: it writes the object's status through the status
subresource (``patch_namespaced_custom_object_status``), and for a DaskJob it makes the job's
runner pod from ``spec.job.spec`` with ``DASK_SCHEDULER_ADDRESS`` set, which the node agent
runs (``wingspan execute``, for real).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes_asyncio.client import ApiClient, ApiextensionsV1Api, CoreV1Api, CustomObjectsApi
from kubernetes_asyncio.client.exceptions import ApiException
from wingspan_dask import DaskConfig
from wingspan_dask._kubernetes import DaskK8sTarget
from wingspan_k8s import K8sConfig
from wingspan_k8s.custom_objects import CustomObjectPlugin, InvalidObjectError
from wingspan_spark._application_crd import SPARK_APPLICATION
from wingspan_spark._config import SparkPluginConfig
from wingspan_spark._kubernetes import SparkK8sTarget

from tests.k8s_agent import NodeAgent
from tests.k8s_agent.waits import phase_in, wait_for_pod
from wingspan._runner.run import SdkResolver, SdkTaskRunner
from wingspan.core.engine.attempt_files import AttemptFiles
from wingspan.core.model import codec
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.literals import ErrorKind
from wingspan.core.plugins.contract import TaskContext
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.storage.uris import join_uri
from wingspan.core.types import TransferContext, default_engine

if TYPE_CHECKING:
    from tests.real.k8s import test_custom_object_tasks as tasks
else:  # by the name the runner pod imports it by (this folder is on its PYTHONPATH)
    import test_custom_object_tasks as tasks

pytestmark = pytest.mark.real

MERGE = "application/merge-patch+json"


def spark_target(plugins: list[CustomObjectPlugin], k8s: K8sConfig, **spark: Any) -> SparkK8sTarget:
    plugin = SparkK8sTarget(SparkPluginConfig(**spark), k8s)
    plugins.append(plugin)
    return plugin


def dask_target(plugins: list[CustomObjectPlugin], k8s: K8sConfig) -> DaskK8sTarget:
    plugin = DaskK8sTarget(DaskConfig(), k8s)
    plugins.append(plugin)
    return plugin


async def context(store: LocalBlobStore, task: Any, inputs: dict[str, Any]) -> TaskContext:
    run = SdkTaskRunner(task, SdkResolver({}))
    execution = f"exec-{uuid.uuid4().hex[:8]}"
    transfer = TransferContext(store, join_uri(store.root, "data", execution, "n0", "0"))
    literals = await default_engine().to_literal_map(inputs, run.input_types, transfer)
    return TaskContext(run.template, literals, execution, "n0", 0, None, transfer, runner=run)


async def set_status(custom: CustomObjectsApi, handle: dict[str, Any], status: dict[str, Any]) -> None:
    """What an operator does: the object's status, through the status subresource (a merge
    patch: the client would send a strategic merge patch, which custom objects do not take)."""
    await custom.patch_namespaced_custom_object_status(  # type: ignore[call-arg]  # the stubs lack _content_type
        handle["group"], handle["version"], handle["namespace"], handle["plural"], handle["name"],
        {"status": status}, _content_type=MERGE)


async def read_object(custom: CustomObjectsApi, handle: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = await custom.get_namespaced_custom_object(
        handle["group"], handle["version"], handle["namespace"], handle["plural"], handle["name"])
    return obj


async def expire_watch(plugin: CustomObjectPlugin) -> int:
    """Restarts the attempt's watch from resourceVersion 1, which the API server no longer
    keeps (it answers 410 Gone), on the plugin's own loop where the watcher lives; returns
    how many lists the watcher had made."""

    async def expire(cluster: Any) -> int:
        # the watch was asked for on this loop a moment ago: its watcher comes within a turn or two
        async with asyncio.timeout(10):
            while plugin.last_watcher is None or not plugin.last_watcher.synced.is_set():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        lists = plugin.last_watcher.lists
        plugin.last_watcher.resume_from("1")
        return lists

    return await plugin.on_cluster(expire)


# ---- SparkApplication ---------------------------------------------------------------------------


async def test_a_spark_application_is_accepted_and_followed_to_success(
        k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin], store: LocalBlobStore,
        custom: CustomObjectsApi) -> None:
    """The object passes the API server's schema validation (strict: an unknown field would be
    refused, not dropped), carries the attempt's labels and its ``wingspan execute``
    arguments, and is followed through the operator's states to success, its watch listing
    again after its resourceVersion expired. The test plays the operator: status updates,
    and the outputs the driver's ``wingspan execute`` writes."""
    plugin = spark_target(plugins, k8s_config(labels={"team": "ml"}), k8s_image="spark:4.0.0")
    ctx = await context(store, tasks.spark_count, {"n": 10})
    handle = await plugin.start(ctx)
    stored = await read_object(custom, handle)
    print(json.dumps(stored["spec"], indent=1))
    spec = stored["spec"]
    assert stored["metadata"]["labels"]["team"] == "ml"
    assert stored["metadata"]["labels"]["wingspan.io/execution"] == ctx.execution_id
    assert spec["type"] == "Python" and spec["image"] == "spark:4.0.0"
    assert spec["restartPolicy"] == {"type": "Never"}
    assert spec["executor"]["instances"] == 2 and spec["executor"]["memory"] == "512m"
    assert spec["sparkConf"] == {"spark.sql.shuffle.partitions": "4"}
    arguments = spec["arguments"]
    assert arguments[arguments.index("--module") + 1] == "test_custom_object_tasks"
    assert arguments[arguments.index("--qualname") + 1] == "spark_count"

    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    await set_status(custom, handle, {"applicationState": {"state": "SUBMITTED"},
                                      "driverInfo": {"podName": f"{handle['name']}-driver"}})
    await set_status(custom, handle, {"applicationState": {"state": "RUNNING"}})
    lists = await expire_watch(plugin)  # as after 410 Gone: it must list again, and miss nothing
    outputs = await default_engine().to_literal_map({"o0": 10}, {"o0": int}, ctx.transfer)
    await store.put(AttemptFiles(handle["output_prefix"]).outputs, codec.encode(outputs))
    await set_status(custom, handle, {"applicationState": {"state": "COMPLETED"}})
    async with asyncio.timeout(30):
        status = await watching
    assert status.phase == TaskPhase.SUCCEEDED, status.error
    assert status.outputs == outputs
    assert plugin.last_watcher is not None
    assert plugin.last_watcher.gone == 1 and plugin.last_watcher.lists == lists + 1
    assert [log.name for log in status.logs] == ["SparkApplication"]


async def test_a_wrong_spark_application_is_refused_before_the_cluster(
        k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin], store: LocalBlobStore,
        custom: CustomObjectsApi) -> None:
    """Settings that make the object break its schema are refused when the attempt starts,
    naming every wrong field, and nothing is created; the API server refuses the same object
    too (the installed CRD carries the schema)."""
    config = k8s_config()
    good = spark_target(plugins, config)
    ctx = await context(store, tasks.spark_count, {"n": 1})
    await good.start(ctx)  # the CRD is installed and the namespace made
    bad = spark_target(plugins, config, k8s_application={"executor": {"instances": "two"}, "drvier": {}})
    ctx = await context(store, tasks.spark_count, {"n": 1})
    with pytest.raises(InvalidObjectError) as refused:
        await bad.start(ctx)
    message = str(refused.value)
    assert "spec.executor.instances: expected an integer, got \"two\"" in message
    assert "spec.drvier: unknown field" in message and "spark_count'" in message
    assert not await store.exists(AttemptFiles(ctx.transfer.prefix).inputs)
    group, version, plural = "sparkoperator.k8s.io", "v1beta2", "sparkapplications"
    namespace = ctx_namespace(config)
    listed = await custom.list_namespaced_custom_object(group, version, namespace, plural)
    assert len(listed["items"]) == 1  # only the good one
    wrong = {"apiVersion": f"{group}/{version}", "kind": "SparkApplication", "metadata": {"name": "wrong"},
             "spec": {**listed["items"][0]["spec"], "executor": {"instances": "two"}}}
    with pytest.raises(ApiException) as server:
        await custom.create_namespaced_custom_object(group, version, namespace, plural, wrong)
    assert server.value.status == 422 and "spec.executor.instances" in str(server.value.body)


async def run_application_as_the_operator(custom: CustomObjectsApi, core: CoreV1Api, handle: dict[str, Any],
                                          node: str) -> str:
    """What the Spark operator does for a SparkApplication: spark-submit of its main file and
    arguments in a driver pod (here with a local master: no scheduler would place executor
    pods), the application SUBMITTED, RUNNING, then COMPLETED or FAILED as the driver ends,
    with the message the operator writes. Returns the driver pod's phase."""
    import pyspark
    from wingspan_spark._config import SparkPluginConfig, java_home

    spec = (await read_object(custom, handle))["spec"]
    name, namespace = handle["name"], handle["namespace"]
    driver = f"{name}-driver"
    await set_status(custom, handle, {"applicationState": {"state": "SUBMITTED"},
                                      "driverInfo": {"podName": driver}, "submissionAttempts": 1})
    conf = {"spark.ui.enabled": "false", "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1", "spark.driver.memory": spec["driver"]["memory"],
            **spec["sparkConf"],
            **{f"spark.hadoop.{k}": v for k, v in spec["hadoopConf"].items()}}
    spark_submit = str(Path(pyspark.__file__).parent / "bin" / "spark-submit")
    submit = [spark_submit, "--master", "local[1]", "--name", name,
              *(f"--conf={key}={value}" for key, value in conf.items()),
              spec["mainApplicationFile"].removeprefix("local://"), *spec["arguments"]]
    env = [*spec["driver"]["env"], {"name": "JAVA_HOME", "value": java_home(SparkPluginConfig())},
           {"name": "PYSPARK_PYTHON", "value": sys.executable}]
    await core.create_namespaced_pod(namespace, {  # type: ignore[arg-type]  # the client takes dicts
        "metadata": {"name": driver,
                     "labels": {"spark-role": "driver", "sparkoperator.k8s.io/app-name": name}},
        "spec": {"nodeName": node, "restartPolicy": "Never", "containers": [
            {"name": "spark-kubernetes-driver", "image": spec["image"], "command": submit, "env": env}]}})
    await wait_for_pod(core, namespace, driver, phase_in("Running", "Succeeded", "Failed"))
    await set_status(custom, handle, {"applicationState": {"state": "RUNNING"}})
    pod = await wait_for_pod(core, namespace, driver, phase_in("Succeeded", "Failed"), within=180)
    if pod.status.phase == "Succeeded":
        await set_status(custom, handle, {"applicationState": {"state": "COMPLETED"}})
    else:
        ended = pod.status.container_statuses[0].state.terminated
        await set_status(custom, handle, {"applicationState": {
            "state": "FAILED", "errorMessage": f"driver container failed with ExitCode: {ended.exit_code}, "
                                              f"Reason: {ended.reason}"}})
    phase: str = pod.status.phase
    return phase


@pytest.mark.slow
async def test_a_spark_applications_driver_runs_the_task_under_spark_submit(
        k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin], store: LocalBlobStore,
        custom: CustomObjectsApi, core: CoreV1Api, node_agent: NodeAgent) -> None:
    """The application's main file and arguments, run by spark-submit in a driver pod (made by
    the test playing the operator, run by the node agent), run the task with the submitted
    application's session and give its outputs; the driver's log is the attempt's."""
    import wingspan_spark.driver

    plugin = spark_target(plugins, k8s_config(),
                          k8s_main_application_file=f"local://{wingspan_spark.driver.__file__}")
    ctx = await context(store, tasks.spark_count, {"n": 7})
    handle = await plugin.start(ctx)
    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    phase = await run_application_as_the_operator(custom, core, handle, node_agent.node_names[0])
    async with asyncio.timeout(30):
        status = await watching
    log = (await plugin.read_logs(handle)).decode(errors="replace")
    assert phase == "Succeeded", log[-3000:]
    assert status.phase == TaskPhase.SUCCEEDED, status.error
    assert status.outputs is not None and status.outputs.literals["o0"].value == 7
    # the application's own session: its name and master, not a local session's
    assert f"submitted application {handle['name']} on local[1]" in log


async def replace_definition(ext: ApiextensionsV1Api, definition: dict[str, Any]) -> None:
    """Deletes the CRD of that name (waiting until it is gone) and creates ``definition``."""
    from kubernetes_asyncio.watch import Watch

    name = definition["metadata"]["name"]
    selector = f"metadata.name={name}"
    listed = await ext.list_custom_resource_definition(field_selector=selector)
    if listed.items:
        await ext.delete_custom_resource_definition(name)
        async with asyncio.timeout(30), Watch() as watch:  # until the API server has removed it
            async for event in watch.stream(ext.list_custom_resource_definition, field_selector=selector,
                                            resource_version=listed.metadata.resource_version):
                if event["type"] == "DELETED":
                    break
    await ext.create_custom_resource_definition(definition)  # type: ignore[arg-type]  # the client takes dicts


async def test_the_crd_is_ours_to_update_but_an_operators_is_left_alone(
        k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin], store: LocalBlobStore,
        kube_client: ApiClient) -> None:
    """A SparkApplication CRD an older Wingspan installed (our label, another schema) is brought
    up to date when an attempt starts; one without our label (the operator's) is left as it is."""
    ext = ApiextensionsV1Api(kube_client)
    loose = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    older = SPARK_APPLICATION.definition()
    older["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = loose
    try:
        await replace_definition(ext, older)
        await spark_target(plugins, k8s_config()).start(await context(store, tasks.spark_count, {"n": 1}))
        crd = await ext.read_custom_resource_definition(SPARK_APPLICATION.crd_name)
        assert kube_client.sanitize_for_serialization(crd.spec.versions[0].schema.open_apiv3_schema) == \
            SPARK_APPLICATION.schema

        operators = SPARK_APPLICATION.definition()
        operators["metadata"]["labels"] = {"app.kubernetes.io/name": "spark-operator"}
        operators["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = loose
        await replace_definition(ext, operators)
        await spark_target(plugins, k8s_config()).start(await context(store, tasks.spark_count, {"n": 1}))
        crd = await ext.read_custom_resource_definition(SPARK_APPLICATION.crd_name)
        assert kube_client.sanitize_for_serialization(crd.spec.versions[0].schema.open_apiv3_schema) == loose
    finally:  # the next tests install ours again
        with contextlib.suppress(ApiException):
            await ext.delete_custom_resource_definition(SPARK_APPLICATION.crd_name)


def ctx_namespace(config: K8sConfig) -> str:
    from wingspan_k8s._pods import namespace_name

    return namespace_name(config, "", "")


async def test_a_failed_spark_application_fails_the_attempt_with_a_named_error(
        k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin], store: LocalBlobStore,
        custom: CustomObjectsApi) -> None:
    """The test plays the operator: it marks the application FAILED through the status
    subresource, with the message the operator writes when the driver exits non-zero."""
    plugin = spark_target(plugins, k8s_config())
    ctx = await context(store, tasks.spark_count, {"n": 1})
    handle = await plugin.start(ctx)
    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    await set_status(custom, handle, {"applicationState": {
        "state": "FAILED", "errorMessage": "driver container failed with ExitCode: 1, Reason: Error"}})
    async with asyncio.timeout(30):
        status = await watching
    assert status.phase == TaskPhase.FAILED and status.error is not None
    assert status.error.code == "SparkApplicationFailed" and status.error.retryable
    assert "ExitCode: 1" in status.error.message


async def test_abort_deletes_the_spark_application(
        k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin], store: LocalBlobStore,
        custom: CustomObjectsApi) -> None:
    """The test plays the operator up to RUNNING (a status update); abort deletes the object."""
    plugin = spark_target(plugins, k8s_config())
    ctx = await context(store, tasks.spark_count, {"n": 1})
    handle = await plugin.start(ctx)
    await set_status(custom, handle, {"applicationState": {"state": "RUNNING"}})
    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    async with asyncio.timeout(20):
        await plugin.abort(ctx, handle)
    with pytest.raises(ApiException) as gone:
        await read_object(custom, handle)
    assert gone.value.status == 404
    async with asyncio.timeout(10):
        status = await watching
    assert status.phase == TaskPhase.ABORTED


async def test_an_object_deleted_underneath_fails_the_attempt(
        k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin], store: LocalBlobStore,
        custom: CustomObjectsApi) -> None:
    plugin = spark_target(plugins, k8s_config())
    ctx = await context(store, tasks.spark_count, {"n": 1})
    handle = await plugin.start(ctx)
    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    await custom.delete_namespaced_custom_object(handle["group"], handle["version"], handle["namespace"],
                                                 handle["plural"], handle["name"])
    async with asyncio.timeout(20):
        status = await watching
    assert status.phase == TaskPhase.FAILED and status.error is not None
    assert status.error.code == "ObjectDeleted" and status.error.retryable
    assert status.error.kind == ErrorKind.SYSTEM


# ---- DaskJob ------------------------------------------------------------------------------------


async def run_job_as_the_operator(custom: CustomObjectsApi, core: CoreV1Api, handle: dict[str, Any],
                                  scheduler: str) -> str:
    """What the Dask operator does for a DaskJob once its cluster is up: the runner pod from
    ``spec.job.spec`` with ``DASK_SCHEDULER_ADDRESS``, the job Running, then Successful or
    Failed as the pod ends. Returns the pod's phase."""
    job = await read_object(custom, handle)
    name, namespace = handle["name"], handle["namespace"]
    await set_status(custom, handle, {"jobStatus": "ClusterCreated", "clusterName": name})
    spec = job["spec"]["job"]["spec"]
    for container in spec["containers"]:
        container["env"] = [*container.get("env", []), {"name": "DASK_SCHEDULER_ADDRESS", "value": scheduler}]
    runner = f"{name}-runner"
    await core.create_namespaced_pod(namespace, {  # type: ignore[arg-type]  # the client takes dicts
        "metadata": {"name": runner, "labels": {"dask.org/cluster-name": name,
                                                "dask.org/component": "job-runner"}},
        "spec": spec})
    await set_status(custom, handle, {"jobStatus": "Running", "jobRunnerPodName": runner})
    pod = await wait_for_pod(core, namespace, runner, phase_in("Succeeded", "Failed"), within=90)
    phase: str = pod.status.phase
    await set_status(custom, handle, {"jobStatus": "Successful" if phase == "Succeeded" else "Failed"})
    return phase


@pytest.fixture
async def scheduler() -> AsyncIterator[str]:
    """A Dask scheduler (no workers: the tasks only connect), as a job's cluster would have."""
    from distributed import Scheduler

    async with Scheduler(host="127.0.0.1", port=0, dashboard_address=":0", dashboard=False) as running:
        yield running.address


async def test_a_daskjob_runs_its_runner_pod_and_gives_the_outputs(
        k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin], store: LocalBlobStore,
        custom: CustomObjectsApi, core: CoreV1Api, scheduler: str) -> None:
    """The DaskJob passes the API server's schema; its runner pod (made by the test playing
    the operator, run by the node agent) runs the task, connected to the scheduler it was
    given; another plugin instance follows the attempt from the stored handle and reads the
    runner's log."""
    plugin = dask_target(plugins, k8s_config())
    ctx = await context(store, tasks.dask_scheduler_of, {"n": 21})
    handle = json.loads(json.dumps(await plugin.start(ctx)))  # what an engine stores
    job = (await read_object(custom, handle))["spec"]
    assert job["cluster"]["spec"]["worker"]["replicas"] == 2
    assert job["job"]["spec"]["containers"][0]["command"][3] == "execute"
    replica = dask_target(plugins, k8s_config())  # another engine replica: it started nothing
    watching = asyncio.ensure_future(replica.watch(ctx, handle))
    assert await run_job_as_the_operator(custom, core, handle, scheduler) == "Succeeded"
    async with asyncio.timeout(30):
        status = await watching
    assert status.phase == TaskPhase.SUCCEEDED, status.error
    assert status.outputs is not None
    assert status.outputs.literals["o0"].value == f"42 via {scheduler}"
    assert f"connected to {scheduler}".encode() in await replica.read_logs(handle)


async def test_a_failed_daskjob_gives_the_tasks_own_error(
        k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin], store: LocalBlobStore,
        custom: CustomObjectsApi, core: CoreV1Api, scheduler: str) -> None:
    """The runner pod fails (the task raised); the test playing the operator marks the job
    Failed; the attempt's error is the task's own, from error.pb."""
    plugin = dask_target(plugins, k8s_config())
    ctx = await context(store, tasks.dask_fails, {"message": "no such partition"})
    handle = await plugin.start(ctx)
    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    assert await run_job_as_the_operator(custom, core, handle, scheduler) == "Failed"
    async with asyncio.timeout(30):
        status = await watching
    assert status.phase == TaskPhase.FAILED and status.error is not None
    assert "ValueError" in status.error.code and "no such partition" in status.error.message


async def test_a_daskjob_no_operator_starts_fails_as_pending_too_long(
        k8s_config: Callable[..., K8sConfig], plugins: list[CustomObjectPlugin], store: LocalBlobStore,
        custom: CustomObjectsApi) -> None:
    plugin = dask_target(plugins, k8s_config(pending_timeout_seconds=2))
    ctx = await context(store, tasks.dask_scheduler_of, {"n": 1})
    handle = await plugin.start(ctx)
    async with asyncio.timeout(30):
        status = await plugin.watch(ctx, handle)
    assert status.phase == TaskPhase.FAILED and status.error is not None
    assert status.error.code == "PendingTimeout" and status.error.retryable
    assert "still pending after 2s" in status.error.message and "operator" in status.error.message
    with pytest.raises(ApiException) as gone:  # it must not start later
        await read_object(custom, handle)
    assert gone.value.status == 404
