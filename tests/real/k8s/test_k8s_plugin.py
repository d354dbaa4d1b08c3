"""The Kubernetes plugin against the real API server, with the node agent playing kubelet:
Python and container tasks run as pods (``wingspan execute`` and the copilot, as local
processes) and give the right outputs; the pods pass the API server's validation; a
task's error comes back from error.pb; abort, timeout, retries, pending timeout,
image-pull failure, eviction and a dropped watch each end as they should."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from kubernetes_asyncio.client import ApiClient, CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException
from wingspan_k8s import K8sConfig, K8sPlugin
from wingspan_k8s._pods import namespace_name

from tests.k8s_agent import NodeAgent
from tests.k8s_agent.cluster import KubeApiserver
from tests.k8s_agent.waits import phase_in, wait_for_pod, wait_for_pod_gone
from wingspan._authoring.workflow import single_node_workflow
from wingspan._runner.run import SdkResolver, SdkTaskRunner
from wingspan.core.engine.interfaces import AttemptOutcome, AttemptRequest
from wingspan.core.engine.retry import RetryPolicy
from wingspan.core.engine.runner import WorkflowRun
from wingspan.core.model.execution import TaskPhase, WorkflowPhase
from wingspan.core.model.literals import ErrorKind
from wingspan.core.plugins.contract import TaskContext
from wingspan.core.plugins.executor import PluginExecutor
from wingspan.core.plugins.registry import TaskPluginRegistry
from wingspan.core.storage.interface import BlobStore
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.storage.uris import join_uri
from wingspan.core.types import TransferContext, default_engine

# mypy names this folder's modules by their path from the root; pytest imports them by
# bare name from the folder it puts on sys.path, the name the pods import the tasks by
if TYPE_CHECKING:
    from aiohttp import ClientResponse

    from tests.real.k8s import test_k8s_plugin_tasks as tasks
else:
    import test_k8s_plugin_tasks as tasks

pytestmark = pytest.mark.real

HERE = Path(__file__).resolve().parent
PluginFactory = Callable[..., K8sPlugin]


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
async def make_plugin(kube_apiserver: KubeApiserver, node_agent: NodeAgent, core: CoreV1Api,
                      tmp_path: Path) -> AsyncIterator[PluginFactory]:
    """K8sPlugin(config) for this test's node, in namespaces of its own (removed afterwards)."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    made: list[K8sPlugin] = []

    def make(**overrides: Any) -> K8sPlugin:
        values: dict[str, Any] = {
            "kubeconfig": str(kube_apiserver.kubeconfig), "node_name": node_agent.node_names[0],
            "namespace_template": prefix + "-{project}-{domain}",
            "execute_command": [sys.executable, "-m", "wingspan.cli", "execute"],
            "copilot_command": [sys.executable, "-m", "wingspan_k8s.copilot"],
            "env": {"PYTHONPATH": str(HERE), "WINGSPAN_HOME": str(tmp_path / "pod-home")},
            "abort_grace_seconds": 1, "cleanup_after_seconds": -1, **overrides,
        }
        plugin = K8sPlugin(K8sConfig(**values))
        made.append(plugin)
        return plugin

    yield make
    for plugin in made:
        await plugin.aclose()
    for namespace in (await core.list_namespace()).items:
        name = namespace.metadata.name
        if name.startswith(prefix):
            await core.delete_collection_namespaced_pod(name, grace_period_seconds=0)
            await core.delete_namespace(name)
            try:
                await core.replace_namespace_finalize(name, {"metadata": {"name": name},
                                                             "spec": {"finalizers": []}})  # type: ignore[arg-type]
            except ApiException as exc:
                if exc.status != 404:
                    raise


def namespace_of(plugin: K8sPlugin) -> str:
    """The namespace of tasks registered without a project or domain."""
    return namespace_name(plugin.config, "", "")


def runner(task: Any) -> SdkTaskRunner:
    return SdkTaskRunner(task, SdkResolver({}))


async def run_attempt(plugin: K8sPlugin, store: BlobStore, task: Any, inputs: dict[str, Any], *,
                      attempt: int = 0, limit: float | None = None) -> AttemptOutcome:
    executor = PluginExecutor(TaskPluginRegistry([plugin], {"python": "k8s", "container": "k8s"}),
                              store=lambda: store)
    request = AttemptRequest(runner(task), inputs, f"exec-{uuid.uuid4().hex[:8]}", "n0", attempt, limit)
    return await executor.run(request)


async def started(plugin: K8sPlugin, store: LocalBlobStore, task: Any, inputs: dict[str, Any], *,
                  limit: float | None = None, node_id: str = "n0") -> tuple[TaskContext, dict[str, Any]]:
    """Starts one attempt through the plugin itself; returns its context and handle."""
    run = runner(task)
    execution = f"exec-{uuid.uuid4().hex[:8]}"
    transfer = TransferContext(store, join_uri(store.root, "data", execution, node_id, "0"))
    literals = await default_engine().to_literal_map(inputs, run.input_types, transfer)
    ctx = TaskContext(run.template, literals, execution, node_id, 0, limit, transfer, runner=run)
    return ctx, await plugin.start(ctx)


# ---- success -----------------------------------------------------------------------------------


async def test_a_python_task_runs_as_a_pod_with_the_right_outputs(
        make_plugin: PluginFactory, store: LocalBlobStore, core: CoreV1Api) -> None:
    plugin = make_plugin()
    outcome = await run_attempt(plugin, store, tasks.add, {"a": 2, "b": 40})
    assert outcome.phase == TaskPhase.SUCCEEDED, outcome.error
    assert outcome.outputs == {"o0": 42}
    names = [name for name, _ in outcome.logs]
    assert names == ["pod"]


async def test_tuples_lists_and_the_context_reach_the_pod(make_plugin: PluginFactory,
                                                          store: LocalBlobStore) -> None:
    outcome = await run_attempt(make_plugin(), store, tasks.describe, {"name": "ada", "scores": [1.5, 2.0]},
                                attempt=3)
    assert outcome.phase == TaskPhase.SUCCEEDED, outcome.error
    assert outcome.outputs == {"o0": "ada (n0, attempt 3)", "o1": 3.5}


async def test_files_cross_through_the_blob_store(make_plugin: PluginFactory, store: LocalBlobStore) -> None:
    plugin = make_plugin()
    written = await run_attempt(plugin, store, tasks.write_file, {"text": "made in a pod"})
    assert written.phase == TaskPhase.SUCCEEDED, written.error
    file = written.outputs["o0"]
    assert file.uri.startswith(store.root)
    read = await run_attempt(plugin, store, tasks.read_file, {"f": file})
    assert read.outputs == {"o0": "made in a pod"}


async def test_a_container_task_runs_its_command_between_stage_and_collect(
        make_plugin: PluginFactory, store: LocalBlobStore, tmp_path: Path) -> None:
    plugin = make_plugin()
    outcome = await run_attempt(plugin, store, tasks.square_sum, {"a": 3, "b": 1, "label": "k8s"})
    assert outcome.phase == TaskPhase.SUCCEEDED, outcome.error
    assert outcome.outputs == {"total": 10, "note": "from k8s"}


async def test_the_pod_is_accepted_by_the_api_server_and_tied_to_its_attempt(
        make_plugin: PluginFactory, store: LocalBlobStore, core: CoreV1Api, kube_client: ApiClient) -> None:
    plugin = make_plugin(labels={"team": "ml"}, log_links={"kubectl": "kubectl logs -n {namespace} {pod}"})
    ctx, handle = await started(plugin, store, tasks.add, {"a": 1, "b": 2})
    status = await plugin.watch(ctx, handle)
    assert status.phase == TaskPhase.SUCCEEDED
    assert [(log.name, log.uri) for log in status.logs][1] == (
        "kubectl", f"kubectl logs -n {handle['namespace']} {handle['pod']}")
    pod = await core.read_namespaced_pod(handle["pod"], handle["namespace"])
    stored = kube_client.sanitize_for_serialization(pod)
    print(json.dumps({"metadata": stored["metadata"], "spec": stored["spec"]}, indent=1))
    labels, annotations = pod.metadata.labels, pod.metadata.annotations
    assert labels["app.kubernetes.io/managed-by"] == "wingspan" and labels["team"] == "ml"
    assert labels["wingspan.io/execution"] == ctx.execution_id and labels["wingspan.io/node"] == "n0"
    assert annotations["wingspan.io/execution-id"] == ctx.execution_id
    assert annotations["wingspan.io/attempt"] == "0"
    container = pod.spec.containers[0]
    command = container.command
    assert command[3] == "execute" and command[command.index("--module") + 1] == "test_k8s_plugin_tasks"
    assert command[command.index("--qualname") + 1] == "add"
    assert handle["namespace"].endswith("-default-development")
    assert b"adding 1 and 2" in await plugin.read_logs(handle)
    assert (await plugin.read_logs(handle, offset=7)).startswith(b"1 and 2")


async def test_logs_are_readable_while_the_pod_runs(make_plugin: PluginFactory, store: LocalBlobStore,
                                                    core: CoreV1Api) -> None:
    plugin = make_plugin()
    ctx, handle = await started(plugin, store, tasks.slow, {"seconds": 60.0})
    await wait_for_pod(core, handle["namespace"], handle["pod"], phase_in("Running"))
    async with asyncio.timeout(30):  # follow the log until the task has printed
        # unread (_preload_content=False), the client returns aiohttp's response, not the text
        response = cast("ClientResponse", await core.read_namespaced_pod_log(
            handle["pod"], handle["namespace"], follow=True, _preload_content=False))
        while b"started" not in await response.content.readline():
            pass
        response.release()
    assert await plugin.read_logs(handle) == b"started\n"
    await plugin.abort(ctx, handle)


# ---- failures -----------------------------------------------------------------------------------


async def test_a_task_error_comes_back_from_error_pb(make_plugin: PluginFactory,
                                                     store: LocalBlobStore) -> None:
    outcome = await run_attempt(make_plugin(), store, tasks.fails, {"message": "no such customer"})
    assert outcome.phase == TaskPhase.FAILED
    assert outcome.error is not None
    assert outcome.error.code == "USER:NonRetryableError" and not outcome.error.retryable
    assert "no such customer" in outcome.error.message


async def test_a_failing_container_command_names_its_exit_code(make_plugin: PluginFactory,
                                                               store: LocalBlobStore) -> None:
    outcome = await run_attempt(make_plugin(), store, tasks.container_fails, {"a": 1})
    assert outcome.phase == TaskPhase.FAILED and outcome.error is not None
    assert outcome.error.code == "ContainerFailed:7" and outcome.error.retryable
    assert "container 'task' exited with code 7" in outcome.error.message


async def test_abort_deletes_the_pod(make_plugin: PluginFactory, store: LocalBlobStore,
                                     core: CoreV1Api) -> None:
    plugin = make_plugin()
    ctx, handle = await started(plugin, store, tasks.slow, {"seconds": 120.0})
    await wait_for_pod(core, handle["namespace"], handle["pod"], phase_in("Running"))
    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    async with asyncio.timeout(20):
        await plugin.abort(ctx, handle)
    with pytest.raises(ApiException) as gone:  # abort returns once the pod no longer runs
        await core.read_namespaced_pod(handle["pod"], handle["namespace"])
    assert gone.value.status == 404
    async with asyncio.timeout(10):
        status = await watching
    assert status.phase == TaskPhase.ABORTED


async def test_an_attempt_past_its_timeout_is_stopped(make_plugin: PluginFactory, store: LocalBlobStore,
                                                      core: CoreV1Api) -> None:
    plugin = make_plugin()
    ctx, handle = await started(plugin, store, tasks.slow, {"seconds": 120.0}, limit=3)
    async with asyncio.timeout(30):
        status = await plugin.watch(ctx, handle)
    assert status.phase == TaskPhase.TIMED_OUT and status.error is not None
    assert status.error.code == "TIMEOUT" and status.error.retryable
    await wait_for_pod_gone(core, handle["namespace"], handle["pod"])
    # the kubelet would stop it even with no engine watching
    assert json.loads(json.dumps(handle))["started"] and status.reason == "timed out"


async def test_a_timeout_through_the_executor_times_the_attempt_out(
        make_plugin: PluginFactory, store: LocalBlobStore, core: CoreV1Api) -> None:
    async with asyncio.timeout(40):
        plugin = make_plugin()
        outcome = await run_attempt(plugin, store, tasks.slow, {"seconds": 120.0}, limit=2)
    assert outcome.phase == TaskPhase.TIMED_OUT
    for pod in (await core.list_namespaced_pod(namespace_of(plugin))).items:
        await wait_for_pod_gone(core, pod.metadata.namespace, pod.metadata.name)


async def test_a_pod_pending_past_the_timeout_fails_retryably(make_plugin: PluginFactory,
                                                              store: LocalBlobStore, core: CoreV1Api) -> None:
    plugin = make_plugin(pending_timeout_seconds=2, annotations={"wingspan.test/simulate": "stuck-pending"})
    ctx, handle = await started(plugin, store, tasks.add, {"a": 1, "b": 1})
    assert await plugin.read_logs(handle) == b""  # nothing yet, and no error either
    async with asyncio.timeout(30):
        status = await plugin.watch(ctx, handle)
    assert status.phase == TaskPhase.FAILED and status.error is not None
    assert status.error.code == "PodPendingTimeout" and status.error.retryable
    assert status.error.kind == ErrorKind.SYSTEM
    assert "still pending after 2s" in status.error.message
    await wait_for_pod_gone(core, handle["namespace"], handle["pod"])  # it must not start later


async def test_an_image_that_cannot_be_pulled_fails_after_the_grace(make_plugin: PluginFactory,
                                                                    store: LocalBlobStore) -> None:
    plugin = make_plugin(image_pull_grace_seconds=1,
                         annotations={"wingspan.test/simulate": "image-pull-error"})
    ctx, handle = await started(plugin, store, tasks.add, {"a": 1, "b": 1})
    async with asyncio.timeout(30):
        status = await plugin.watch(ctx, handle)
    assert status.phase == TaskPhase.FAILED and status.error is not None
    assert status.error.code in ("ErrImagePull", "ImagePullBackOff") and status.error.retryable
    assert "could not be pulled" in status.error.message


async def test_an_evicted_pod_fails_retryably(make_plugin: PluginFactory, store: LocalBlobStore) -> None:
    plugin = make_plugin(annotations={"wingspan.test/simulate": "evict",
                                      "wingspan.test/evict-after-seconds": "1"})
    ctx, handle = await started(plugin, store, tasks.slow, {"seconds": 60.0})
    async with asyncio.timeout(30):
        status = await plugin.watch(ctx, handle)
    assert status.phase == TaskPhase.FAILED and status.error is not None
    assert status.error.code == "Evicted" and status.error.retryable and status.error.kind == ErrorKind.SYSTEM


async def test_retries_run_a_new_pod_per_attempt_through_the_engine(
        make_plugin: PluginFactory, store: LocalBlobStore, core: CoreV1Api, tmp_path: Path) -> None:
    plugin = make_plugin()
    executor = PluginExecutor(TaskPluginRegistry([plugin], {"python": "k8s"}), store=lambda: store)
    wf = single_node_workflow(tasks.flaky)
    run = WorkflowRun(wf.closure, {"marker": str(tmp_path / "marker")}, SdkResolver(wf.entities),
                      executor=executor, retry=RetryPolicy(first_delay=0.05))
    async with asyncio.timeout(60):
        result = await run.run()
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert result.outputs == {"o0": "attempt 1"}
    pods = (await core.list_namespaced_pod(namespace_of(plugin))).items
    attempts = sorted(pod.metadata.labels["wingspan.io/attempt"] for pod in pods)
    assert attempts == ["0", "1"]
    phases = {pod.metadata.labels["wingspan.io/attempt"]: pod.status.phase for pod in pods}
    assert phases == {"0": "Failed", "1": "Succeeded"}


async def test_another_plugin_instance_follows_the_attempt_from_its_handle(
        make_plugin: PluginFactory, store: LocalBlobStore) -> None:
    ctx, handle = await started(make_plugin(), store, tasks.add, {"a": 20, "b": 22})
    stored = json.loads(json.dumps(handle))  # what an engine keeps: plain data
    replica = make_plugin()  # another engine replica, which started nothing
    resumed = TaskContext(ctx.template, ctx.inputs, ctx.execution_id, ctx.node_id, ctx.attempt,
                          transfer=TransferContext(store, ctx.transfer.prefix))
    status = await replica.watch(resumed, stored)
    assert status.phase == TaskPhase.SUCCEEDED
    polled = await make_plugin().poll(resumed, stored)
    assert polled.phase == TaskPhase.SUCCEEDED and polled.outputs == status.outputs


async def test_a_start_repeated_after_a_crash_adopts_the_pod_it_made(
        make_plugin: PluginFactory, store: LocalBlobStore, core: CoreV1Api) -> None:
    plugin = make_plugin()
    ctx, handle = await started(plugin, store, tasks.slow, {"seconds": 1.5})
    assert (await plugin.watch(ctx, handle)).phase == TaskPhase.SUCCEEDED  # over a second later
    again = await make_plugin().start(ctx)
    assert [again[k] for k in ("namespace", "pod", "uid")] == [handle[k] for k in ("namespace", "pod", "uid")]
    assert again["started"] < handle["started"] + 1  # its deadlines count from the first start
    assert (await plugin.watch(ctx, again)).phase == TaskPhase.SUCCEEDED
    assert len((await core.list_namespaced_pod(handle["namespace"])).items) == 1
