"""The Kubernetes plugin's dealings with the cluster: a dropped watch (the connection cut by
a proxy in between) and a watch resumed from a version too old still bring the status;
finished pods are cleaned up; namespaces come with their quota; secrets reach the task as
environment variables and files; resources, interruptible placement and pod templates
shape the pod the API server stores."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes_asyncio.client import CoreV1Api
from wingspan_k8s import K8sPlugin
from wingspan_k8s._cluster import Cluster

from tests.k8s_agent.cluster import KubeApiserver
from tests.k8s_agent.waits import phase_in, wait_for_pod, wait_for_pod_gone
from wingspan.core.config import Settings
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.literals import Literal
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.storage.s3 import S3BlobStore

# mypy names this folder's modules by their path from the root; pytest imports them by
# bare name from the folder it puts on sys.path, the name the pods import the tasks by;
# the fixtures of test_k8s_plugin are shared by importing them
if TYPE_CHECKING:
    from tests.real.k8s import test_k8s_plugin_tasks as tasks
    from tests.real.k8s.test_k8s_plugin import PluginFactory, namespace_of, run_attempt, started
else:
    import test_k8s_plugin_tasks as tasks
    from test_k8s_plugin import PluginFactory, make_plugin, namespace_of, run_attempt, started, store  # noqa: F401

pytestmark = pytest.mark.real


class CuttableProxy:
    """A TCP proxy to the API server whose connections a test can cut, holding new ones
    until it lets them through again: a network fault between the plugin and the cluster."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.passing = asyncio.Event()
        self.passing.set()
        self.connections = 0
        self._open: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.address = ""

    async def __aenter__(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.address = f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.passing.wait()
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        self.connections += 1
        self._open |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)
        for end in (writer, up_writer):
            self._open.discard(end)
            end.close()
            with contextlib.suppress(OSError):
                await end.wait_closed()

    def cut(self) -> None:
        """Drops every open connection (without a goodbye) and holds new ones."""
        self.passing.clear()
        for end in list(self._open):
            end.transport.abort()

    def resume(self) -> None:
        self.passing.set()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


@pytest.fixture
async def proxy(kube_apiserver: KubeApiserver, tmp_path: Path) -> AsyncIterator[tuple[CuttableProxy, str]]:
    """The proxy, and a kubeconfig that talks to the API server through it."""
    config = json.loads(Path(kube_apiserver.kubeconfig).read_text())  # noqa: ASYNC240 - small, local
    server = config["clusters"][0]["cluster"]["server"]
    host, _, port = server.removeprefix("https://").rpartition(":")
    async with CuttableProxy(host, int(port)) as running:
        config["clusters"][0]["cluster"]["server"] = f"https://{running.address}"
        path = tmp_path / "kubeconfig-via-proxy"
        path.write_text(json.dumps(config))
        yield running, str(path)


async def watcher_counts(plugin: K8sPlugin, namespace: str) -> tuple[int, int]:
    """(lists, watch requests) the plugin's watcher of ``namespace`` has made."""

    async def counts(cluster: Cluster) -> tuple[int, int]:
        watcher = cluster.watchers[namespace]
        return watcher.lists, watcher.watches

    return await plugin.on_cluster(counts)


async def test_a_dropped_watch_resumes_and_the_status_still_arrives(
        make_plugin: PluginFactory, store: LocalBlobStore, core: CoreV1Api,
        proxy: tuple[CuttableProxy, str]) -> None:
    cuttable, kubeconfig = proxy
    plugin = make_plugin(kubeconfig=kubeconfig)
    ctx, handle = await started(plugin, store, tasks.slow, {"seconds": 2.0})
    namespace = handle["namespace"]
    await wait_for_pod(core, namespace, handle["pod"], phase_in("Running"))
    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    lists, watches = await watcher_counts(plugin, namespace)
    cuttable.cut()
    # the pod ends while the plugin cannot hear of it
    await wait_for_pod(core, namespace, handle["pod"], phase_in("Succeeded"))
    assert not watching.done()
    cuttable.resume()
    async with asyncio.timeout(30):
        status = await watching
    assert status.phase == TaskPhase.SUCCEEDED and status.outputs is not None
    assert set(status.outputs.literals) == {"o0"}
    after = await watcher_counts(plugin, namespace)
    assert after[1] > watches, "the watch was made again"
    assert after[0] == lists, "resumed from its resourceVersion, without listing again"


async def test_a_watch_resumed_from_a_version_too_old_lists_again(
        make_plugin: PluginFactory, store: LocalBlobStore, core: CoreV1Api,
        proxy: tuple[CuttableProxy, str]) -> None:
    cuttable, kubeconfig = proxy
    plugin = make_plugin(kubeconfig=kubeconfig)
    ctx, handle = await started(plugin, store, tasks.slow, {"seconds": 2.0})
    namespace = handle["namespace"]
    await wait_for_pod(core, namespace, handle["pod"], phase_in("Running"))
    watching = asyncio.ensure_future(plugin.watch(ctx, handle))
    lists, _ = await watcher_counts(plugin, namespace)
    cuttable.cut()

    async def forget_version(cluster: Cluster) -> None:
        cluster.watchers[namespace].resource_version = "1"  # long compacted away: 410 Gone

    await plugin.on_cluster(forget_version)
    await wait_for_pod(core, namespace, handle["pod"], phase_in("Succeeded"))
    cuttable.resume()
    async with asyncio.timeout(30):
        status = await watching
    assert status.phase == TaskPhase.SUCCEEDED
    assert (await watcher_counts(plugin, namespace))[0] > lists, "listed again after 410 Gone"


async def test_finished_pods_are_deleted_after_the_configured_time(
        make_plugin: PluginFactory, store: LocalBlobStore, core: CoreV1Api) -> None:
    plugin = make_plugin(cleanup_after_seconds=1)
    ctx, handle = await started(plugin, store, tasks.add, {"a": 1, "b": 1})
    status = await plugin.watch(ctx, handle)
    assert status.phase == TaskPhase.SUCCEEDED
    pod = await core.read_namespaced_pod(handle["pod"], handle["namespace"])  # still there at first
    assert pod.status.phase == "Succeeded"
    await wait_for_pod_gone(core, handle["namespace"], handle["pod"], within=15)


async def test_finished_pods_stay_when_cleanup_is_off(
        make_plugin: PluginFactory, store: LocalBlobStore, core: CoreV1Api) -> None:
    plugin = make_plugin(cleanup_after_seconds=-1)
    ctx, handle = await started(plugin, store, tasks.add, {"a": 1, "b": 1})
    assert (await plugin.watch(ctx, handle)).phase == TaskPhase.SUCCEEDED
    await plugin.aclose()  # nothing scheduled: closing does not wait for, nor delete, anything
    pod = await core.read_namespaced_pod(handle["pod"], handle["namespace"])
    assert pod.status.phase == "Succeeded"


async def test_a_namespace_per_project_and_domain_with_its_quota(
        make_plugin: PluginFactory, core: CoreV1Api) -> None:
    plugin = make_plugin(resource_quota={"pods": "20", "requests.cpu": "8", "requests.nvidia.com/gpu": "2"})
    namespace = namespace_of(plugin).replace("-default-development", "-ml-production")

    async def ensure(cluster: Cluster) -> None:
        await cluster.ensure_namespace(namespace)

    await plugin.on_cluster(ensure)
    found = await core.read_namespace(namespace)
    assert found.metadata.labels["app.kubernetes.io/managed-by"] == "wingspan"
    quota = await core.read_namespaced_resource_quota("wingspan", namespace)
    assert quota.spec.hard == {"pods": "20", "requests.cpu": "8", "requests.nvidia.com/gpu": "2"}


async def test_secrets_reach_the_task_as_environment_variables_and_files(
        make_plugin: PluginFactory, store: LocalBlobStore, core: CoreV1Api, tmp_path: Path) -> None:
    plugin = make_plugin(secrets_dir=str(tmp_path / "secrets"))
    namespace = namespace_of(plugin)
    await core.create_namespace({"metadata": {"name": namespace}})  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
    data = {"password": base64.b64encode(b"pw-123").decode(), "token": base64.b64encode(b"tok-456").decode()}
    await core.create_namespaced_secret(namespace, {"metadata": {"name": "db-creds"}, "data": data})  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
    ctx, handle = await started(plugin, store, tasks.secret_reader, {"x": 1})
    status = await plugin.watch(ctx, handle)
    assert status.phase == TaskPhase.SUCCEEDED, status.error
    assert status.outputs is not None
    assert status.outputs.literals["o0"] == Literal("string", "pw-123/tok-456")
    pod = await core.read_namespaced_pod(handle["pod"], namespace)
    env = {item.name: item for item in pod.spec.containers[0].env}
    assert env["WINGSPAN_SECRET_DB_CREDS_PASSWORD"].value_from.secret_key_ref.name == "db-creds"
    mount = pod.spec.containers[0].volume_mounts[0]
    assert mount.mount_path == f"{tmp_path}/secrets/db-creds" and mount.read_only


async def test_resources_placement_and_templates_shape_the_stored_pod(
        make_plugin: PluginFactory, store: LocalBlobStore, core: CoreV1Api) -> None:
    tolerations = [{"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    plugin = make_plugin(
        interruptible_tolerations=tolerations, interruptible_node_selector={"pool": "spot"},
        pod_template={"spec": {"terminationGracePeriodSeconds": 7,
                               "containers": [{"name": "primary",
                                               "env": [{"name": "FROM_CONFIG", "value": "yes"}]}]}})
    ctx, handle = await started(plugin, store, tasks.shaped, {"name": "x"}, limit=300)
    status = await plugin.watch(ctx, handle)
    assert status.phase == TaskPhase.SUCCEEDED, status.error
    assert status.outputs is not None
    assert status.outputs.literals["o0"] == Literal("string", "x: yes, yes")  # both templates' env
    pod: Any = await core.read_namespaced_pod(handle["pod"], handle["namespace"])
    container = pod.spec.containers[0]
    assert [c.name for c in pod.spec.containers] == ["task"]
    assert container.resources.requests == {"cpu": "250m", "memory": "64Mi", "nvidia.com/gpu": "1"}
    assert container.resources.limits == {"memory": "128Mi", "nvidia.com/gpu": "1"}
    env = {item.name: item.value for item in container.env}
    assert env["FROM_CONFIG"] == env["FROM_TASK"] == "yes" and env["WINGSPAN_NODE_ID"] == "n0"
    assert pod.metadata.labels["cost-center"] == "42"
    assert pod.spec.node_selector == {"pool": "spot"}
    assert (pod.spec.tolerations[0].key, pod.spec.tolerations[0].value) == ("spot", "true")
    assert pod.spec.termination_grace_period_seconds == 7
    assert pod.spec.active_deadline_seconds == 300


async def test_pods_reach_minio_with_credentials_from_a_secret(
        make_plugin: PluginFactory, s3_store: S3BlobStore, s3_settings: Settings,
        core: CoreV1Api) -> None:
    plugin = make_plugin(env_from_secrets=["blob-store"])
    namespace = namespace_of(plugin)
    await core.create_namespace({"metadata": {"name": namespace}})  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
    credentials = {"WINGSPAN_STORAGE": s3_settings.storage, "WINGSPAN_S3_ENDPOINT": s3_settings.s3_endpoint,
                   "WINGSPAN_S3_ACCESS_KEY": s3_settings.s3_access_key,
                   "WINGSPAN_S3_SECRET_KEY": s3_settings.s3_secret_key,
                   "WINGSPAN_S3_REGION": s3_settings.s3_region}
    await core.create_namespaced_secret(namespace, {"metadata": {"name": "blob-store"},  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
                                                    "stringData": credentials})
    written = await run_attempt(plugin, s3_store, tasks.write_file, {"text": "via minio"})
    assert written.phase == TaskPhase.SUCCEEDED, written.error
    file = written.outputs["o0"]
    assert file.uri.startswith(s3_store.root)
    read = await run_attempt(plugin, s3_store, tasks.read_file, {"f": file})
    assert read.phase == TaskPhase.SUCCEEDED, read.error
    assert read.outputs == {"o0": "via minio"}
    container = await run_attempt(plugin, s3_store, tasks.square_sum, {"a": 4, "b": 2, "label": "s3"})
    assert container.outputs == {"total": 18, "note": "from s3"}
