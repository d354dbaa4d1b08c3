"""Failures the node agent simulates on request, and its recovery from a dropped watch."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_asyncio.client import CoreV1Api

from tests.k8s_agent import ANNOTATION, EVICT_AFTER_ANNOTATION, Fault, NodeAgent, wait_for_pod
from tests.k8s_agent.manifests import pod_manifest
from tests.k8s_agent.waits import phase_in

pytestmark = pytest.mark.real


def waiting_reason(pod: Any) -> str | None:
    statuses = pod.status.container_statuses
    if not statuses or statuses[0].state.waiting is None:
        return None
    reason: str = statuses[0].state.waiting.reason
    return reason


async def test_image_pull_error_keeps_the_pod_pending(
        core: CoreV1Api, kube_namespace: str, node_agent: NodeAgent) -> None:
    await core.create_namespaced_pod(kube_namespace, pod_manifest(  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
        "no-image", node_agent.node_names[0], "echo never",
        annotations={ANNOTATION: Fault.IMAGE_PULL_ERROR.value}))

    pod = await wait_for_pod(core, kube_namespace, "no-image",
                             lambda p: waiting_reason(p) == "ImagePullBackOff")

    assert pod.status.phase == "Pending"
    assert "busybox:1.36" in pod.status.container_statuses[0].state.waiting.message


async def test_eviction_fails_the_running_pod(
        core: CoreV1Api, kube_namespace: str, node_agent: NodeAgent) -> None:
    await core.create_namespaced_pod(kube_namespace, pod_manifest(  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
        "evicted", node_agent.node_names[0], "exec sleep 300",
        annotations={ANNOTATION: Fault.EVICT.value, EVICT_AFTER_ANNOTATION: "0.5"}))

    pod = await wait_for_pod(core, kube_namespace, "evicted", phase_in("Succeeded", "Failed"))

    assert (pod.status.phase, pod.status.reason) == ("Failed", "Evicted")
    assert pod.status.container_statuses[0].state.terminated.exit_code == 137
    disruption = [c for c in pod.status.conditions if c.type == "DisruptionTarget"]
    assert disruption and disruption[0].reason == "TerminationByKubelet"


async def test_evict_on_request_and_stuck_pending(
        core: CoreV1Api, kube_namespace: str, node_agent: NodeAgent) -> None:
    node = node_agent.node_names[0]
    node_agent.simulate(kube_namespace, "stuck", Fault.STUCK_PENDING)
    await core.create_namespaced_pod(kube_namespace, pod_manifest("stuck", node, "echo never"))  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
    await core.create_namespaced_pod(kube_namespace, pod_manifest("victim", node, "sleep 300"))  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
    await wait_for_pod(core, kube_namespace, "victim", phase_in("Running"))

    node_agent.evict(kube_namespace, "victim")
    victim = await wait_for_pod(core, kube_namespace, "victim", phase_in("Failed"))

    assert victim.status.reason == "Evicted"
    # The agent saw "stuck" before "victim" and left it alone: no status at all.
    stuck = await core.read_namespaced_pod("stuck", kube_namespace)
    assert stuck.status.phase == "Pending" and not stuck.status.container_statuses


async def test_a_dropped_watch_resumes(
        core: CoreV1Api, kube_namespace: str, node_agent: NodeAgent) -> None:
    relists, watches = node_agent.relists, node_agent.watch_requests
    await node_agent.drop_watches()
    await core.create_namespaced_pod(kube_namespace, pod_manifest(  # type: ignore[arg-type]  # stubs want a model; the client takes dicts
        "after-drop", node_agent.node_names[0], "echo still watched"))

    pod = await wait_for_pod(core, kube_namespace, "after-drop", phase_in("Succeeded"))

    assert pod.status.container_statuses[0].state.terminated.exit_code == 0
    # resumed from the last resourceVersion on a new watch, without listing again
    assert (node_agent.relists, node_agent.watch_requests) == (relists, watches + 1)
