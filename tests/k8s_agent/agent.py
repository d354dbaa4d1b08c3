"""NodeAgent: plays the kubelet for one or more Nodes of the test kube-apiserver.

It registers its Nodes, watches the pods bound to each (one watch per node, on
``spec.nodeName`` as a kubelet does; a dropped watch resumes from the last
resourceVersion and re-lists when that is too old), runs each pod with a PodWorker,
and serves container logs to the apiserver over HTTPS.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

import aiohttp
from kubernetes_asyncio import config
from kubernetes_asyncio.client import ApiClient, Configuration, CoreV1Api, VersionApi
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.watch import Watch

from tests.k8s_agent import node as nodes
from tests.k8s_agent.faults import Fault, fault_of
from tests.k8s_agent.kubelet_server import KubeletServer
from tests.k8s_agent.logs import ContainerLog
from tests.k8s_agent.pod import PodWorker

log = logging.getLogger("wingspan.test.k8s_agent")

_TERMINAL = ("Succeeded", "Failed")


class NodeAgent:
    def __init__(self, kubeconfig: Path, pki_dir: Path,
                 node_names: Sequence[str] = ("wingspan-node-1",), *,
                 work_dir: Path | None = None, watch_timeout_seconds: int = 60,
                 remove_nodes_on_stop: bool = True) -> None:
        self.kubeconfig = kubeconfig
        self.pki_dir = pki_dir
        self.node_names = list(node_names)
        self.watch_timeout_seconds = watch_timeout_seconds
        self.remove_nodes_on_stop = remove_nodes_on_stop
        self._own_work_dir = work_dir is None
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="wingspan-k8s-agent-"))
        # Failures inside the agent; a test fixture asserts this stays empty.
        self.errors: list[BaseException] = []
        self._client: ApiClient | None = None
        self._server = KubeletServer(self._lookup_log, pki_dir)
        self._workers: dict[str, PodWorker] = {}
        self._requested: dict[tuple[str, str], Fault] = {}
        self._watch_tasks: list[asyncio.Task[None]] = []
        self._watches: dict[str, Watch] = {}  # node -> its open watch request
        self._watching: dict[str, asyncio.Event] = {}
        self._synced: dict[str, asyncio.Event] = {}
        self._versions: dict[str, str] = {}  # node -> resourceVersion to resume watching from
        # counters a test can use to tell a resumed watch from a re-list
        self.relists = 0
        self.watch_requests = 0

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def core(self) -> CoreV1Api:
        assert self._client is not None, "start() first"
        return CoreV1Api(self._client)

    async def start(self) -> None:
        """Registers the Nodes and returns once every node's pods have been listed."""
        configuration = Configuration()
        await config.load_kube_config(config_file=str(self.kubeconfig),
                                      client_configuration=configuration)
        self._client = ApiClient(configuration)
        port = await self._server.start()
        version = (await VersionApi(self._client).get_code()).git_version
        assert configuration.host is not None, f"{self.kubeconfig} names no server"
        host = urlsplit(configuration.host)
        self._pod_env = {"KUBERNETES_SERVICE_HOST": host.hostname or "127.0.0.1",
                         "KUBERNETES_SERVICE_PORT": str(host.port or 443)}
        for name in self.node_names:
            await nodes.register(self.core, name, port, version)
            self._synced[name] = asyncio.Event()
            self._watching[name] = asyncio.Event()
            task = asyncio.create_task(self._watch_node(name))
            task.add_done_callback(self._task_done)
            self._watch_tasks.append(task)
        await asyncio.gather(*(event.wait() for event in self._synced.values()))

    async def stop(self) -> None:
        for task in self._watch_tasks:
            task.cancel()
        if self._watch_tasks:
            await asyncio.wait(self._watch_tasks)
        self._watch_tasks.clear()
        for worker in list(self._workers.values()):
            await worker.forget()
        self._workers.clear()
        await self._server.stop()
        if self._client is not None:
            if self.remove_nodes_on_stop:
                for name in self.node_names:
                    await nodes.unregister(self.core, name)
            await self._client.close()
            self._client = None
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    async def __aenter__(self) -> NodeAgent:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    # -- requests from tests -------------------------------------------------------------------

    def simulate(self, namespace: str, name: str, fault: Fault) -> None:
        """Applies a fault to the pod of that name when it shows up (annotation-free)."""
        self._requested[(namespace, name)] = fault

    def worker(self, namespace: str, name: str) -> PodWorker | None:
        found = [w for w in self._workers.values() if (w.namespace, w.name) == (namespace, name)]
        return found[-1] if found else None

    def evict(self, namespace: str, name: str,
              message: str = "The node was low on resource: memory.") -> None:
        worker = self.worker(namespace, name)
        if worker is None:
            raise LookupError(f"no pod {namespace}/{name} runs on this agent's nodes")
        worker.evict(message)

    async def drop_watches(self) -> None:
        """Cuts every node's watch connection, as a restarting apiserver or proxy would.

        Waits first until each node has a watch open, so there is always one to cut.
        """
        await asyncio.gather(*(event.wait() for event in self._watching.values()))
        for watch in list(self._watches.values()):
            if watch.resp is not None:
                watch.resp.close()

    # -- watching ------------------------------------------------------------------------------

    async def _watch_node(self, node_name: str) -> None:
        """List once, then watch from the last resourceVersion seen, as a reflector does."""
        selector = f"spec.nodeName={node_name}"
        backoff = 0.2
        while True:
            try:
                if node_name not in self._versions:
                    self._versions[node_name] = await self._relist(node_name, selector)
                    self._synced[node_name].set()
                await self._watch_once(node_name, selector)
                backoff = 0.2
                continue
            except ApiException as exc:
                if exc.status == 410:  # that version was compacted away: list again
                    self._versions.pop(node_name, None)
                    continue
                log.warning("watch of %s failed: %s", node_name, exc)
            except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
                log.warning("watch of %s dropped: %r", node_name, exc)
            await asyncio.sleep(backoff)  # the apiserver is away: back off, then resume
            backoff = min(backoff * 2, 5.0)

    async def _relist(self, node_name: str, selector: str) -> str:
        self.relists += 1
        # unread (_preload_content=False), the client returns aiohttp's response, not the model
        response = cast(aiohttp.ClientResponse, await self.core.list_pod_for_all_namespaces(
            field_selector=selector, _preload_content=False))
        listing = json.loads(await response.read())
        seen = set()
        for pod in listing["items"]:
            seen.add(pod["metadata"]["uid"])
            await self._on_event("ADDED", pod)
        for uid, worker in list(self._workers.items()):
            if worker.pod["spec"].get("nodeName") == node_name and uid not in seen:
                await self._on_event("DELETED", worker.pod)  # deleted while we were away
        version: str = listing["metadata"]["resourceVersion"]
        return version

    async def _watch_once(self, node_name: str, selector: str) -> None:
        """One watch request, from and then updating the node's resume version."""
        self.watch_requests += 1
        watch = Watch(return_type="object")  # raw dicts: status patches are built from them
        try:
            events = watch.stream(
                self.core.list_pod_for_all_namespaces, field_selector=selector,
                resource_version=self._versions[node_name], allow_watch_bookmarks=True,
                timeout_seconds=self.watch_timeout_seconds)
            # Sent here rather than on the first iteration, so that drop_watches() finds an
            # open connection as soon as _watching says there is one.
            watch.resp = await watch.func()
            self._watches[node_name] = watch
            self._watching[node_name].set()
            async for event in events:
                if event["type"] != "BOOKMARK":
                    await self._on_event(event["type"], event["raw_object"])
        finally:
            # kept even when the connection broke mid-stream: the next watch resumes here
            if watch.resource_version:
                self._versions[node_name] = watch.resource_version
            self._watching[node_name].clear()
            self._watches.pop(node_name, None)
            await watch.close()

    async def _on_event(self, kind: str, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        worker = self._workers.get(meta["uid"])
        if kind == "DELETED":
            if worker is not None:
                del self._workers[meta["uid"]]
                await worker.forget()
            return
        if worker is not None:
            worker.observe(pod)
            return
        if (pod.get("status") or {}).get("phase") in _TERMINAL:
            return  # finished before this agent started; nothing left to run
        try:
            fault = self._requested.pop((meta["namespace"], meta["name"]), None) or fault_of(pod)
        except ValueError as exc:
            self.errors.append(exc)
            log.error("pod %s/%s: %s", meta["namespace"], meta["name"], exc)
            return
        folder = self.work_dir / f"{meta['namespace']}_{meta['name']}_{meta['uid']}"
        worker = PodWorker(self.core, pod, folder, self._pod_env, fault)
        worker.observe(pod)
        self._workers[meta["uid"]] = worker
        worker.task = asyncio.create_task(worker.run())
        worker.task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(task.exception())  # type: ignore[arg-type]

    # -- logs ----------------------------------------------------------------------------------

    def _lookup_log(self, namespace: str, pod: str, container: str,
                    previous: bool) -> ContainerLog | tuple[int, str]:
        worker = self.worker(namespace, pod)
        if worker is None:
            return 404, f'pod "{pod}" in namespace "{namespace}" is not on this node'
        names = [s.name for s in worker.init_states + worker.states]
        if container not in names:
            return 400, f'container "{container}" is not valid for pod "{pod}"'
        runs = worker.logs.get(container, [])
        if previous:
            if len(runs) < 2:
                return 400, f'previous terminated container "{container}" in pod "{pod}" ' \
                            "not found"
            return runs[-2]
        if not runs:
            return 400, f'container "{container}" in pod "{pod}" is waiting to start'
        return runs[-1]
