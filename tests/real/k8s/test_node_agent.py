"""The test node agent against the real kube-apiserver: pods run, report, log and stop."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from kubernetes_asyncio.client import CoreV1Api

from tests.k8s_agent import NodeAgent, wait_for_pod
from tests.k8s_agent.cluster import KubeApiserver
from tests.k8s_agent.manifests import pod_manifest

if TYPE_CHECKING:
    from aiohttp import ClientResponse
from tests.k8s_agent.waits import phase_in, wait_for_pod_gone

pytestmark = pytest.mark.real


def terminated(pod: Any) -> Any:
    return pod.status.container_statuses[0].state.terminated


async def test_pod_succeeds_with_exit_code_and_logs(
        core: CoreV1Api, kube_namespace: str, node_agent: NodeAgent) -> None:
    node = node_agent.node_names[0]
    await core.create_namespaced_pod(kube_namespace, pod_manifest(  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
        "hello", node, 'echo "hello from $HOSTNAME"; echo "to stderr" >&2',
        env=[{"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]))

    pod = await wait_for_pod(core, kube_namespace, "hello", phase_in("Succeeded", "Failed"))

    assert pod.status.phase == "Succeeded"
    assert (terminated(pod).exit_code, terminated(pod).reason) == (0, "Completed")
    assert [c.type for c in pod.status.conditions if c.status == "True"] == [
        "PodReadyToStartContainers", "Initialized", "PodScheduled"]
    # through the apiserver, which proxies to the agent's kubelet port with its client cert
    logs = await core.read_namespaced_pod_log("hello", kube_namespace, container="main")
    assert logs == "hello from hello\nto stderr\n"
    stamped = await core.read_namespaced_pod_log("hello", kube_namespace, timestamps=True,
                                                 tail_lines=1)
    assert stamped.endswith("Z to stderr\n")


async def test_failing_command_reports_its_exit_code(
        core: CoreV1Api, kube_namespace: str, node_agent: NodeAgent) -> None:
    await core.create_namespaced_pod(kube_namespace, pod_manifest(  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
        "fails", node_agent.node_names[0], "echo about to fail; exit 3"))

    pod = await wait_for_pod(core, kube_namespace, "fails", phase_in("Succeeded", "Failed"))

    assert pod.status.phase == "Failed"
    assert (terminated(pod).exit_code, terminated(pod).reason) == (3, "Error")
    assert await core.read_namespaced_pod_log("fails", kube_namespace) == "about to fail\n"


async def test_deleting_a_running_pod_kills_its_process(
        core: CoreV1Api, kube_namespace: str, node_agent: NodeAgent) -> None:
    await core.create_namespaced_pod(kube_namespace, pod_manifest(  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
        "sleeper", node_agent.node_names[0], "echo started; exec sleep 300"))
    running = await wait_for_pod(core, kube_namespace, "sleeper", phase_in("Running"))
    assert running.status.container_statuses[0].state.running is not None
    worker = node_agent.worker(kube_namespace, "sleeper")
    assert worker is not None
    pid = worker.processes["main"].pid
    assert pid is not None
    os.kill(pid, 0)  # alive

    await core.delete_namespaced_pod("sleeper", kube_namespace)
    await wait_for_pod_gone(core, kube_namespace, "sleeper")

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_secrets_reach_the_process_as_env_and_files(
        core: CoreV1Api, kube_namespace: str, node_agent: NodeAgent) -> None:
    token = uuid.uuid4().hex
    await core.create_namespaced_secret(kube_namespace, {  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
        "metadata": {"name": "creds"},
        "data": {"token": base64.b64encode(token.encode()).decode(),
                 "user": base64.b64encode(b"wing").decode()}})
    mount = f"/tmp/wingspan-test-secret-{uuid.uuid4().hex[:8]}"
    manifest = pod_manifest(
        "secretive", node_agent.node_names[0],
        f'echo "env=$TOKEN"; echo "file=$(cat {mount}/token)"; echo "user=$(cat {mount}/user)"',
        env=[{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}],
        volumeMounts=[{"name": "creds", "mountPath": mount, "readOnly": True}])
    manifest["spec"]["volumes"] = [{"name": "creds", "secret": {"secretName": "creds"}}]
    await core.create_namespaced_pod(kube_namespace, manifest)  # type: ignore[arg-type]  # stubs want a model; the client takes dicts

    pod = await wait_for_pod(core, kube_namespace, "secretive", phase_in("Succeeded", "Failed"))

    logs = await core.read_namespaced_pod_log("secretive", kube_namespace)
    assert pod.status.phase == "Succeeded", logs
    assert logs == f"env={token}\nfile={token}\nuser=wing\n"


async def test_following_logs_streams_until_the_container_ends(
        core: CoreV1Api, kube_namespace: str, node_agent: NodeAgent) -> None:
    await core.create_namespaced_pod(kube_namespace, pod_manifest(  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
        "ticker", node_agent.node_names[0],
        "for i in 1 2 3; do echo tick $i; sleep 0.3; done"))
    await wait_for_pod(core, kube_namespace, "ticker", phase_in("Running", "Succeeded"))

    async with asyncio.timeout(30):
        # unread (_preload_content=False), the client returns aiohttp's response, not the text
        response = cast("ClientResponse", await core.read_namespaced_pod_log(
            "ticker", kube_namespace, follow=True, _preload_content=False))
        try:
            lines = [line.decode() async for line in response.content]
        finally:
            response.release()

    assert lines == ["tick 1\n", "tick 2\n", "tick 3\n"]


async def test_on_failure_restarts_and_keeps_the_previous_log(
        core: CoreV1Api, kube_namespace: str, node_agent: NodeAgent) -> None:
    # The pod's working folder outlives a container run, as an emptyDir would.
    script = "if [ -e marker ]; then echo second; else touch marker; echo first; exit 1; fi"
    await core.create_namespaced_pod(kube_namespace, pod_manifest(  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
        "flaky", node_agent.node_names[0], script, restart="OnFailure"))

    pod = await wait_for_pod(core, kube_namespace, "flaky", phase_in("Succeeded", "Failed"))

    status = pod.status.container_statuses[0]
    assert (pod.status.phase, status.restart_count) == ("Succeeded", 1)
    assert status.last_state.terminated.exit_code == 1
    assert await core.read_namespaced_pod_log("flaky", kube_namespace) == "second\n"
    previous = await core.read_namespaced_pod_log("flaky", kube_namespace, previous=True)
    assert previous == "first\n"


async def test_one_agent_plays_several_nodes(
        core: CoreV1Api, kube_namespace: str, kube_apiserver: KubeApiserver,
        tmp_path: Path) -> None:
    names = [f"multi-{uuid.uuid4().hex[:6]}-{i}" for i in (1, 2)]
    node_env = [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
    async with NodeAgent(kube_apiserver.kubeconfig, kube_apiserver.pki_dir, names,
                         work_dir=tmp_path) as agent:
        nodes = await core.list_node(label_selector="wingspan.test/agent=true")
        assert set(names) <= {node.metadata.name for node in nodes.items}
        for index, node in enumerate(names):
            await core.create_namespaced_pod(kube_namespace, pod_manifest(  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
                f"on-{index}", node, 'echo "on $NODE"', env=node_env))

        for index, node in enumerate(names):
            pod = await wait_for_pod(core, kube_namespace, f"on-{index}", phase_in("Succeeded"))
            assert pod.spec.node_name == node
            logs = await core.read_namespaced_pod_log(f"on-{index}", kube_namespace)
            assert logs == f"on {node}\n"
    assert not agent.errors
