"""The Node objects the agent stands for, registered as a kubelet registers itself."""

from __future__ import annotations

import os
import platform
from typing import Any

from kubernetes_asyncio.client import CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException

from tests.k8s_agent.status import HOST_IP, timestamp

AGENT_VERSION = "wingspan-test-agent/0.1"


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _resources() -> dict[str, str]:
    return {"cpu": str(os.cpu_count() or 1), "memory": f"{_memory_bytes() // 1024}Ki",
            "pods": "110", "ephemeral-storage": "100Gi"}


def _node_status(kubelet_port: int, kubelet_version: str) -> dict[str, Any]:
    now = timestamp()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    conditions = [
        {"type": kind, "status": "False", "reason": reason, "lastHeartbeatTime": now,
         "lastTransitionTime": now, "message": f"the test agent reports no {kind}"}
        for kind, reason in (("MemoryPressure", "KubeletHasSufficientMemory"),
                             ("DiskPressure", "KubeletHasNoDiskPressure"),
                             ("PIDPressure", "KubeletHasSufficientPID"))
    ]
    conditions.append({"type": "Ready", "status": "True", "reason": "KubeletReady",
                       "message": "the wingspan test agent is running pods",
                       "lastHeartbeatTime": now, "lastTransitionTime": now})
    return {
        "capacity": _resources(), "allocatable": _resources(), "conditions": conditions,
        # The apiserver proxies pod logs to this address and port (kubelet-preferred
        # address type InternalIP, see scripts/testenv/kube.py).
        "addresses": [{"type": "InternalIP", "address": HOST_IP}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "nodeInfo": {
            "machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": platform.release(),
            "osImage": platform.platform(), "containerRuntimeVersion": AGENT_VERSION,
            "kubeletVersion": kubelet_version, "kubeProxyVersion": "",
            "operatingSystem": "linux", "architecture": arch,
        },
    }


async def register(core: CoreV1Api, name: str, kubelet_port: int,
                   kubelet_version: str) -> None:
    """Creates the Node (or adopts one left by an earlier agent) and reports it Ready."""
    node = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
            "wingspan.test/agent": "true"}},
    }
    try:
        await core.create_node(node)  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
    except ApiException as exc:
        if exc.status != 409:
            raise
    # Status sent with a create is dropped; it goes through the status subresource.
    await core.patch_node_status(name, {"status": _node_status(kubelet_port, kubelet_version)},  # type: ignore[call-arg]  # the client takes _content_type; its stubs leave it out
                                 _content_type="application/merge-patch+json")


async def unregister(core: CoreV1Api, name: str) -> None:
    try:
        await core.delete_node(name)
    except ApiException as exc:
        if exc.status != 404:
            raise
