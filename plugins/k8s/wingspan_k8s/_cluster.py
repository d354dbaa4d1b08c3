"""The plugin's side of the API server: one client on the plugin's own loop, namespaces made on
demand (with their quota), pods created, read, deleted and cleaned up, logs read.

Every error of the Kubernetes client is translated here, in one place, into Wingspan's
tree (``K8sError`` and friends), with the API server's message and the cause kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from wingspan.core.errors import ConfigError, InvalidArgumentError, SystemError_, WingspanError
from wingspan_k8s._config import K8sConfig
from wingspan_k8s._pods import MANAGED_BY
from wingspan_k8s._responses import raw
from wingspan_k8s._status import finished_at
from wingspan_k8s._watcher import PodWatcher

__all__ = ["Cluster", "ClusterThread", "K8sError", "translate"]

log = logging.getLogger("wingspan.k8s")

QUOTA_NAME = "wingspan"
T = TypeVar("T")


class K8sError(SystemError_):
    """The Kubernetes API server refused or failed a request (retryable unless it says not)."""

    def __init__(self, message: str, status: int | None = None, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


def _message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    if body:
        with contextlib.suppress(ValueError, TypeError):
            return str(json.loads(body).get("message") or body)
        return str(body)
    return f"{type(exc).__name__}: {exc}"


def translate(exc: BaseException, action: str) -> WingspanError:
    """The Wingspan error for a failed request ``action`` ("create pod ns/name")."""
    status = getattr(exc, "status", None)
    text = f"Kubernetes: {action}: {_message(exc)}"
    if status in (400, 422):
        return InvalidArgumentError(text)
    if status in (401, 403):
        if "exceeded quota" in text:  # room may free up: a later attempt can fit
            return K8sError(text, status)
        return ConfigError(f"{text} (check the plugin's credentials and their RBAC permissions)")
    return K8sError(text, status)


class Cluster:
    """The API client and the namespace watchers (all on the plugin's own loop)."""

    def __init__(self, config: K8sConfig, api: Any) -> None:
        from kubernetes_asyncio.client import CoreV1Api

        self.config = config
        self.api = api
        self.core: Any = CoreV1Api(api)
        self.watchers: dict[str, PodWatcher] = {}
        self._namespaces: set[str] = set()
        self._namespace_lock = asyncio.Lock()
        self._cleanups: dict[tuple[str, str], asyncio.Task[None]] = {}

    @classmethod
    async def connect(cls, config: K8sConfig) -> Cluster:
        from kubernetes_asyncio import config as kube_config
        from kubernetes_asyncio.client import ApiClient, Configuration

        configuration = Configuration()
        try:
            if config.kubeconfig:
                await kube_config.load_kube_config(config_file=config.kubeconfig,
                                                   context=config.context or None,
                                                   client_configuration=configuration)
            else:
                try:
                    kube_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
                except kube_config.ConfigException:
                    await kube_config.load_kube_config(context=config.context or None,
                                                       client_configuration=configuration)
        except (kube_config.ConfigException, OSError) as exc:
            raise ConfigError(f"the k8s plugin found no cluster to talk to: {exc} (set kubeconfig in "
                              "[plugins.k8s] or WINGSPAN_K8S_KUBECONFIG)") from exc
        return cls(config, ApiClient(configuration))

    async def close(self) -> None:
        for task in self._cleanups.values():
            task.cancel()
        for watcher in self.watchers.values():
            await watcher.close()
        self.watchers.clear()
        await self.api.close()

    # ---- namespaces -----------------------------------------------------------------------

    async def ensure_namespace(self, name: str) -> None:
        """Creates the namespace (and its quota, when configured) unless it is known to exist."""
        if name in self._namespaces:
            return
        async with self._namespace_lock:
            if name in self._namespaces:
                return
            body = {"metadata": {"name": name, "labels": {MANAGED_BY: "wingspan"}}}
            try:
                await self.core.create_namespace(body)
            except Exception as exc:
                if getattr(exc, "status", None) != 409:
                    raise translate(exc, f"create namespace {name}") from exc
            if self.config.resource_quota:
                await self._ensure_quota(name)
            self._namespaces.add(name)

    async def _ensure_quota(self, namespace: str) -> None:
        body = {"metadata": {"name": QUOTA_NAME, "labels": {MANAGED_BY: "wingspan"}},
                "spec": {"hard": dict(self.config.resource_quota)}}
        try:
            await self.core.create_namespaced_resource_quota(namespace, body)
        except Exception as exc:
            if getattr(exc, "status", None) != 409:
                raise translate(exc, f"create resource quota {namespace}/{QUOTA_NAME}") from exc
            try:  # there already: make it say what the configuration says now
                await self.core.patch_namespaced_resource_quota(QUOTA_NAME, namespace, body)
            except Exception as patch_exc:
                raise translate(patch_exc, f"update resource quota {namespace}/{QUOTA_NAME}") from patch_exc

    # ---- watchers -------------------------------------------------------------------------

    async def watcher(self, namespace: str) -> PodWatcher:
        """The namespace's watcher, started and synced (its first list done)."""
        watcher = self.watchers.get(namespace)
        if watcher is None:
            watcher = self.watchers[namespace] = PodWatcher(
                self.core, namespace, timeout_seconds=self.config.watch_timeout_seconds, on_list=self._sweep)
            watcher.start()
        if not watcher.synced.is_set():
            waiting = asyncio.ensure_future(watcher.synced.wait())
            try:
                async with asyncio.timeout(30):
                    while not watcher.synced.is_set():
                        await asyncio.wait([waiting], timeout=1)
                        failed = watcher.error is not None and watcher.failures >= 3
                        if failed and not watcher.synced.is_set():
                            assert watcher.error is not None
                            raise translate(watcher.error, f"list pods in {namespace}") from watcher.error
            except TimeoutError as exc:
                raise K8sError(f"Kubernetes: listing pods in {namespace} took over 30s") from exc
            finally:
                waiting.cancel()
        return watcher

    # ---- pods -----------------------------------------------------------------------------

    async def create_pod(self, pod: dict[str, Any]) -> dict[str, Any] | None:
        """Creates the pod; None when one of that name already exists (a repeated start)."""
        meta = pod["metadata"]
        try:
            body = await raw(self.core.create_namespaced_pod(meta["namespace"], pod, _preload_content=False))
        except Exception as exc:
            if getattr(exc, "status", None) == 409:
                return None
            raise translate(exc, f"create pod {meta['namespace']}/{meta['name']}") from exc
        created: dict[str, Any] = json.loads(body)
        return created

    async def read_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            body = await raw(self.core.read_namespaced_pod(name, namespace, _preload_content=False))
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise translate(exc, f"read pod {namespace}/{name}") from exc
        pod: dict[str, Any] = json.loads(body)
        return pod

    async def delete_pod(self, namespace: str, name: str, grace_seconds: int) -> None:
        try:
            await self.core.delete_namespaced_pod(name, namespace, grace_period_seconds=grace_seconds,
                                                  propagation_policy="Background")
        except Exception as exc:
            if getattr(exc, "status", None) != 404:
                raise translate(exc, f"delete pod {namespace}/{name}") from exc

    async def read_log(self, namespace: str, name: str, container: str) -> bytes:
        try:
            return await raw(self.core.read_namespaced_pod_log(name, namespace, container=container,
                                                               _preload_content=False))
        except Exception as exc:
            status = getattr(exc, "status", None)
            if status == 400 and "waiting to start" in _message(exc):
                return b""  # not started yet: nothing written so far
            if status == 404:
                from wingspan.core.errors import NotFoundError

                raise NotFoundError(f"pod {namespace}/{name} does not exist (any more)") from exc
            raise translate(exc, f"read the log of pod {namespace}/{name}") from exc

    # ---- cleanup of finished pods ---------------------------------------------------------

    def schedule_cleanup(self, namespace: str, name: str, ended: datetime | None) -> None:
        """Deletes a finished pod ``cleanup_after_seconds`` after it ended (never when negative)."""
        after = self.config.cleanup_after_seconds
        key = (namespace, name)
        if after < 0 or key in self._cleanups:
            return
        age = (datetime.now(UTC) - ended).total_seconds() if ended else 0.0
        cleanup = self._cleanup(namespace, name, max(0.0, after - age))
        self._cleanups[key] = asyncio.get_running_loop().create_task(cleanup)

    async def _cleanup(self, namespace: str, name: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            await self.delete_pod(namespace, name, 0)
        except WingspanError as exc:
            log.warning("could not clean up pod %s/%s: %s", namespace, name, exc)
        finally:
            self._cleanups.pop((namespace, name), None)

    def _sweep(self, watcher: PodWatcher) -> None:
        """After each list: finished pods (this process's or any other's) are due for cleanup."""
        for name, pod in list(watcher.pods.items()):
            ended = finished_at(pod)
            if ended is not None:
                self.schedule_cleanup(watcher.namespace, name, ended)


class ClusterThread:
    """The plugin's own event loop, on a thread of its own, where all Kubernetes traffic runs.

    The engine may call the plugin from several event loops over a process's life (a local
    run has a private loop per run); an aiohttp client and the watches belong to one loop.
    So one loop owns them, and callers on any loop hand it work and await the result
    (cancelling the caller cancels the work).
    """

    def __init__(self, config: K8sConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._cluster: Cluster | None = None
        self._connecting: asyncio.Lock | None = None

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=_serve, args=(loop,), name="wingspan-k8s", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def _connected(self) -> Cluster:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._cluster is None:
                self._cluster = await Cluster.connect(self.config)
        return self._cluster

    async def run(self, work: Callable[[Cluster], Awaitable[T]]) -> T:
        """``work(cluster)`` on the plugin's loop; its result (or exception) here."""

        async def call() -> T:
            return await work(await self._connected())

        future = asyncio.run_coroutine_threadsafe(call(), self._ensure_loop())
        return await asyncio.wrap_future(future)

    async def close(self) -> None:
        """Closes the client and the watches, and ends the thread."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(cluster.close(), loop))
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.get_running_loop().run_in_executor(None, thread.join)
        self._connecting = None


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    """The plugin thread: runs its loop until stopped, then lets closed connections finish
    closing (a transport closes its socket on a later loop turn) before closing the loop."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(asyncio.sleep(0.25))  # TLS connections close over a few turns
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
