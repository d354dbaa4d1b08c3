"""Waiting for a pod's state through a watch, with a deadline (tests never sleep-poll)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kubernetes_asyncio.client import CoreV1Api, V1Pod
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.watch import Watch


def phase_in(*phases: str) -> Callable[[V1Pod], bool]:
    return lambda pod: pod.status is not None and pod.status.phase in phases


async def _watch_pod(core: CoreV1Api, namespace: str, name: str,
                     until: Callable[[V1Pod | None], bool], seen: list[Any]) -> V1Pod | None:
    selector = f"metadata.name={name}"
    listing = await core.list_namespaced_pod(namespace, field_selector=selector)
    current = listing.items[0] if listing.items else None
    seen.append(current)
    if until(current):
        return current
    version = listing.metadata.resource_version
    while True:
        async with Watch() as watch:
            try:
                async for event in watch.stream(core.list_namespaced_pod, namespace,
                                                field_selector=selector,
                                                resource_version=version, timeout_seconds=30):
                    current = None if event["type"] == "DELETED" else event["object"]
                    seen.append(current)
                    if until(current):
                        return current
            except ApiException as exc:
                if exc.status != 410:
                    raise
                return await _watch_pod(core, namespace, name, until, seen)
            version = watch.resource_version or version


async def wait_for_pod(core: CoreV1Api, namespace: str, name: str,
                       until: Callable[[V1Pod], bool], *, within: float = 30) -> V1Pod:
    """Returns the pod once until(pod) holds; fails with the last state seen."""
    seen: list[Any] = []
    try:
        async with asyncio.timeout(within):
            pod = await _watch_pod(core, namespace, name,
                                   lambda pod: pod is not None and until(pod), seen)
    except TimeoutError:
        last = seen[-1].status if seen and seen[-1] is not None else "no such pod"
        raise AssertionError(f"pod {namespace}/{name} not as expected after {within}s; "
                             f"last status: {last}") from None
    assert pod is not None
    return pod


async def wait_for_pod_gone(core: CoreV1Api, namespace: str, name: str, *,
                            within: float = 30) -> None:
    seen: list[Any] = []
    try:
        async with asyncio.timeout(within):
            await _watch_pod(core, namespace, name, lambda pod: pod is None, seen)
    except TimeoutError:
        raise AssertionError(f"pod {namespace}/{name} still there after {within}s") from None
