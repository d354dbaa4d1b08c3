"""Fixtures for tests against the real kube-apiserver and the test node agent.

- ``kube_apiserver`` (session): etcd and kube-apiserver started through scripts.testenv,
  reused when already running; fails the tests, never skips, when they cannot start.
- ``kube_client``: a kubernetes_asyncio ApiClient for the admin user (closed after the test);
  ``core``: a CoreV1Api on it.
- ``kube_namespace``: a fresh namespace, emptied and removed afterwards.
- ``node_agent``: a NodeAgent playing the kubelet for a Node of its own (unique name per test,
  so a pod a test leaves behind never runs again in the next one).
- for the custom-object targets: ``store`` (a local blob store), ``k8s_config`` (K8sConfig for
  the test's node in namespaces of its own), ``plugins`` (closed afterwards), ``custom``.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import config
from kubernetes_asyncio.client import ApiClient, Configuration, CoreV1Api, CustomObjectsApi
from kubernetes_asyncio.client.exceptions import ApiException
from wingspan_k8s import K8sConfig
from wingspan_k8s.custom_objects import CustomObjectPlugin

from scripts.testenv import kube
from scripts.testenv.base import ServiceError
from tests.k8s_agent import NodeAgent
from tests.k8s_agent.cluster import KubeApiserver
from wingspan.core.storage.local import LocalBlobStore

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def kube_apiserver() -> KubeApiserver:
    try:
        env = kube.ensure()
    except ServiceError as exc:
        pytest.fail(f"the test kube-apiserver could not start: {exc}", pytrace=False)
    return KubeApiserver.from_env(env)


@pytest.fixture
async def kube_client(kube_apiserver: KubeApiserver) -> AsyncIterator[ApiClient]:
    configuration = Configuration()
    await config.load_kube_config(config_file=str(kube_apiserver.kubeconfig),
                                  client_configuration=configuration)
    async with ApiClient(configuration) as client:
        yield client


@pytest.fixture
def core(kube_client: ApiClient) -> CoreV1Api:
    return CoreV1Api(kube_client)


@pytest.fixture
async def kube_namespace(core: CoreV1Api) -> AsyncIterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    await core.create_namespace({"metadata": {"name": name}})  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
    yield name
    # Force-delete what is left: with no kubelet for a pod's node nothing else would.
    await core.delete_collection_namespaced_pod(name, grace_period_seconds=0)
    await core.delete_namespace(name)
    # No namespace controller runs to empty and finalize it; its pods are gone, so the
    # namespace may go too.
    try:
        await core.replace_namespace_finalize(
            name, {"metadata": {"name": name}, "spec": {"finalizers": []}})  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
    except ApiException as exc:
        if exc.status != 404:
            raise


@pytest.fixture
async def node_agent(kube_apiserver: KubeApiserver, tmp_path: Path) -> AsyncIterator[NodeAgent]:
    agent = NodeAgent(kube_apiserver.kubeconfig, kube_apiserver.pki_dir,
                      [f"node-{uuid.uuid4().hex[:8]}"], work_dir=tmp_path / "agent")
    async with asyncio.timeout(60):
        await agent.start()
    yield agent
    async with asyncio.timeout(60):  # a teardown that hangs would stall the whole run
        await agent.stop()
    assert not agent.errors, f"the node agent failed: {agent.errors!r}"


# ---- custom objects (SparkApplication, DaskJob, RayJob, MPIJob tests) -----------------------------


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
async def k8s_config(kube_apiserver: KubeApiserver, node_agent: NodeAgent, core: CoreV1Api,
                     tmp_path: Path) -> AsyncIterator[Callable[..., K8sConfig]]:
    """K8sConfig for this test's node, in namespaces of its own (removed afterwards)."""
    prefix = f"c{uuid.uuid4().hex[:8]}"

    def make(**overrides: Any) -> K8sConfig:
        values: dict[str, Any] = {
            "kubeconfig": str(kube_apiserver.kubeconfig), "node_name": node_agent.node_names[0],
            "namespace_template": prefix + "-{project}-{domain}",
            "execute_command": [sys.executable, "-m", "wingspan.cli", "execute"],
            "env": {"PYTHONPATH": str(HERE), "WINGSPAN_HOME": str(tmp_path / "pod-home")},
            "abort_grace_seconds": 1, "cleanup_after_seconds": -1, **overrides,
        }
        return K8sConfig(**values)

    yield make
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


@pytest.fixture
async def plugins() -> AsyncIterator[list[CustomObjectPlugin]]:
    made: list[CustomObjectPlugin] = []
    yield made
    for plugin in made:
        await plugin.aclose()


@pytest.fixture
def custom(kube_client: ApiClient) -> CustomObjectsApi:
    return CustomObjectsApi(kube_client)
