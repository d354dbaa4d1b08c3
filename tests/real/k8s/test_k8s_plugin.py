"""The Kubernetes plugin against the real API server, with the node agent playing kubelet:
Python and container tasks run as pods (``wingspan execute`` and the copilot, as local
processes) and give the right outputs; the pods pass the API server's validation; a
task's error comes back from error.pb; abort, timeout, retries, pending timeout,
image-pull failure, eviction and a dropped watch each end as they should."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import test_k8s_plugin_tasks as tasks
from kubernetes_asyncio.client import ApiClient, CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException
from wingspan_k8s import K8sConfig, K8sPlugin

from tests.k8s_agent import NodeAgent
from tests.k8s_agent.cluster import KubeApiserver
from wingspan._local import SdkResolver, SdkTaskRunner
from wingspan.core.engine.interfaces import AttemptOutcome, AttemptRequest
from wingspan.core.model.execution import TaskPhase
from wingspan.core.plugins.contract import TaskContext
from wingspan.core.plugins.executor import PluginExecutor
from wingspan.core.plugins.registry import TaskPluginRegistry
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.storage.uris import join_uri
from wingspan.core.types import TransferContext, default_engine

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


def runner(task: Any) -> SdkTaskRunner:
    return SdkTaskRunner(task, SdkResolver({}))


async def run_attempt(plugin: K8sPlugin, store: LocalBlobStore, task: Any, inputs: dict[str, Any], *,
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
